export * from './link.js';
export * from './mqtt-link.js';
export * from './mqtt-once.js';
