/**
 * Fixtures of the SCD and BAL tests (and benches): signed batches, window deliveries, gap declarations, acks and QoS
 * reports.
 */
import {
  batchDigest,
  encodeBatchWire,
  leafHash,
  lightNodeDomain,
  merkleLevels,
  merkleProof,
  sealBatch,
  toHex,
  type Ack,
  type Eip712Domain,
  type Gap,
  type QosReport,
  type SignedBatch,
  type Signer,
} from '@lightnode/protocols';
import { testSamples } from '@lightnode/protocols/testing';
import type { WindowDelivery } from '../delivery.js';

export const POD_A = 'IT002E61899978';
export const POD_B = 'IT002E60550189';
export const CHAIN = 31337;
export const REGISTER = '0x5fbdb2315678afecb367f032d93f642f64180aa3';

/** A window delivery of `batches` with a made-up anchor (the store checks the paths, not the chain). */
export function windowOf(batches: SignedBatch[], bal = 'bal-test'): WindowDelivery {
  const domain = lightNodeDomain(CHAIN, REGISTER);
  const levels = merkleLevels(batches.map((b) => leafHash(batchDigest(b.header, domain))));
  return {
    v: 1,
    bal,
    window: {
      root: toHex(levels.at(-1)![0]!),
      leafCount: batches.length,
      startMs: 1_624_400_000_000,
      endMs: 1_624_400_004_000,
    },
    anchor: {
      chainId: CHAIN,
      contract: '0xe7f1725e7734ce288f8367e1bb143e90bb3f0512',
      keyRegister: REGISTER,
      txHash: `0x${'ab'.repeat(32)}`,
      blockNumber: 7,
      anchorer: '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266',
      anchoredAtS: 1_624_400_005,
    },
    batches: batches.map((b, i) => ({
      wire: Buffer.from(encodeBatchWire(b)).toString('base64'),
      index: i,
      path: merkleProof(levels, i).map(toHex),
    })),
  };
}

/** A signed batch of `n` test samples from `firstSeq` (1 s apart), for tests and benches. */
export function sealedBatch(
  s: Signer,
  firstSeq: number,
  n: number,
  opts: { podId?: string; seed?: number; domain?: Eip712Domain } = {},
): SignedBatch {
  const podId = opts.podId ?? POD_A;
  const samples = testSamples(n, {
    deviceId: s.address,
    podId,
    firstSeq,
    startMs: Date.UTC(2021, 5, 23, 10) + firstSeq * 1000,
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
  });
  return sealBatch(
    { deviceId: s.address, podId, samples, windowStartMs: samples[0]!.tsMs, windowEndMs: samples.at(-1)!.tsMs + 1000 },
    s,
    opts.domain ?? lightNodeDomain(CHAIN, REGISTER),
  );
}

/** A gap declaration's message for `deviceId` over seqs 40..49 (`disk_quota`), with `over` applied. */
export function testGap(deviceId: string, over: Partial<Gap> = {}): Gap {
  return {
    version: 1,
    deviceId,
    podId: POD_A,
    firstSeq: 40,
    lastSeq: 49,
    count: 10,
    reason: 'disk_quota',
    energyImportWh: 12,
    energyExportWh: 0,
    atMs: 1_624_400_000_000,
    ...over,
  };
}

/** The setpoint id of the ack / QoS fixtures. */
export const TEST_SETPOINT_ID = `0x${'5e'.repeat(32)}`;

/** An ack by `deviceId` of setpoint `TEST_SETPOINT_ID` (`applied` at −120 kW), message seq `seq`, with `over`. */
export function testAck(deviceId: string, seq: number, over: Partial<Ack> = {}): Ack {
  return {
    version: 1,
    setpointId: TEST_SETPOINT_ID,
    deviceId,
    state: 'applied',
    reason: '',
    appliedPowerW: -120_000,
    atMs: 1_624_449_600_000 + seq * 1000,
    seq,
    ...over,
  };
}

/** A QoS report by `deviceId` on `POD_A` for setpoint `TEST_SETPOINT_ID` (slot 50), message seq `seq`, with `over`. */
export function testQos(deviceId: string, seq: number, over: Partial<QosReport> = {}): QosReport {
  return {
    version: 1,
    setpointId: TEST_SETPOINT_ID,
    deviceId,
    podId: POD_A,
    slotIndex: 50,
    requestedPowerW: -120_000,
    requestedEnergyWh: -30_000,
    baselineEnergyWh: 5_000,
    deliveredEnergyWh: -29_400,
    atMs: 1_624_450_500_000 + seq * 1000,
    seq,
    ...over,
  };
}
