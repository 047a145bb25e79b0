export * from './reading.js';
export * from './poller.js';
export * from './modbus-source.js';
export * from './chain2-source.js';
export * from './alfa-source.js';
export * from './ess-source.js';
