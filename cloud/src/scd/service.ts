/**
 * The SCD's rules, transport-free: what each platform may read and write beyond its role (ownership of PoDs,
 * append-only outcomes), the ingest of the BAL's deliveries (checked by ingest/, then written), and the outbound
 * stream per consumer. api.ts is its route table: which roles may call what, and the body schemas (`Bodies`).
 *
 * Write rights:
 * - aggregators register their PoDs and update their PoDs' baselines; each reads only its own PoDs, their
 *   measurements, proofs, setpoints and market outcome rows;
 * - the DSO platform writes PoD–PoM associations and setpoints;
 * - the market writes market outcome rows (kinds market, technical, validated, settlement), append-only and
 *   immutable; a DSO or TSO reads the rows of its own requests (`requestPlayerId`), the DSO also the market and
 *   technical rows, an aggregator its PoDs' rows, the market all;
 * - the BAL writes measurements (anchored windows), declared gaps and the devices' signed acks and QoS reports;
 * - DSO, TSO and market read every PoD; an aggregator reads the acks and QoS reports of its PoDs' devices;
 * - the enrollment service (`enroller`) binds a device to a PoD for an installer's aggregator (enroller.ts).
 */
import {
  LightNodeError,
  invalidField,
  marketDayStart,
  podIdSchema,
  romeToUtc,
  slotsInMarketDay,
  type Clock,
  type Logger,
  silentLogger,
  type SignedBatch,
} from '@lightnode/protocols';
import type { IngestResult, MessageIngestResult, ScdSink, WindowDelivery } from '../delivery.js';
import type { Platform } from '../http/auth.js';
import { parseBody } from '../http/body.js';
import { checkGaps, checkMessages, checkWindow } from '../ingest/check.js';
import { buildProof, type ProofDocument } from '../proof.js';
import { bindDevice, type BindResult, type DeviceBinding } from './enroller.js';
import { Bodies, outcomeRows, type BaselineBody, type PodBody, type PomBody, type SetpointBody } from './bodies.js';
export {
  Bodies,
  OUTCOME_BATCH_MAX,
  OUTCOME_KINDS,
  outcomeRows,
  type BaselineBody,
  type OutcomeBody,
  type PodBody,
  type PomBody,
  type SetpointBody,
} from './bodies.js';
import type { AckRow, MessageQuery, OutcomeRow, QosRow, ScdStore } from './store.js';

export interface Outbound {
  publish(topic: string, payload: string): void;
}

/** `scd/v1/{platformId}/measurements`: the stream each consumer platform subscribes to. */
export const outboundTopic = (platformId: string): string => `scd/v1/${platformId}/measurements`;

const DEVICE = /^0x[0-9a-f]{40}$/;
const BYTES32 = /^0x[0-9a-fA-F]{64}$/;

/** An integer query parameter in 0..max (absent: undefined); otherwise SCHEMA_INVALID naming it. */
function queryInt(v: string | undefined, field: string, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n > max)
    throw invalidField('SCHEMA_INVALID', field, `an integer 0..${max} (query parameter)`, v);
  return n;
}

/** The query of `GET /acks` and `GET /qos`, as given (each optional). */
export interface MessageQueryText {
  setpointId?: string;
  podId?: string;
  fromMs?: string;
  toMs?: string;
  limit?: string;
}

/**
 * The player id under which a platform posts its flexibility requests: its platform id upper-cased (platform `dso`
 * ↔ `playerRequestId` `DSO`, `tso` ↔ `TSO`). A DSO or TSO reads the outcome rows of its own requests by it.
 */
export const requestPlayerId = (platformId: string): string => platformId.toUpperCase();

function forbid(caller: Platform, what: string): never {
  throw new LightNodeError('FORBIDDEN', `${caller.id} (${caller.role}) may not ${what}`, {
    platform: caller.id,
    role: caller.role,
  });
}

/** A device id from a path: a lowercase 0x address (upper case is accepted and lowered). */
function deviceParam(deviceId: string): string {
  const id = deviceId.toLowerCase();
  if (!DEVICE.test(id)) throw invalidField('SCHEMA_INVALID', 'deviceId', 'a 0x address (40 hex digits)', deviceId);
  return id;
}

/** Platforms that read every PoD. */
export const READS_ALL = new Set(['dso', 'tso', 'market']);

