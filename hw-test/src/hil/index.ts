// The hardware-in-the-loop bench: scenario files, the runner and its result (the harness comes with issue 16's other parts).
export * from './scenario.js';
export * from './scenario-file.js';
export * from './result.js';
export { runScenario, type RunOptions } from './runner.js';
