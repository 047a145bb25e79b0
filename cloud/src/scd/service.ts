/**
 * The SCD's rules, transport-free: who may read and write what (the reference architecture's write rights), body
 * validation naming the field, and the outbound stream per consumer. api.ts maps HTTP onto it.
 *
 * Write rights:
 * - aggregators register their PoDs and update their PoDs' baselines; each reads only its own PoDs, their
 *   measurements, proofs, setpoints and market outcomes;
 * - the DSO platform writes PoD–PoM associations and setpoints;
 * - the market writes market outcomes, which are append-only and immutable;
 * - the BAL writes measurements (anchored windows) and declared gaps;
 * - DSO, TSO and market read every PoD.
 */
import { z } from 'zod';
import {
  LightNodeError,
  invalidField,
  marketDayStart,
  romeToUtc,
  slotsInMarketDay,
  type Clock,
  type Logger,
  silentLogger,
  type SignedBatch,
} from '@lightnode/protocols';
import type { GapDelivery, IngestResult, WindowDelivery } from '../delivery.js';
import { buildProof, type ProofDocument } from '../proof.js';
import type { Platform } from './auth.js';
import type { ScdStore } from './store.js';

export interface Outbound {
  publish(topic: string, payload: string): void;
}

/** `scd/v1/{platformId}/measurements`: the stream each consumer platform subscribes to. */
export const outboundTopic = (platformId: string): string => `scd/v1/${platformId}/measurements`;

const POD = z.string().regex(/^IT[0-9]{3}E[0-9A-Z]{8,9}$/, 'a PoD id like IT002E61899978');
const ADDRESS = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'a 0x address (40 hex digits)');
const DAY = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a market day YYYY-MM-DD');

export const Bodies = {
  pod: z.strictObject({ podId: POD, deviceId: ADDRESS.optional() }),
  pom: z.strictObject({ pomId: z.string().min(1).max(64) }),
  baseline: z.strictObject({ day: DAY, slotsW: z.array(z.number().int()).min(92).max(100) }),
  setpoint: z.strictObject({
    id: z.string().min(1).max(128),
    podId: POD,
    deviceId: ADDRESS.optional(),
    setpoint: z.record(z.string(), z.unknown()),
  }),
  outcome: z.strictObject({
    id: z.string().min(1).max(128),
    day: DAY,
    slot: z.number().int().min(0).max(99),
    podId: POD,
    aggregator: z.string().min(1).max(64),
    kind: z.enum(['technical', 'validated', 'settlement']),
    powerKw: z.number(),
    priceEurMWh: z.number().optional(),
  }),
  window: z.strictObject({
    v: z.literal(1),
    bal: z.string().min(1),
    window: z.strictObject({
      root: z.string(),
      leafCount: z.number().int().min(1),
      startMs: z.number().int(),
      endMs: z.number().int(),
    }),
    anchor: z.strictObject({
      chainId: z.number().int().min(1),
      contract: ADDRESS,
      keyRegister: ADDRESS,
      txHash: z.string().regex(/^0x[0-9a-f]{64}$/),
      blockNumber: z.number().int().nonnegative(),
      anchorer: ADDRESS,
      anchoredAtS: z.number().int().nonnegative(),
    }),
    batches: z.array(
      z.strictObject({ wire: z.string().min(1), index: z.number().int().nonnegative(), path: z.array(z.string()) }),
    ),
  }),
  gaps: z.strictObject({
    v: z.literal(1),
    bal: z.string().min(1),
    gaps: z.array(
      z.strictObject({
        signed: z.strictObject({
          kind: z.literal('gap'),
          message: z.record(z.string(), z.unknown()),
          signature: z.string(),
        }),
        receivedMs: z.number().int(),
      }),
    ),
  }),
};

