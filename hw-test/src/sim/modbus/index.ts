export * from './simulator.js';
export * from './servers.js';
