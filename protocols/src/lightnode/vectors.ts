/**
 * Builds the published test vectors (protocols/lightnode/vectors/*.json) from fixed inputs. Deterministic:
 * RFC 6979 signatures, fixed test keys, fixed sample generator. `npm run vectors` writes the files; a test checks that
 * the committed files equal what this builds, and verifies them with an independent EIP-712 implementation.
 */
import { toHex } from './canonical.js';
import { sealBatch } from './batch.js';
import { typedDataFor, type TypedMessage } from './eip712.js';
import { leafHash, merkleLevels, merkleProof } from './merkle.js';
import { signAck, signSetpoint, type Ack, type Setpoint } from './messages.js';
import { encodeSample, sampleToCanonical } from './sample.js';
import { privateKeySigner } from './signer.js';
import { TEST_DEVICE_KEY, TEST_OPERATOR_KEY, testDomain, testSamples } from './testkit.js';
import { encodeBatchWire } from './wire.js';
import type { SignedBatch } from './batch.js';

const KEY_NOTE = 'TEST KEY ONLY — published with the vectors, never use it for anything real';

export function buildVectors(): Record<string, unknown> {
  const dom = testDomain();
  const dev = privateKeySigner(TEST_DEVICE_KEY);
  const op = privateKeySigner(TEST_OPERATOR_KEY);
  const out: Record<string, unknown> = {};
  const batches = new Map<string, SignedBatch>();
  const start = Date.UTC(2021, 5, 23, 10, 30); // 12:30 Europe/Rome, slot 50 of the reference market day
  for (const [name, n, periodMs] of [
    ['batch-1', 1, 1000],
    ['batch-7', 7, 1000],
    ['batch-1000', 1000, 1000],
  ] as const) {
    const samples = testSamples(n, {
      deviceId: dev.address,
      firstSeq: n === 1 ? 0 : 41_000,
      startMs: start,
      periodMs,
      seed: n,
    });
    const windowMs = Math.max(60_000, Math.ceil((n * periodMs) / 60_000) * 60_000);
    const b = sealBatch(
      { deviceId: dev.address, podId: 'IT002E61899978', samples, windowStartMs: start, windowEndMs: start + windowMs },
      dev,
      dom,
    );
    batches.set(name, b);
    const leaves = samples.map(encodeSample);
    const lv = merkleLevels(leaves.map(leafHash));
    const proofIdx = [...new Set([0, 1, Math.floor(n / 2), n - 1])].filter((i) => i < n);
    out[name] = {
      kind: 'batch',
      description: `A batch of ${n} consecutive 1-s samples of a simulated meter at PoD IT002E61899978, sealed and signed by the test device key.`,
      privateKey: TEST_DEVICE_KEY,
      privateKeyNote: KEY_NOTE,
      samples: samples.map(sampleToCanonical),
      leaves: leaves.map(toHex),
      root: b.header.root,
      typedData: typedDataFor('Batch', b.header as unknown as TypedMessage, dom),
      signature: toHex(b.signature),
      signer: dev.address,
      proofs: proofIdx.map((index) => ({
        index,
        leafHash: toHex(lv[0]![index]!),
        path: merkleProof(lv, index).map(toHex),
      })),
    };
  }
  // SPEC §5 / §10: the compact wire form of batch-7, undeflated (format 0x01) so any CBOR tool can read it
  out['wire-7'] = {
    kind: 'batch-wire',
    description:
      'The compact wire form (SPEC §5) of batch-7.json, format 0x01 (CBOR, not deflated): decoding it rebuilds the 7 samples, the header and the signature of batch-7 exactly.',
    batch: 'batch-7.json',
    wire: toHex(encodeBatchWire(batches.get('batch-7')!, { deflate: false })),
  };
  const setpoint: Setpoint = {
    version: 1,
    id: toHex(new Uint8Array(32).fill(0x5e)),
    issuer: op.address,
    podId: 'IT002E61899978',
    marketSession: 'MKT-2021-06-23-DA',
    slotIndex: 50,
    playerServiceId: 'ACEAE',
    activePowerW: -150_000,
    validFromMs: Date.UTC(2021, 5, 23, 10, 30),
    validUntilMs: Date.UTC(2021, 5, 23, 10, 45),
    nonce: 1,
  };
  const sp = signSetpoint(setpoint, op, dom);
  out.setpoint = {
    kind: 'setpoint',
    description:
      'A setpoint for slot 50 (12:30 local) of the 2021-06-23 market day: bring the PoD to −150 kW (export), signed by the test operator key.',
    privateKey: TEST_OPERATOR_KEY,
    privateKeyNote: KEY_NOTE,
    message: setpoint,
    typedData: typedDataFor('Setpoint', setpoint as unknown as TypedMessage, dom),
    signature: sp.signature,
    signer: op.address,
  };
  const ack: Ack = {
    version: 1,
    setpointId: setpoint.id,
    deviceId: dev.address,
    state: 'clipped',
    reason: 'ESS_MAX_DISCHARGE',
    appliedPowerW: -120_000,
    atMs: Date.UTC(2021, 5, 23, 10, 30, 2),
    seq: 9,
  };
  const ak = signAck(ack, dev, dom);
  out.ack = {
    kind: 'ack',
    description:
      'The device acknowledges the setpoint as clipped at −120 kW by the battery’s discharge limit, signed by the test device key.',
    privateKey: TEST_DEVICE_KEY,
    privateKeyNote: KEY_NOTE,
    message: ack,
    typedData: typedDataFor('Ack', ack as unknown as TypedMessage, dom),
    signature: ak.signature,
    signer: dev.address,
  };
  return out;
}
