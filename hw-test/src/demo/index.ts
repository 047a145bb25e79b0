export * from './stages.js';
