export * from './transport.js';
export * from './line.js';
export * from './meter.js';
export * from './sunspec.js';
export * from './scan.js';
export * from './scan-tcp.js';
