// Fakes and contract suites of @lightnode/edge (subpath ./testing).
export * from './fake-modbus.js';
export * from './meter-contract.js';
export * from './fake-link.js';
export * from './fake-notify.js';
export * from './fake-queue.js';
export * from './queue-contract.js';
export * from './fake-source.js';
export * from './sqlite-full.js';
export * from './store-options.js';
export * from './fake-ess.js';
export * from './setpoint-rig.js';
export * from './ess-images.js';
