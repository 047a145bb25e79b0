// Public API of @lightnode/edge.
export * from './keys/index.js';
export * from './modbus/index.js';