/** Validates a body; a failure is SCHEMA_INVALID naming the field (→ HTTP 400). */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const i = r.error.issues[0]!;
  const field = i.path.join('.') || 'body';
  let received: unknown = body;
  for (const k of i.path) received = (received as Record<string | number, unknown> | undefined)?.[k as string];
  throw invalidField('SCHEMA_INVALID', field, i.message, received);
}

function forbid(caller: Platform, what: string): never {
  throw new LightNodeError('FORBIDDEN', `${caller.id} (${caller.role}) may not ${what}`, {
    platform: caller.id,
    role: caller.role,
  });
}

const READS_ALL = new Set(['dso', 'tso', 'market']);

export class ScdService {
  private readonly log: Logger;
  constructor(
    readonly store: ScdStore,
    private readonly o: {
      clock: Clock;
      platforms: readonly Platform[];
      outbound?: Outbound;
      log?: Logger;
      anchorerOf?: (txHash: string) => string;
    },
  ) {
    this.log = o.log ?? silentLogger;
  }

  private async ownedPod(caller: Platform, podId: string, what: string): Promise<void> {
    const pod = await this.store.pod(podId);
    if (!pod) throw new LightNodeError('NOT_FOUND', `PoD ${podId} is not registered`, { podId });
    if (READS_ALL.has(caller.role) && what.startsWith('read')) return;
    if (caller.role !== 'aggregator' || pod.aggregator !== caller.id)
      forbid(
        caller,
        `${what} of PoD ${podId} (it belongs to aggregator ${caller.role === 'aggregator' ? 'another platform' : pod.aggregator})`,
      );
  }

  async registerPod(caller: Platform, body: unknown): Promise<{ status: 'created' | 'updated'; podId: string }> {
    if (caller.role !== 'aggregator') forbid(caller, 'register PoDs (aggregators register their own PoDs)');
    const b = parseBody(Bodies.pod, body);
    const existing = await this.store.pod(b.podId);
    if (existing && existing.aggregator !== caller.id)
      forbid(caller, `register PoD ${b.podId}: it belongs to another aggregator`);
    const status = await this.store.putPod(
      { podId: b.podId, aggregator: caller.id, ...(b.deviceId ? { deviceId: b.deviceId } : {}) },
      this.o.clock.now(),
    );
    return { status, podId: b.podId };
  }

  async listPods(caller: Platform): Promise<unknown[]> {
    if (caller.role === 'aggregator') return this.store.pods(caller.id);
    if (READS_ALL.has(caller.role)) return this.store.pods();
    return forbid(caller, 'read the PoD registry');
  }

  async setPom(caller: Platform, podId: string, body: unknown): Promise<{ podId: string; pomId: string }> {
    if (caller.role !== 'dso') forbid(caller, 'write PoD–PoM associations (only the DSO platform does)');
    const b = parseBody(Bodies.pom, body);
    if (!(await this.store.pod(podId)))
      throw new LightNodeError('NOT_FOUND', `PoD ${podId} is not registered`, { podId });
    await this.store.setPom(podId, b.pomId, caller.id, this.o.clock.now());
    return { podId, pomId: b.pomId };
  }

  async putBaseline(
    caller: Platform,
    podId: string,
    body: unknown,
  ): Promise<{ podId: string; day: string; slots: number }> {
    if (caller.role !== 'aggregator') forbid(caller, "update baselines (aggregators update their PoDs' baselines)");
    const b = parseBody(Bodies.baseline, body);
    const [y, m, d] = b.day.split('-').map(Number) as [number, number, number];
    const startUtc = romeToUtc(y, m, d);
    if (Number.isNaN(startUtc) || marketDayStart(startUtc) !== startUtc)
      throw invalidField('SCHEMA_INVALID', 'day', 'a valid date', b.day);
    const n = slotsInMarketDay(startUtc);
    if (b.slotsW.length !== n)
      throw invalidField(
        'SCHEMA_INVALID',
        'slotsW',
        `${n} slots of 15 min for market day ${b.day} (Europe/Rome)`,
        b.slotsW,
      );
    await this.ownedPod(caller, podId, 'update the baseline');
    await this.store.putBaseline(podId, b.day, b.slotsW, caller.id, this.o.clock.now());
    return { podId, day: b.day, slots: n };
  }

