// Fakes and contract suites of @lightnode/edge (subpath ./testing).
export * from './fake-modbus.js';
export * from './meter-contract.js';
export * from './fake-link.js';
export * from './fake-notify.js';
