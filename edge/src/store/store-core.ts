/**
 * The store's rules on top of a `StoreBackend` (SQLite on the device, memory in `FakeQueue`): seq allocation and
 * the high-water marks, one transaction per write, sealing through the batcher, the quota planner, held gap
 * declarations while writes fail. See `types.ts` for the contract and edge/README.md § Store for the write policy.
 */
import {
  LightNodeError,
  decodeSample,
  encodeSample,
  isLightNodeError,
  silentLogger,
  topicCodecs,
  type Clock,
  type Eip712Domain,
  type Logger,
  type Sample,
  type SignedBatch,
  type Signer,
  type TopicPayloads,
} from '@lightnode/protocols';
import { Batcher, energySpan, gapOverSamples } from './batcher.js';
import type { HighWaterMark, StoreBackend } from './backend.js';
import { mergeGap, nextAlarm, planQuota, type FullAlarm } from './quota.js';
import type { CycleReading, GapDeclaration, MessageKind, QueueItem, Store, StoreStats } from './types.js';
import { asWriteFailure } from './write-failure.js';

export interface StoreOptions {
  signer: Signer;
  domain: Eip712Domain;
  podId: string;
  clock: Clock;
  /** Bound of the undelivered bytes (edge/README.md § Store). */
  quotaBytes: number;
  /** Batch window (default 60 000 ms). */
  windowMs?: number;
  logger?: Logger;
  /** Seqs reserved per fsync of a high-water file (default 1000). */
  seqBlock?: number;
}

/** One sequence (samples or messages) and its high-water mark outside the database. */
class SeqCounter {
  next: number;
  private reservedUpTo: number;
  /** Set when the database was older than the mark (restored backup): the range skipped. */
  readonly skipped?: { from: number; to: number };

  constructor(
    private readonly hw: HighWaterMark,
    private readonly deviceId: string,
    private readonly block: number,
    dbNext: number,
    what: string,
  ) {
    const mark = hw.read();
    if (mark && mark.deviceId !== deviceId)
      throw new LightNodeError(
        'OUTBOX_CORRUPT',
        `${what} high-water mark belongs to ${mark.deviceId}, not ${deviceId}`,
        {
          deviceId: mark.deviceId,
        },
      );
    this.next = dbNext;
    this.reservedUpTo = dbNext;
    if (mark && dbNext < mark.from) {
      // the database is older than the last reservation: restored from a backup. Never reuse a seq.
      this.skipped = { from: dbNext, to: mark.upTo - 1 };
      this.next = mark.upTo;
      this.reservedUpTo = mark.upTo;
    } else if (mark && mark.upTo > dbNext) this.reservedUpTo = mark.upTo;
  }

  /**
   * Makes sure every seq below `upTo` is under the mark (writes and fsyncs it when not). `from` = the database's next
   * seq before the write that needs it: a database found below it at open is older than the mark (restored).
   */
  ensure(upTo: number, from = this.next): void {
    if (upTo <= this.reservedUpTo) return;
    const r = { deviceId: this.deviceId, from, upTo: upTo + this.block };
    this.hw.write(r);
    this.reservedUpTo = r.upTo;
  }
}

interface HeldGap {
  decl: GapDeclaration;
  atMs: number;
}

export class StoreCore implements Store {
  protected readonly log: Logger;
  readonly batcher: Batcher;
  private readonly samplesSeq: SeqCounter;
  private readonly messageSeq: SeqCounter;
  /** Next sample seq not yet stored nor declared (held declarations included). */
  private landedNext: number;
  private held: HeldGap[] = [];
  private alarm: FullAlarm = { deliveredSinceEviction: true };
  private writeFailure: StoreStats['writeFailure'];
  protected extra: Pick<StoreStats, 'recovered' | 'migrated' | 'failpoints'> = {};

  constructor(
    protected readonly b: StoreBackend,
    hw: { samples: HighWaterMark; messages: HighWaterMark },
    protected readonly o: StoreOptions,
  ) {
    this.log = (o.logger ?? silentLogger).child({ component: 'store' });
    this.batcher = new Batcher({ signer: o.signer, domain: o.domain, podId: o.podId, windowMs: o.windowMs ?? 60_000 });
    const dev = b.meta('deviceId');
    if (dev && dev !== o.signer.address)
      throw new LightNodeError(
        'OUTBOX_CORRUPT',
        `outbox ${b.path} belongs to device ${dev}, not ${o.signer.address}: refusing to mix identities`,
        { path: b.path },
      );
    const dbNext = Math.max(Number(b.meta('nextSeq') ?? 0), b.maxSampleSeq() + 1);
    const dbNextMsg = Math.max(Number(b.meta('nextMessageSeq') ?? 0), b.maxMessageSeq() + 1);
    const block = o.seqBlock ?? 1000;
    this.samplesSeq = new SeqCounter(hw.samples, o.signer.address, block, dbNext, 'sample seq');
    this.messageSeq = new SeqCounter(hw.messages, o.signer.address, block, dbNextMsg, 'message seq');
    this.landedNext = this.samplesSeq.next;
    const skipped = this.samplesSeq.skipped;
    if (skipped) {
      this.log.warn('the store is older than the seq high-water mark (restored backup?): skipping ahead', skipped);
      this.held.push({ decl: this.noEnergy(skipped.from, skipped.to, 'restored_backup'), atMs: o.clock.now() });
    }
    if (this.messageSeq.skipped)
      this.log.warn('the store is older than the message seq high-water mark: skipping ahead', this.messageSeq.skipped);
    try {
      this.write('open', () => {
        if (!dev) b.setMeta('deviceId', o.signer.address);
      });
    } catch (e) {
      if (!isLightNodeError(e) || e.code !== 'OUTBOX_WRITE_FAILED') throw e;
      this.log.error('store write failed at open; declarations held until writes succeed', { error: e.message });
    }
  }

