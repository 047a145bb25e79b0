// Public API of @lightnode/provisioning.
export * from './update/index.js';
export { parseBmap, mappedBytes, rangeBytes, type Bmap, type BmapRange } from './image/bmap.js';
export {
  decideTarget,
  parseMountinfo,
  parseSwaps,
  SYSTEM_MOUNTS,
  type TargetDecision,
  type TargetDev,
  type TargetFacts,
} from './image/target.js';
export { probeTarget } from './image/probe.js';
export { flashImage, checkRanges, type FlashOptions, type FlashResult } from './image/flash.js';
export * from './enroll/index.js';
export * from './commission/index.js';
