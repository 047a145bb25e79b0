export * from './outbox.js';
export * from './seq-file.js';