export class ScdService implements ScdSink {
  private readonly log: Logger;
  constructor(
    readonly store: ScdStore,
    private readonly o: {
      clock: Clock;
      platforms: readonly Platform[];
      outbound?: Outbound;
      log?: Logger;
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

  private async registered(podId: string): Promise<void> {
    if (!(await this.store.pod(podId)))
      throw new LightNodeError('NOT_FOUND', `PoD ${podId} is not registered`, { podId });
  }

  /** An aggregator registers (or updates) one of its PoDs. */
  async registerPod(caller: Platform, b: PodBody): Promise<{ status: 'created' | 'updated'; podId: string }> {
    const existing = await this.store.pod(b.podId);
    if (existing && existing.aggregator !== caller.id)
      forbid(caller, `register PoD ${b.podId}: it belongs to another aggregator`);
    const status = await this.store.putPod(
      { podId: b.podId, aggregator: caller.id, ...(b.deviceId ? { deviceId: b.deviceId } : {}) },
      this.o.clock.now(),
    );
    return { status, podId: b.podId };
  }

  /** The enroller right (enroller.ts): binds `b.deviceId` to `podId` for `b.aggregator`; `dryRun` only checks. */
  bindDevice(caller: Platform, podId: string, b: DeviceBinding, dryRun = false): Promise<BindResult> {
    return bindDevice(this.store, this.o.platforms, caller, podId, b, this.o.clock.now(), dryRun);
  }

  async listPods(caller: Platform): Promise<unknown[]> {
    return caller.role === 'aggregator' ? this.store.pods(caller.id) : this.store.pods();
  }

  async setPom(caller: Platform, podId: string, b: PomBody): Promise<{ podId: string; pomId: string }> {
    await this.registered(podId);
    await this.store.setPom(podId, b.pomId, caller.id, this.o.clock.now());
    return { podId, pomId: b.pomId };
  }

  async putBaseline(
    caller: Platform,
    podId: string,
    b: BaselineBody,
  ): Promise<{ podId: string; day: string; slots: number }> {
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

  async addSetpoint(caller: Platform, b: SetpointBody): Promise<{ id: string }> {
    await this.registered(b.podId);
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
    return this.store.setpoints();
  }

  /** One row or a batch (one transaction): an id already stored → 403 and nothing of the batch is written. */
  async addOutcomes(caller: Platform, body: unknown): Promise<{ id: string } | { ids: string[] }> {
    const rows = outcomeRows(body);
    const seen = new Set<string>();
    rows.forEach((r, i) => {
      if (seen.has(r.id)) throw invalidField('SCHEMA_INVALID', `${i}.id`, 'ids unique within the batch', r.id);
      seen.add(r.id);
    });
    const dup = await this.store.addOutcomes(rows, caller.id, this.o.clock.now());
    if (dup !== undefined)
      forbid(caller, `write market outcome ${dup} again: market outcomes are append-only and immutable`);
    return Array.isArray(body) ? { ids: rows.map((r) => r.id) } : { id: rows[0]!.id };
  }

  modifyOutcome(caller: Platform, id: string): never {
    return forbid(caller, `change or delete market outcome ${id}: market outcomes are append-only and immutable`);
  }

  /**
   * `GET /market-outcomes?session=&kind=`: an aggregator reads its PoDs' rows; a DSO or TSO the rows of its own
   * requests (`playerRequestId` = `requestPlayerId(its id)`), the DSO also every `market` and `technical` row (it
   * validates them); the market every row.
   */
  async listOutcomes(caller: Platform, q: { session?: string; kind?: string } = {}): Promise<OutcomeRow[]> {
    const kind = q.kind === undefined ? undefined : parseBody(Bodies.outcome.shape.kind, q.kind, 'kind');
    const filter = { ...(q.session ? { session: q.session } : {}), ...(kind ? { kind } : {}) };
    if (caller.role === 'market') return this.store.outcomes(filter);
    if (caller.role === 'aggregator') return this.store.outcomes({ ...filter, aggregator: caller.id });
    return this.store.outcomes({
      ...filter,
      requestPlayerId: requestPlayerId(caller.id),
      ...(caller.role === 'dso' ? { alsoKinds: ['market', 'technical'] } : {}),
    });
  }

  async measurements(
    caller: Platform,
    q: { podId?: string; fromMs?: string; toMs?: string; limit?: string },
  ): Promise<unknown[]> {
    await this.podAccess(caller, q.podId, 'read the measurements');
    const fromMs = queryInt(q.fromMs, 'fromMs');
    const toMs = queryInt(q.toMs, 'toMs');
    return this.store.measurements({
      ...(q.podId ? { podId: q.podId } : {}),
      ...(fromMs !== undefined ? { fromMs } : {}),
      ...(toMs !== undefined ? { toMs } : {}),
      limit: queryInt(q.limit, 'limit', 100_000) ?? 1000,
    });
  }

  /** An aggregator names one of its PoDs (`podId` query parameter); DSO, TSO and market any PoD, or none. */
  private async podAccess(caller: Platform, podId: string | undefined, what: string): Promise<void> {
    if (caller.role === 'aggregator' && !podId)
      throw invalidField('SCHEMA_INVALID', 'podId', 'one of your PoDs (query parameter)', podId);
    if (podId) await this.ownedPod(caller, podId, what);
  }

  private async messageQuery(caller: Platform, q: MessageQueryText, what: string): Promise<MessageQuery> {
    if (q.setpointId !== undefined && !BYTES32.test(q.setpointId))
      throw invalidField(
        'SCHEMA_INVALID',
        'setpointId',
        'a setpoint id, 0x + 64 hex digits (query parameter)',
        q.setpointId,
      );
    const podId = q.podId === undefined ? undefined : parseBody(podIdSchema, q.podId, 'podId');
    const fromMs = queryInt(q.fromMs, 'fromMs');
    const toMs = queryInt(q.toMs, 'toMs');
    if (fromMs !== undefined && toMs !== undefined && toMs < fromMs)
      throw invalidField('SCHEMA_INVALID', 'toMs', `≥ fromMs (${fromMs})`, q.toMs);
    await this.podAccess(caller, podId, what);
    return {
      ...(q.setpointId ? { setpointId: q.setpointId } : {}),
      ...(podId ? { podId } : {}),
      ...(fromMs !== undefined ? { fromMs } : {}),
      ...(toMs !== undefined ? { toMs } : {}),
      limit: queryInt(q.limit, 'limit', 100_000) ?? 1000,
    };
  }

  /** `GET /acks`: the devices' signed acks, by setpoint and / or PoD. */
  async acks(caller: Platform, q: MessageQueryText): Promise<AckRow[]> {
    return this.store.acks(await this.messageQuery(caller, q, 'read the acks'));
  }

  /** `GET /qos`: the devices' signed QoS reports, by setpoint, PoD and message time. */
  async qos(caller: Platform, q: MessageQueryText): Promise<QosRow[]> {
    return this.store.qosReports(await this.messageQuery(caller, q, 'read the QoS reports'));
  }

  private async deviceAccess(caller: Platform, deviceId: string, what: string): Promise<void> {
    if (READS_ALL.has(caller.role)) return;
    const pod = await this.store.podOfDevice(deviceId);
    if (caller.role !== 'aggregator' || !pod || pod.aggregator !== caller.id)
      forbid(caller, `${what} of device ${deviceId} (not behind one of its PoDs)`);
  }

  async proof(caller: Platform, deviceIdText: string, seqText: string): Promise<ProofDocument> {
    if (!DEVICE.test(deviceIdText))
      throw invalidField('SCHEMA_INVALID', 'deviceId', 'a lowercase 0x address', deviceIdText);
    const deviceId = deviceIdText;
    const seq = Number(seqText);
    if (!/^\d+$/.test(seqText) || !Number.isSafeInteger(seq))
      throw invalidField('SCHEMA_INVALID', 'seq', 'a non-negative integer', seqText);
    await this.deviceAccess(caller, deviceId, 'read proofs');
    const row = await this.store.batchOf(deviceId, seq);
    if (!row) throw new LightNodeError('NOT_FOUND', `no stored sample ${deviceId}/${seq}`, { deviceId, seq });
    const anchorer = await this.store.anchorerOf(row.txHash);
    if (!anchorer)
      throw new LightNodeError(
        'NOT_FOUND',
        `no anchor record for transaction ${row.txHash} (the window of ${deviceId}/${seq}): the proof cannot name its anchorer`,
        { txHash: row.txHash, deviceId, seq },
      );
    return buildProof(row, seq, anchorer);
  }

  async gaps(caller: Platform, deviceIdText: string): Promise<{ deviceId: string; gaps: unknown[] }> {
    const deviceId = deviceParam(deviceIdText);
    await this.deviceAccess(caller, deviceId, 'read gaps');
    return { deviceId, gaps: await this.store.gaps(deviceId) };
  }

  /**
   * An anchored window from the BAL (`POST /ingest` or in process: the same path): checked once (ingest/check.ts),
   * then written; new samples go to the outbound streams.
   */
  async ingestWindow(body: unknown): Promise<IngestResult> {
    const w = checkWindow(body);
    const d = w.delivery;
    const r = await this.store.writeWindow(w, this.o.clock.now());
    if (this.o.outbound && r.stored.length > 0) await this.publish(r.stored, d);
    this.log.debug('window stored', {
      root: d.window.root,
      batches: r.batches,
      stored: r.samplesStored,
      duplicates: r.samplesDuplicate,
    });
    return { batches: r.batches, samplesStored: r.samplesStored, samplesDuplicate: r.samplesDuplicate };
  }

  /** Declared gaps from the BAL (`POST /ingest/gaps` or in process): checked, then written; nothing on a failure. */
  async ingestGaps(body: unknown): Promise<IngestResult> {
    return this.store.writeGaps(checkGaps(body));
  }

  /**
   * Signed acks and QoS reports from the BAL (`POST /ingest/messages` or in process): checked, then written with the
   * device's PoD; deduplicated on (deviceId, seq) — the same message again is accepted, other content → SEQ_CONFLICT.
   */
  async ingestMessages(body: unknown): Promise<MessageIngestResult> {
    const d = checkMessages(body);
    return this.store.writeMessages(d.messages, d.bal, this.o.clock.now());
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
