/**
 * `FakeQueue`: the store in memory, with the same rules as `SqliteStore` (it runs the same core over a memory
 * backend) and the same contract (`queueContract`). Its `FakeDisk` outlives a FakeQueue, so a test can reopen it
 * (restart) or drop it unclosed (kill -9); `disk.full = true` makes every write fail as a full disk does
 * (OUTBOX_WRITE_FAILED), until it is set back.
 */
import { FakeClock, testDomain, testSigner } from '@lightnode/protocols/testing';
import { silentLogger, type Clock, type Eip712Domain, type Logger, type Signer } from '@lightnode/protocols';
import {
  queueItem,
  type BackendCounts,
  type HighWaterMark,
  type ItemRow,
  type SampleRow,
  type SeqReservation,
  type StoreBackend,
} from '../store/backend.js';
import { MESSAGE_KINDS, type GapDeclaration, type QueueItem } from '../store/types.js';
import type { QuotaBatch } from '../store/quota.js';
import { StoreCore } from '../store/store-core.js';

interface FakeItem extends ItemRow {
  id: number;
  delivered: boolean;
}

/** What a FakeQueue keeps "on disk": survives reopen and an unclosed drop. */
export class FakeDisk {
  meta = new Map<string, string>();
  samples = new Map<number, SampleRow>();
  items = new Map<number, FakeItem>();
  nextId = 1;
  marks: { samples: SeqReservation | null; messages: SeqReservation | null } = { samples: null, messages: null };
  /** While true every write fails as on a full disk (SQLITE_FULL / ENOSPC). */
  full = false;
  /** Writes attempted while `full`. */
  failedWrites = 0;

  fail(code: 'SQLITE_FULL' | 'ENOSPC'): never {
    this.failedWrites++;
    throw Object.assign(new Error(code === 'ENOSPC' ? 'no space left on device' : 'database or disk is full'), {
      code,
    });
  }
}

const isMessage = (k: string): boolean => (MESSAGE_KINDS as readonly string[]).includes(k);
const bySeq = (a: { firstSeq: number }, b: { firstSeq: number }): number => a.firstSeq - b.firstSeq;

class MemoryBackend implements StoreBackend {
  readonly path = 'memory';
  constructor(private readonly d: FakeDisk) {}

