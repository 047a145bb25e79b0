export * from './types.js';
export * from './factory.js';
