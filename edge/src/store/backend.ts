/**
 * What the store core needs from its storage: SQLite on the device (`sqlite-backend.ts`), memory in `FakeQueue`.
 * Synchronous; `transaction(fn)` is atomic (rolled back when `fn` throws, the error rethrown as is). The core maps
 * write failures to OUTBOX_WRITE_FAILED and owns every rule (seqs, windows, quota); a backend only stores rows.
 */
import type { EnergySpan } from './batcher.js';
import type { QuotaBatch } from './quota.js';
import type { GapDeclaration, QueueItem, QueueKind } from './types.js';

export interface SampleRow {
  seq: number;
  tsMs: number;
  /** `encodeSample(sample)`. */
  bytes: Uint8Array;
}

export interface ItemRow {
  kind: QueueKind;
  firstSeq: number;
  lastSeq: number;
  payload: Uint8Array;
  createdMs: number;
  /** batch: its first sample's tsMs and energies (quota gaps need them without decoding). */
  firstTsMs?: number;
  energies?: EnergySpan;
  /** gap: the declaration. */
  decl?: GapDeclaration;
}

/** The queue item view of a stored row. */
export function queueItem(id: number, row: Omit<ItemRow, 'energies' | 'decl' | 'firstTsMs'>): QueueItem {
  return {
    id,
    kind: row.kind,
    firstSeq: row.firstSeq,
    lastSeq: row.lastSeq,
    payload: row.payload,
    createdMs: row.createdMs,
  };
}

export interface BackendCounts {
  unsealedSamples: number;
  oldestUnsealedTsMs?: number;
  undeliveredBatches: number;
  undeliveredBatchSamples: number;
  oldestBatchTsMs?: number;
  undeliveredGaps: number;
  undeliveredMessages: number;
  deliveredBatches: number;
}

/** The seq high-water mark kept outside the database (see seq-file.ts). */
export interface SeqReservation {
  deviceId: string;
  from: number;
  upTo: number;
}
export interface HighWaterMark {
  read(): SeqReservation | null;
  write(r: SeqReservation): void;
}

export interface StoreBackend {
  /** Where it lives (named in errors). */
  readonly path: string;
  transaction<T>(fn: () => T): T;
  meta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
  insertSamples(rows: readonly SampleRow[]): void;
  /** Unsealed samples' seq and tsMs, in seq order. */
  unsealed(): { seq: number; tsMs: number }[];
  /** Encoded unsealed samples firstSeq..lastSeq, in seq order. */
  sampleBytes(firstSeq: number, lastSeq: number): Uint8Array[];
  deleteSamples(firstSeq: number, lastSeq: number): void;
  insertItem(row: ItemRow): QueueItem;
  deleteItem(id: number): void;
  /** Marks an undelivered item delivered (a batch keeps its seq range, its bytes go); false when unknown. */
  markDelivered(id: number): boolean;
  /** Messages (ack, qos, report) by message seq, then batches and gaps by first seq; undelivered only. */
  pending(limit: number, exclude: ReadonlySet<number>): QueueItem[];
  undeliveredBatches(): QuotaBatch[];
  undeliveredGaps(): { id: number; decl: GapDeclaration }[];
  /** Undelivered payload bytes plus unsealed sample bytes. */
  bytes(): number;
  /** The highest sample seq stored (samples, batches, gaps), −1 when none. */
  maxSampleSeq(): number;
  /** The highest message seq stored, −1 when none. */
  maxMessageSeq(): number;
  counts(): BackendCounts;
  close(): void;
}
