export * from './pymodbus.js';
