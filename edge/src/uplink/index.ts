export * from './uplink.js';