  private noEnergy(firstSeq: number, lastSeq: number, reason: string): GapDeclaration {
    return { firstSeq, lastSeq, reason, energyImportWh: -1, energyExportWh: -1 };
  }

  /**
   * One write: the held declarations and `fn` in one transaction, after the high-water marks cover what it stores.
   * A failure to write becomes OUTBOX_WRITE_FAILED (the transaction rolled back); the next success clears it.
   */
  protected write<T>(what: string, fn: () => T, seqUpTo = 0, reserve?: () => void): T {
    const heldUpTo = this.held.length ? this.held[this.held.length - 1]!.decl.lastSeq + 1 : 0;
    try {
      this.samplesSeq.ensure(Math.max(seqUpTo, heldUpTo), this.held[0]?.decl.firstSeq ?? this.landedNext);
      reserve?.();
      const r = this.b.transaction(() => {
        for (const h of this.held) this.insertGap(h.decl, h.atMs);
        if (this.held.length || seqUpTo) this.b.setMeta('nextSeq', String(Math.max(this.landedNext, seqUpTo)));
        return fn();
      });
      this.held = [];
      if (this.writeFailure) this.log.info('store writes succeed again', { failedSinceMs: this.writeFailure.sinceMs });
      this.writeFailure = undefined;
      return r;
    } catch (e) {
      const err = asWriteFailure(e, what, this.b.path);
      if (isLightNodeError(err) && err.code === 'OUTBOX_WRITE_FAILED')
        this.writeFailure = { sinceMs: this.writeFailure?.sinceMs ?? this.o.clock.now(), message: err.message };
      throw err;
    }
  }

  /** Stores a signed gap, extending an undelivered one of the same reason that ends right before it. */
  private insertGap(decl: GapDeclaration, atMs: number): void {
    for (const g of this.b.undeliveredGaps()) {
      const merged = mergeGap(g.decl, decl);
      if (!merged) continue;
      this.b.deleteItem(g.id);
      decl = merged;
      break;
    }
    const { payload } = this.batcher.signGap(decl, atMs);
    this.b.insertItem({ kind: 'gap', firstSeq: decl.firstSeq, lastSeq: decl.lastSeq, payload, createdMs: atMs, decl });
  }

  get nextSeq(): number {
    return this.samplesSeq.next;
  }

  allocate(readings: readonly CycleReading[]): Sample[] {
    const samples = this.batcher.samples(readings, this.samplesSeq.next);
    this.samplesSeq.next += samples.length;
    return samples;
  }

  private checkNext(samples: readonly Sample[], what: string): void {
    samples.forEach((s, i) => {
      const want = this.landedNext + i;
      if (s.seq !== want)
        throw new LightNodeError('INPUT_INVALID', `${what}: sample seq ${s.seq} given, ${want} expected (seq order)`, {
          seq: s.seq,
          expected: want,
        });
    });
  }

  commit(samples: readonly Sample[]): void {
    if (!samples.length) return;
    this.checkNext(samples, 'commit');
    const upTo = samples[samples.length - 1]!.seq + 1;
    const rows = samples.map((s) => ({ seq: s.seq, tsMs: s.tsMs, bytes: encodeSample(s) }));
    this.write('commit of a poll cycle', () => this.b.insertSamples(rows), upTo);
    this.landedNext = upTo;
  }

  commitCycle(readings: readonly CycleReading[]): Sample[] {
    if (!readings.length) return [];
    const first = this.samplesSeq.next;
    const samples = this.allocate(readings);
    try {
      this.commit(samples);
    } catch (e) {
      this.samplesSeq.next = first;
      throw e;
    }
    return samples;
  }

