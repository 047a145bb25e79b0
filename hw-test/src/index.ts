// Public API of @lightnode/hw-test: simulators, datasets, peers (independent protocol peers), demo stages.
export * from './datasets/index.js';
export * from './demo/index.js';
export * from './sim/index.js';
export * from './peers/index.js';
export * from './hil/index.js';