  async baseline(caller: Platform, podId: string, day: string | undefined): Promise<unknown> {
    if (!day) throw invalidField('SCHEMA_INVALID', 'day', 'a market day YYYY-MM-DD (query parameter)', day);
    await this.ownedPod(caller, podId, 'read the baseline');
    const b = await this.store.baseline(podId, day);
    if (!b) throw new LightNodeError('NOT_FOUND', `no baseline for PoD ${podId} on ${day}`, {});
    return b;
  }

  async addSetpoint(caller: Platform, body: unknown): Promise<{ id: string }> {
    if (caller.role !== 'dso') forbid(caller, 'write setpoints (the DSO platform dispatches them)');
    const b = parseBody(Bodies.setpoint, body);
    if (!(await this.store.pod(b.podId))) throw new LightNodeError('NOT_FOUND', `PoD ${b.podId} is not registered`, {});
    const ok = await this.store.addSetpoint(
      { id: b.id, podId: b.podId, ...(b.deviceId ? { deviceId: b.deviceId } : {}), body: b.setpoint },
      caller.id,
      this.o.clock.now(),
    );
    if (!ok) throw new LightNodeError('CONFLICT', `setpoint ${b.id} already exists`, { id: b.id });
    return { id: b.id };
  }

  async listSetpoints(caller: Platform): Promise<unknown[]> {
    if (caller.role === 'aggregator')
      return this.store.setpoints((await this.store.pods(caller.id)).map((p) => p.podId));
    if (READS_ALL.has(caller.role)) return this.store.setpoints();
    return forbid(caller, 'read setpoints');
  }

  async addOutcome(caller: Platform, body: unknown): Promise<{ id: string }> {
    if (caller.role !== 'market') forbid(caller, 'write market outcomes (only the market does)');
    const b = parseBody(Bodies.outcome, body);
    const ok = await this.store.addOutcome(
      {
        id: b.id,
        day: b.day,
        slot: b.slot,
        podId: b.podId,
        aggregator: b.aggregator,
        kind: b.kind,
        body: b,
        createdBy: caller.id,
      },
      this.o.clock.now(),
    );
    if (!ok) forbid(caller, `write market outcome ${b.id} again: market outcomes are append-only and immutable`);
    return { id: b.id };
  }

  modifyOutcome(caller: Platform, id: string): never {
    return forbid(caller, `change or delete market outcome ${id}: market outcomes are append-only and immutable`);
  }

  async listOutcomes(caller: Platform): Promise<unknown[]> {
    if (caller.role === 'aggregator') return this.store.outcomes(caller.id);
    if (READS_ALL.has(caller.role)) return this.store.outcomes();
    return forbid(caller, 'read market outcomes');
  }

