export * from './outbox.js';

