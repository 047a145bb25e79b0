export * from './types.js';
export * from './factory.js';
export * from './sunspec.js';
export * from './modbus-map.js';
export * from './rest.js';
export * from './mqtt.js';
export * from './retry-start.js';
