export * from './schema.js';
export * from './assets.js';
