// Public API of @lightnode/edge.
export * from './keys/index.js';
