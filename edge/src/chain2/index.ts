export * from './transport.js';
export * from './source.js';
