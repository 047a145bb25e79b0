export * from './simulator.js';
export * from './gateway.js';
export * from './servers.js';
export * from './faults.js';
