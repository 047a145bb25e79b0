/**
 * Deterministic builders for tests, vectors and benchmarks (pure; exported through `@lightnode/protocols/testing`).
 * TEST KEYS ONLY: the keys below are public and must never hold value.
 */
import { lightNodeDomain, VECTOR_CHAIN_ID, VECTOR_VERIFYING_CONTRACT } from './eip712.js';
import { makeSample, type Sample } from './sample.js';
import { signSetpoint, type Setpoint, type SignedSetpoint } from './messages.js';
import { privateKeySigner } from './signer.js';

/** A public, obviously-test device key (keccak of a label would do as well): never use it for anything real. */
export const TEST_DEVICE_KEY = '0x' + '0d'.repeat(31) + '01';
/** A public, obviously-test operator (setpoint issuer) key. */
export const TEST_OPERATOR_KEY = '0x' + '0e'.repeat(31) + '02';
export const testDomain = () => lightNodeDomain(VECTOR_CHAIN_ID, VECTOR_VERIFYING_CONTRACT);
export const testSigner = () => privateKeySigner(TEST_DEVICE_KEY);

/** A small deterministic PRNG (mulberry32) so that datasets are reproducible from a seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n consecutive 3-phase samples for tests (not the bench dataset: see hw-test datasets for that). */
export function testSamples(
  n: number,
  opts: {
    deviceId?: string;
    podId?: string;
    firstSeq?: number;
    startMs?: number;
    periodMs?: number;
    seed?: number;
  } = {},
): Sample[] {
  const rnd = prng(opts.seed ?? 1);
  const deviceId = opts.deviceId ?? testSigner().address;
  const start = opts.startMs ?? Date.UTC(2021, 5, 23, 10, 30);
  let e = 1_234_567;
  return Array.from({ length: n }, (_, i) => {
    const p = Math.round(2000 + 500 * rnd());
    e += Math.round(p / 3600);
    return makeSample({
      deviceId,
      podId: opts.podId ?? 'IT002E61899978',
      seq: (opts.firstSeq ?? 0) + i,
      tsMs: start + i * (opts.periodMs ?? 1000),
      source: 'modbus-tcp',
      values: {
        activePowerW: { value: p, quality: 'good' },
        voltageL1mV: { value: 230_000 + Math.round(2000 * (rnd() - 0.5)), quality: 'good' },
        currentL1mA: { value: Math.round((p / 230) * 1000), quality: 'good' },
        frequencymHz: { value: 50_000 + Math.round(40 * (rnd() - 0.5)), quality: 'good' },
        energyImportWh: { value: e, quality: 'good' },
      },
    });
  });
}

/**
 * A setpoint signed by the test operator key for the Tor di Valle slot 50 (2021-06-23 10:30–10:45Z): id and nonce
 * from `nonce`, everything else overridable.
 */
export function testSetpoint(nonce: number, overrides: Partial<Setpoint> = {}): SignedSetpoint {
  const issuer = privateKeySigner(TEST_OPERATOR_KEY);
  return signSetpoint(
    {
      version: 1,
      id: '0x' + nonce.toString(16).padStart(64, '0'),
      issuer: issuer.address,
      podId: 'IT002E61899978',
      marketSession: 'MI-2021-06-23',
      slotIndex: 50,
      playerServiceId: 'svc-1',
      activePowerW: -1000,
      baselineW: 0,
      validFromMs: 1_624_444_200_000,
      validUntilMs: 1_624_445_100_000,
      nonce,
      ...overrides,
    },
    issuer,
    testDomain(),
  );
}
