// The agent's scheduled jobs: the runner, its scheduler seam, the four jobs and their wiring.
export * from './runner.js';
export * from './scheduler.js';
export * from './housekeeping.js';
export * from './outbox-maintenance.js';
export * from './expiry-check.js';
export * from './download.js';
export * from './update-check.js';
export * from './wire.js';
