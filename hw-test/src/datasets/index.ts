export * from './meter-1s.js';
