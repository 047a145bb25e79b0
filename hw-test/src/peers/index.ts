export * from './pymodbus.js';
export * from './mosquitto.js';
