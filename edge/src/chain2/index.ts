export * from './transport.js';
export * from './source.js';
export * from './more-transports.js';
