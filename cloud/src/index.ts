// Public API of @lightnode/cloud.
export {};
