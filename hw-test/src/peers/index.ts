export * from './pymodbus.js';
export * from './mosquitto.js';
export * from './pki.js';
export * from './postgres.js';
