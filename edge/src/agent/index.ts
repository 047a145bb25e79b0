export * from './agent.js';
export * from './config-file.js';
