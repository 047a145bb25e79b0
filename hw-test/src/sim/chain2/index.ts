export * from './simulator.js';
export * from './gateway.js';
