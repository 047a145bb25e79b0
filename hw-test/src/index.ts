// Public API of @lightnode/hw-test.
export {};
