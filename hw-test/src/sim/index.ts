export * from './load-model.js';
export * from './modbus/index.js';
export * from './serial/pty-pair.js';
export * from './chain2/index.js';
export * from './ess/index.js';
export * from './serial/line-model.js';