  async measurements(
    caller: Platform,
    q: { podId?: string; fromMs?: string; toMs?: string; limit?: string },
  ): Promise<unknown[]> {
    const num = (v: string | undefined, f: string, max = Number.MAX_SAFE_INTEGER): number | undefined => {
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > max) throw invalidField('SCHEMA_INVALID', f, `an integer 0..${max}`, v);
      return n;
    };
    if (caller.role === 'aggregator' && !q.podId)
      throw invalidField('SCHEMA_INVALID', 'podId', 'one of your PoDs (query parameter)', q.podId);
    if (q.podId) await this.ownedPod(caller, q.podId, 'read the measurements');
    else if (!READS_ALL.has(caller.role)) forbid(caller, 'read measurements');
    const fromMs = num(q.fromMs, 'fromMs');
    const toMs = num(q.toMs, 'toMs');
    return this.store.measurements({
      ...(q.podId ? { podId: q.podId } : {}),
      ...(fromMs !== undefined ? { fromMs } : {}),
      ...(toMs !== undefined ? { toMs } : {}),
      limit: num(q.limit, 'limit', 100_000) ?? 1000,
    });
  }

  private async deviceAccess(caller: Platform, deviceId: string, what: string): Promise<void> {
    if (READS_ALL.has(caller.role)) return;
    const pod = await this.store.podOfDevice(deviceId);
    if (caller.role !== 'aggregator' || !pod || pod.aggregator !== caller.id)
      forbid(caller, `${what} of device ${deviceId} (not behind one of its PoDs)`);
  }

  async proof(caller: Platform, deviceId: string, seqText: string): Promise<ProofDocument> {
    if (!/^0x[0-9a-f]{40}$/.test(deviceId))
      throw invalidField('SCHEMA_INVALID', 'deviceId', 'a lowercase 0x address', deviceId);
    const seq = Number(seqText);
    if (!Number.isSafeInteger(seq) || seq < 0)
      throw invalidField('SCHEMA_INVALID', 'seq', 'a non-negative integer', seqText);
    await this.deviceAccess(caller, deviceId, 'read proofs');
    const row = await this.store.batchOf(deviceId, seq);
    if (!row) throw new LightNodeError('NOT_FOUND', `no stored sample ${deviceId}/${seq}`, { deviceId, seq });
    const anchorer = await this.store.anchorerOf(row.txHash);
    return buildProof(row, seq, anchorer ?? '0x0000000000000000000000000000000000000000');
  }

  async gaps(caller: Platform, deviceId: string): Promise<unknown> {
    await this.deviceAccess(caller, deviceId.toLowerCase(), 'read gaps');
    return { deviceId: deviceId.toLowerCase(), gaps: await this.store.gaps(deviceId) };
  }

  async ingestWindow(caller: Platform, body: unknown): Promise<IngestResult> {
    if (caller.role !== 'bal') forbid(caller, 'write measurements (only the BAL does, with proofs)');
    const d: WindowDelivery = parseBody(Bodies.window, body);
    return this.ingestWindowTrusted(d);
  }

  /** In-process path (the embedded BAL) and the body of `POST /ingest`. */
  async ingestWindowTrusted(d: WindowDelivery): Promise<IngestResult> {
    const r = await this.store.ingestWindow(d, this.o.clock.now());
    if (this.o.outbound && r.stored.length > 0) await this.publish(r.stored, d);
    this.log.debug('window stored', {
      root: d.window.root,
      batches: r.batches,
      stored: r.samplesStored,
      duplicates: r.samplesDuplicate,
    });
    return { batches: r.batches, samplesStored: r.samplesStored, samplesDuplicate: r.samplesDuplicate };
  }

  async ingestGaps(caller: Platform, body: unknown): Promise<IngestResult> {
    if (caller.role !== 'bal') forbid(caller, 'write gap declarations (only the BAL does)');
    return this.store.ingestGaps(parseBody(Bodies.gaps, body) as unknown as GapDelivery);
  }

  private async publish(batches: readonly SignedBatch[], d: WindowDelivery): Promise<void> {
    const everyone = this.o.platforms.filter((p) => READS_ALL.has(p.role));
    for (const b of batches) {
      const pod = await this.store.pod(b.header.podId);
      const payload = JSON.stringify({
        podId: b.header.podId,
        deviceId: b.header.deviceId,
        firstSeq: b.header.firstSeq,
        lastSeq: b.header.lastSeq,
        anchor: { txHash: d.anchor.txHash, root: d.window.root },
        samples: b.samples,
      });
      const to = new Set(everyone.map((p) => p.id));
      if (pod) to.add(pod.aggregator);
      for (const id of to) this.o.outbound!.publish(outboundTopic(id), payload);
    }
  }
}
