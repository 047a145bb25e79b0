// The store: batcher (pure), quota planner (pure), durable queue with the unsealed samples (SQLite).
export * from './types.js';
export * from './batcher.js';
export * from './quota.js';
export * from './backend.js';
export * from './store-core.js';
export * from './seq-file.js';
export * from './write-failure.js';
export * from './sqlite-store.js';
export * from './migrate.js';
export * from './verify.js';