  transaction<T>(fn: () => T): T {
    if (this.d.full) this.d.fail('SQLITE_FULL');
    const saved = {
      meta: new Map(this.d.meta),
      samples: new Map(this.d.samples),
      items: new Map(this.d.items),
      nextId: this.d.nextId,
    };
    try {
      return fn();
    } catch (e) {
      Object.assign(this.d, saved);
      throw e;
    }
  }
  meta(key: string): string | undefined {
    return this.d.meta.get(key);
  }
  setMeta(key: string, value: string): void {
    this.d.meta.set(key, value);
  }
  insertSamples(rows: readonly SampleRow[]): void {
    for (const r of rows) {
      if (this.d.samples.has(r.seq)) throw new Error(`UNIQUE constraint failed: samples.seq ${r.seq}`);
      this.d.samples.set(r.seq, { ...r, bytes: Uint8Array.from(r.bytes) });
    }
  }
  private sortedSamples(): SampleRow[] {
    return [...this.d.samples.values()].sort((a, b) => a.seq - b.seq);
  }
  unsealed(): { seq: number; tsMs: number }[] {
    return this.sortedSamples().map((s) => ({ seq: s.seq, tsMs: s.tsMs }));
  }
  sampleBytes(firstSeq: number, lastSeq: number): Uint8Array[] {
    return this.sortedSamples()
      .filter((s) => s.seq >= firstSeq && s.seq <= lastSeq)
      .map((s) => s.bytes);
  }
  deleteSamples(firstSeq: number, lastSeq: number): void {
    for (const seq of [...this.d.samples.keys()]) if (seq >= firstSeq && seq <= lastSeq) this.d.samples.delete(seq);
  }
  insertItem(row: ItemRow): QueueItem {
    const id = this.d.nextId++;
    this.d.items.set(id, { ...row, payload: Uint8Array.from(row.payload), id, delivered: false });
    return queueItem(id, row);
  }
  deleteItem(id: number): void {
    this.d.items.delete(id);
  }
  markDelivered(id: number): boolean {
    const it = this.d.items.get(id);
    if (!it || it.delivered) return false;
    if (isMessage(it.kind)) this.d.items.delete(id);
    else this.d.items.set(id, { ...it, delivered: true, payload: new Uint8Array(0) });
    return true;
  }
  private undelivered(): FakeItem[] {
    return [...this.d.items.values()].filter((i) => !i.delivered);
  }
  pending(limit: number, exclude: ReadonlySet<number>): QueueItem[] {
    const open = this.undelivered().filter((i) => !exclude.has(i.id));
    return [...open.filter((i) => isMessage(i.kind)).sort(bySeq), ...open.filter((i) => !isMessage(i.kind)).sort(bySeq)]
      .slice(0, limit)
      .map((i) => queueItem(i.id, i));
  }
  undeliveredBatches(): QuotaBatch[] {
    return this.undelivered()
      .filter((i) => i.kind === 'batch')
      .sort(bySeq)
      .map((i) => ({
        id: i.id,
        firstSeq: i.firstSeq,
        lastSeq: i.lastSeq,
        bytes: i.payload.length,
        energies: i.energies ?? {},
      }));
  }
  undeliveredGaps(): { id: number; decl: GapDeclaration }[] {
    return this.undelivered()
      .filter((i) => i.kind === 'gap' && i.decl)
      .map((i) => ({ id: i.id, decl: i.decl! }));
  }
  bytes(): number {
    let n = 0;
    for (const s of this.d.samples.values()) n += s.bytes.length;
    for (const i of this.undelivered()) n += i.payload.length;
    return n;
  }
  maxSampleSeq(): number {
    const seqs = [
      ...this.d.samples.keys(),
      ...[...this.d.items.values()].filter((i) => !isMessage(i.kind)).map((i) => i.lastSeq),
    ];
    return seqs.length ? Math.max(...seqs) : -1;
  }
  maxMessageSeq(): number {
    const seqs = [...this.d.items.values()].filter((i) => isMessage(i.kind)).map((i) => i.lastSeq);
    return seqs.length ? Math.max(...seqs) : -1;
  }
  counts(): BackendCounts {
    const und = this.undelivered();
    const batches = und.filter((i) => i.kind === 'batch');
    const min = (xs: number[]): number | undefined => (xs.length ? Math.min(...xs) : undefined);
    const oldestUnsealedTsMs = min([...this.d.samples.values()].map((s) => s.tsMs));
    const oldestBatchTsMs = min(batches.map((b) => b.firstTsMs ?? Infinity));
    return {
      unsealedSamples: this.d.samples.size,
      ...(oldestUnsealedTsMs !== undefined ? { oldestUnsealedTsMs } : {}),
      undeliveredBatches: batches.length,
      undeliveredBatchSamples: batches.reduce((a, b) => a + b.lastSeq - b.firstSeq + 1, 0),
      ...(oldestBatchTsMs !== undefined ? { oldestBatchTsMs } : {}),
      undeliveredGaps: und.filter((i) => i.kind === 'gap').length,
      undeliveredMessages: und.filter((i) => isMessage(i.kind)).length,
      deliveredBatches: [...this.d.items.values()].filter((i) => i.kind === 'batch' && i.delivered).length,
    };
  }
  close(): void {}
}

function memoryMark(d: FakeDisk, which: 'samples' | 'messages'): HighWaterMark {
  return {
    read: () => d.marks[which],
    write: (r) => {
      if (d.full) d.fail('ENOSPC');
      d.marks[which] = { ...r };
    },
  };
}

export interface FakeQueueOptions {
  /** Default: a fresh FakeDisk. Pass the same one to reopen. */
  disk?: FakeDisk;
  clock?: Clock;
  signer?: Signer;
  domain?: Eip712Domain;
  podId?: string;
  /** Default 10 MB. */
  quotaBytes?: number;
  windowMs?: number;
  seqBlock?: number;
  logger?: Logger;
}

export class FakeQueue extends StoreCore {
  readonly disk: FakeDisk;
  readonly clock: Clock;

  private constructor(disk: FakeDisk, clock: Clock, o: FakeQueueOptions) {
    super(
      new MemoryBackend(disk),
      { samples: memoryMark(disk, 'samples'), messages: memoryMark(disk, 'messages') },
      {
        signer: o.signer ?? testSigner(),
        domain: o.domain ?? testDomain(),
        podId: o.podId ?? 'IT002E61899978',
        clock,
        quotaBytes: o.quotaBytes ?? 10_000_000,
        logger: o.logger ?? silentLogger,
        ...(o.windowMs !== undefined ? { windowMs: o.windowMs } : {}),
        ...(o.seqBlock !== undefined ? { seqBlock: o.seqBlock } : {}),
      },
    );
    this.disk = disk;
    this.clock = clock;
  }

  static open(o: FakeQueueOptions = {}): FakeQueue {
    return new FakeQueue(o.disk ?? new FakeDisk(), o.clock ?? new FakeClock(Date.UTC(2024, 0, 10, 9)), o);
  }
}