  declareLost(samples: readonly Sample[], reason = 'store_write_failed'): GapDeclaration {
    this.checkNext(samples, 'declareLost');
    const decl = gapOverSamples(samples, reason);
    const atMs = this.o.clock.now();
    const last = this.held[this.held.length - 1];
    const merged = last ? mergeGap(last.decl, decl) : null;
    if (merged) this.held[this.held.length - 1] = { decl: merged, atMs };
    else this.held.push({ decl, atMs });
    this.landedNext = decl.lastSeq + 1;
    try {
      this.write('gap declaration', () => undefined);
    } catch (e) {
      if (!isLightNodeError(e) || e.code !== 'OUTBOX_WRITE_FAILED') throw e;
      this.log.warn('gap declaration held in memory until a store write succeeds', { ...decl });
    }
    return decl;
  }

  sealDue(force = false): SignedBatch[] {
    const rows = this.b.unsealed();
    const out: SignedBatch[] = [];
    for (const g of this.batcher.plan(rows, this.o.clock.now(), force)) {
      const first = rows[g.from]!.seq;
      const last = rows[g.to - 1]!.seq;
      const samples = this.b.sampleBytes(first, last).map((bytes) => decodeSample(bytes));
      const { batch, wire } = this.batcher.seal(samples, g.windowStartMs);
      this.write('seal of a batch', () => {
        this.b.insertItem({
          kind: 'batch',
          firstSeq: first,
          lastSeq: last,
          payload: wire,
          createdMs: this.o.clock.now(),
          firstTsMs: samples[0]!.tsMs,
          energies: energySpan(samples),
        });
        this.b.deleteSamples(first, last);
      });
      out.push(batch);
    }
    this.enforceQuota();
    return out;
  }

  private enforceQuota(): void {
    const bytes = this.b.bytes();
    const quotaBytes = this.o.quotaBytes;
    if (bytes <= quotaBytes) {
      this.alarm = nextAlarm(this.alarm, false, bytes, quotaBytes, this.o.clock.now());
      return;
    }
    const plan = planQuota({ batches: this.b.undeliveredBatches(), gaps: this.b.undeliveredGaps(), bytes, quotaBytes });
    if (plan.evict.length) {
      const atMs = this.o.clock.now();
      this.write('quota eviction', () => {
        for (const d of plan.declare) {
          if (d.replaces !== undefined) this.b.deleteItem(d.replaces);
          this.insertGap(d.decl, atMs);
        }
        for (const id of plan.evict) this.b.deleteItem(id);
        this.b.setMeta('evictedSamples', String(Number(this.b.meta('evictedSamples') ?? 0) + plan.evictedSamples));
      });
      this.log.warn('disk quota reached: evicted the oldest undelivered batches, declared signed gaps', {
        samples: plan.evictedSamples,
        quotaBytes,
      });
    }
    this.alarm = nextAlarm(this.alarm, true, bytes, quotaBytes, this.o.clock.now());
  }

  pending(limit: number, exclude: ReadonlySet<number> = new Set()): QueueItem[] {
    return this.b.pending(limit, exclude);
  }

  markDelivered(id: number): void {
    this.write('delivery mark', () => this.b.markDelivered(id));
    this.alarm = { ...this.alarm, deliveredSinceEviction: true };
  }

  nextMessageSeq(): number {
    return this.messageSeq.next;
  }

  enqueueMessage<K extends MessageKind>(kind: K, build: (seq: number) => TopicPayloads[K]): QueueItem {
    const seq = this.messageSeq.next;
    const payload = (topicCodecs[kind] as { encode(p: TopicPayloads[K]): Uint8Array }).encode(build(seq));
    const item = this.write(
      `enqueue of a ${kind}`,
      () => {
        this.b.setMeta('nextMessageSeq', String(seq + 1));
        return this.b.insertItem({ kind, firstSeq: seq, lastSeq: seq, payload, createdMs: this.o.clock.now() });
      },
      0,
      () => this.messageSeq.ensure(seq + 1),
    );
    this.messageSeq.next = seq + 1;
    return item;
  }

  stats(): StoreStats {
    const c = this.b.counts();
    const oldest = [c.oldestUnsealedTsMs, c.oldestBatchTsMs].filter((x): x is number => x !== undefined);
    return {
      nextSeq: this.samplesSeq.next,
      nextMessageSeq: this.messageSeq.next,
      unsealedSamples: c.unsealedSamples,
      undeliveredBatches: c.undeliveredBatches,
      undeliveredSamples: c.undeliveredBatchSamples + c.unsealedSamples,
      undeliveredGaps: c.undeliveredGaps,
      undeliveredMessages: c.undeliveredMessages,
      deliveredBatches: c.deliveredBatches,
      ...(oldest.length ? { oldestUndeliveredTsMs: Math.min(...oldest) } : {}),
      bytes: this.b.bytes(),
      quotaBytes: this.o.quotaBytes,
      evictedSamples: Number(this.b.meta('evictedSamples') ?? 0),
      ...(this.alarm.fullSinceMs !== undefined ? { fullSinceMs: this.alarm.fullSinceMs } : {}),
      ...(this.writeFailure ? { writeFailure: this.writeFailure } : {}),
      heldDeclarations: this.held.length,
      ...this.extra,
    };
  }

  close(): void {
    this.b.close();
  }
}
