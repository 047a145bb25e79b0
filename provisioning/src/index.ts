// Public API of @lightnode/provisioning.
export {};
