// Public API of @lightnode/edge.
export * from './keys/index.js';
export * from './modbus/index.js';
export * from './store/index.js';
export * from './link/index.js';
export * from './agent/index.js';
export * from './chain2/index.js';
export * from './sources/index.js';
export * from './ess/index.js';
export * from './setpoints/audit.js';
