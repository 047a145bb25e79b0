export * from './stages.js';
export * from './report/index.js';
