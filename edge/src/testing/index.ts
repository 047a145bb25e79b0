// Fakes and contract suites of @lightnode/edge (subpath ./testing).
export * from './fake-modbus.js';
export * from './meter-contract.js';
