// Public API of @lightnode/provisioning.
export * from './update/index.js';
