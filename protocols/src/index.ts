/**
 * @lightnode/protocols: wire formats and their codecs, no I/O. Areas:
 * - core: errors, logger, clock, CLI command shapes;
 * - lightnode/: the Light Node protocol v1 (samples, canonical CBOR, Merkle trees, EIP-712 batches, setpoints,
 *   acks, status, topics) — spec and vectors in ../lightnode/;
 * - modbus/: register types, device profiles (data) and their schema, the read planner, frame codecs;
 * - chain2/: the Chain 2 CF message set.
 */
export * from './errors.js';
export * from './log.js';
export * from './clock.js';
export * from './test-knobs.js';
export * from './backoff.js';
export * from './command.js';
export * from './lightnode/index.js';
export * from './modbus/index.js';
export * from './chain2/index.js';
export * from './agent-config/index.js';
