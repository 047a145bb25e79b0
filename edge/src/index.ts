// Public API of @lightnode/edge.
export {};
