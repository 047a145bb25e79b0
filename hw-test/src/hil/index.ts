// The hardware-in-the-loop bench: scenario files (the runner, injectors and harness come with issue 16's other parts).
export * from './scenario.js';
export * from './scenario-file.js';
