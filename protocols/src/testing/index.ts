// Fakes and contract suites of @lightnode/protocols (subpath ./testing).
export { FakeClock } from './fake-clock.js';
export { memoryLogger } from '../log.js';
export * from '../lightnode/testkit.js';
export { buildVectors } from '../lightnode/vectors.js';
