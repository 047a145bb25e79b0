// Public API of @lightnode/edge.
export * from './keys/index.js';
export * from './modbus/index.js';
export * from './outbox/index.js';
export * from './uplink/index.js';
export * from './link/index.js';
export * from './agent/index.js';
export * from './chain2/index.js';
