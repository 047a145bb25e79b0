/**
 * Builds the published test vectors (protocols/lightnode/vectors/*.json) from fixed inputs. Deterministic:
 * RFC 6979 signatures, fixed test keys, fixed sample generator. `npm run vectors` writes the files; a test checks that
 * the committed files equal what this builds, and verifies them with an independent EIP-712 implementation.
 */
import { toHex } from './canonical.js';
import { sealBatch } from './batch.js';
import { typedDataFor, type PrimaryType, type TypedMessage } from './eip712.js';
import { leafHash, merkleLevels, merkleProof } from './merkle.js';
import { signAck, signQosReport, signSetpoint, type Ack, type QosReport, type Setpoint } from './messages.js';
import {
  signConfig,
  signConfigAck,
  signCommissioning,
  signEnrollment,
  tokenHash,
  type ConfigAck,
  type Enrollment,
} from './provisioning.js';
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
    baselineW: 20_000,
    validFromMs: Date.UTC(2021, 5, 23, 10, 30),
    validUntilMs: Date.UTC(2021, 5, 23, 10, 45),
    nonce: 1,
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
  // 15 min at the setpoint: requested −150 kW → −37,500 Wh; baseline 20 kW → 5,000 Wh; delivered (clipped) −30,000 Wh
  const qos: QosReport = {
    version: 1,
    setpointId: setpoint.id,
    deviceId: dev.address,
    podId: setpoint.podId,
    slotIndex: setpoint.slotIndex,
    requestedPowerW: setpoint.activePowerW,
    requestedEnergyWh: -37_500,
    baselineEnergyWh: 5_000,
    deliveredEnergyWh: -30_000,
    atMs: Date.UTC(2021, 5, 23, 10, 45, 1),
    seq: 10,
  };
  const vector = (
    kind: string,
    description: string,
    type: PrimaryType,
    message: object,
    key: string,
    signature: string,
  ): Record<string, unknown> => ({
    kind,
    description,
    privateKey: key,
    privateKeyNote: KEY_NOTE,
    message,
    typedData: typedDataFor(type, message as unknown as TypedMessage, dom),
    signature,
    signer: privateKeySigner(key).address,
  });
  out.setpoint = vector(
    'setpoint',
    'A setpoint for slot 50 (12:30 local) of the 2021-06-23 market day: bring the PoD to −150 kW (export) from a 20 kW baseline, signed by the test operator key.',
    'Setpoint',
    setpoint,
    TEST_OPERATOR_KEY,
    signSetpoint(setpoint, op, dom).signature,
  );
  out.ack = vector(
    'ack',
    'The device acknowledges the setpoint as clipped at −120 kW by the battery’s discharge limit, signed by the test device key.',
    'Ack',
    ack,
    TEST_DEVICE_KEY,
    signAck(ack, dev, dom).signature,
  );
  out.qos = vector(
    'qos',
    'The QoS report after slot 50: requested −37,500 Wh (−150 kW · 15 min), baseline 5,000 Wh (20 kW), delivered −30,000 Wh at the PoD (the clipped −120 kW), signed by the test device key.',
    'QosReport',
    qos,
    TEST_DEVICE_KEY,
    signQosReport(qos, dev, dom).signature,
  );
  // SPEC §7: provisioning messages. The bodies signed by hash (`config`, `report`) ride next to the message.
  const configBody = {
    meters: [
      { id: 'pod', kind: 'modbus-tcp', host: '192.168.1.50', port: 502, unit: 1, profile: 'carlo-gavazzi/em24' },
    ],
    uplink: { url: 'mqtts://broker.example.net:8883', keepaliveS: 240 },
    batch: { periodS: 3600 },
  };
  const cfg = signConfig(configBody, { deviceId: dev.address, revision: 7, atMs: Date.UTC(2021, 5, 22, 8) }, op, dom);
  out.config = {
    ...vector(
      'config',
      'Revision 7 of a device’s remote configuration (one EM24 over Modbus TCP, hourly batches, keepalive 240 s), signed by the test operator key; configHash = keccak256 of the RFC 8785 bytes of config.',
      'Config',
      cfg.message,
      TEST_OPERATOR_KEY,
      cfg.signature,
    ),
    config: configBody,
  };
  const cack: ConfigAck = {
    version: 1,
    deviceId: dev.address,
    revision: 7,
    configHash: cfg.message.configHash,
    state: 'rolled_back',
    reason: 'CONFIG_HEALTH_METERS',
    atMs: Date.UTC(2021, 5, 22, 8, 2, 1),
    seq: 11,
  };
  out['config-ack'] = vector(
    'config-ack',
    'The device rolls revision 7 back: its meter did not read good within the health deadline. Signed by the test device key.',
    'ConfigAck',
    cack,
    TEST_DEVICE_KEY,
    signConfigAck(cack, dev, dom).signature,
  );
  const enrollment: Enrollment = {
    version: 1,
    deviceId: dev.address,
    serial: 'LN-TEST-0001',
    podId: 'IT002E61899978',
    tokenHash: tokenHash('test-enrollment-token-not-secret'),
    atMs: Date.UTC(2021, 5, 21, 9),
  };
  out.enrollment = {
    ...vector(
      'enrollment',
      'The device proves it holds the key behind deviceId and claims the one-time token "test-enrollment-token-not-secret" (tokenHash = keccak256 of its UTF-8) for its serial at the PoD. Signed by the test device key.',
      'Enrollment',
      enrollment,
      TEST_DEVICE_KEY,
      signEnrollment(enrollment, dev, dom).signature,
    ),
    token: 'test-enrollment-token-not-secret',
  };
  const report = {
    agentVersion: '0.1.0',
    startedMs: Date.UTC(2021, 5, 21, 9),
    finishedMs: Date.UTC(2021, 5, 21, 9, 12),
    meters: [
      {
        profile: 'carlo-gavazzi/em24',
        unit: 1,
        host: '192.168.1.50',
        serialNumber: 'EM24TEST001',
        readings: { activePowerW: 1520 },
      },
    ],
    checks: [
      { id: 'pod', result: 'pass', detail: 'IT002E61899978' },
      { id: 'modbus-tcp', result: 'pass', detail: 'carlo-gavazzi/em24 at 192.168.1.50:502 unit 1' },
    ],
  };
  const comm = signCommissioning(
    report,
    {
      deviceId: dev.address,
      podId: 'IT002E61899978',
      serial: 'LN-TEST-0001',
      installer: 'Test Installer',
      result: 'pass',
      atMs: Date.UTC(2021, 5, 21, 9, 12),
      seq: 3,
    },
    dev,
    dom,
  );
  out.commissioning = {
    ...vector(
      'commissioning',
      'A commissioning report (one EM24 found over Modbus TCP, every check passed); reportHash = keccak256 of the RFC 8785 bytes of report. Signed by the test device key.',
      'CommissioningReport',
      comm.message,
      TEST_DEVICE_KEY,
      comm.signature,
    ),
    report,
  };
  return out;
}
