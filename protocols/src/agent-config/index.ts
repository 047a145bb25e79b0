export * from './schema.js';
export * from './assets.js';
export * from './cron.js';
