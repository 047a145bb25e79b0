// Public surface of protocols/lightnode: the Light Node protocol v1 (spec: protocols/lightnode/SPEC.md).
export * from './quantities.js';
export * from './canonical.js';
export * from './sample.js';
export * from './pod.js';
export * from './merkle.js';
export * from './eip712.js';
export * from './signer.js';
export * from './batch.js';
export * from './wire.js';
export * from './messages.js';
export * from './provisioning.js';
export * from './topics.js';
export * from './documents.js';
