/**
 * The store's public types: what the agent loop, the shipper, the CLI and the tests depend on. Two implementations:
 * `SqliteStore` (the device: better-sqlite3, WAL, synchronous=FULL) and `FakeQueue` (memory, `@lightnode/edge/testing`);
 * one contract suite (`queueContract`) runs against both.
 *
 * Parts: a pure **batcher** (`batcher.ts`: windows → signed batches), a pure **quota planner** (`quota.ts`: items +
 * quota → evictions + gap declarations), and the **durable queue** of opaque signed items with the unsealed samples
 * (`sqlite-store.ts`). Two sequences that never meet (SPEC §2): the **sample seq** (`nextSeq`: 0, +1 per sample, never
 * reused, in batches and gaps) and the **message seq** (`nextMessageSeq()`: `Ack.seq`, `QosReport.seq`, report seq).
 */
import type {
  Quality,
  QuantityName,
  RawProvenance,
  Sample,
  SampleSource,
  SignedBatch,
  TopicPayloads,
} from '@lightnode/protocols';

/** Kinds of queued items, each a leaf of the topic map and encoded once by `topicCodecs[kind]`. */
export type QueueKind = 'batch' | 'gap' | 'ack' | 'qos' | 'report';
export const QUEUE_KINDS: readonly QueueKind[] = ['batch', 'gap', 'ack', 'qos', 'report'];
/** Kinds that carry a message seq (shipped before the backlog). */
export type MessageKind = 'ack' | 'qos' | 'report';
export const MESSAGE_KINDS: readonly MessageKind[] = ['ack', 'qos', 'report'];

/** One meter reading of a poll cycle, before it becomes a sample (a `Reading` of the sources fits). */
export interface CycleReading {
  tsMs: number;
  source: SampleSource;
  values: Partial<Record<QuantityName, { value?: number; quality: Quality }>>;
  raw?: RawProvenance[];
}

/** An undelivered item as the shipper publishes it: `link.publish(item.kind, item.payload)`. */
export interface QueueItem {
  /** Unique over all kinds; `markDelivered(id)` on the PUBACK. */
  id: number;
  kind: QueueKind;
  /** batch / gap: the sample seqs covered; ack / qos / report: firstSeq = lastSeq = the message seq. */
  firstSeq: number;
  lastSeq: number;
  /** `topicCodecs[kind].encode(payload)`, stored as is and published as is. */
  payload: Uint8Array;
  createdMs: number;
}

/** A gap declaration before it is signed. Energies in Wh over the gap, −1 when unknown. */
export interface GapDeclaration {
  firstSeq: number;
  lastSeq: number;
  /** `disk_quota`, `restored_backup`, `store_write_failed`. */
  reason: string;
  energyImportWh: number;
  energyExportWh: number;
  /** The first and last energy readings of the gap when known (merging two gaps keeps the energy between them). */
  energies?: { importWh?: [number, number]; exportWh?: [number, number] };
}

/** A batch sealed by the batcher, with its wire bytes (`topicCodecs.batch.encode`). */
export interface SealedBatch {
  batch: SignedBatch;
  wire: Uint8Array;
}

export interface StoreStats {
  /** The next sample seq to be allocated. */
  nextSeq: number;
  /** The next message seq (`nextMessageSeq()`). */
  nextMessageSeq: number;
  unsealedSamples: number;
  undeliveredBatches: number;
  /** Samples in undelivered batches plus unsealed samples. */
  undeliveredSamples: number;
  undeliveredGaps: number;
  /** Undelivered acks, QoS reports and reports. */
  undeliveredMessages: number;
  deliveredBatches: number;
  oldestUndeliveredTsMs?: number;
  /** Undelivered bytes: item payloads and unsealed samples (what the quota bounds). */
  bytes: number;
  quotaBytes: number;
  /** Samples evicted by the quota since the store was created. */
  evictedSamples: number;
  /** Set while the OUTBOX_FULL alarm stands (see edge/README.md § Store). */
  fullSinceMs?: number;
  /** The last store write that failed (OUTBOX_WRITE_FAILED), cleared by the next successful write. */
  writeFailure?: { sinceMs: number; message: string };
  /** Gap declarations waiting in memory for a successful write (they land with it). */
  heldDeclarations: number;
  /** Set when a corrupted database was moved aside at start. */
  recovered?: { movedTo: string; reason: string };
  /** Set when the file was a wave-1 outbox, migrated at open. */
  migrated?: { from: 'wave1'; batches: number; gaps: number; samples: number };
  /** Test failpoints the store was opened with (the FAILPOINTS_ACTIVE alarm; edge/README.md § Test knobs). */
  failpoints?: string[];
}

/**
 * The durable queue of opaque signed items. Delivery is at least once: an item stays pending until `markDelivered`,
 * across restarts; receivers deduplicate (batches and gaps on (deviceId, seq), messages on (deviceId, kind, seq)).
 */
export interface DurableQueue {
  /**
   * Undelivered items, at most `limit`, skipping the ids in `exclude` (in flight): acks, QoS reports and reports
   * first (in message seq order), then batches and gaps in sample seq order.
   */
  pending(limit: number, exclude?: ReadonlySet<number>): QueueItem[];
  /** The broker acknowledged it (PUBACK). Unknown or already delivered ids are ignored. */
  markDelivered(id: number): void;
  /** The message seq the next `enqueueMessage` will use (persisted; increases across kill -9 and restored backups). */
  nextMessageSeq(): number;
  /**
   * Allocates the next message seq, builds the payload with it, encodes it with `topicCodecs[kind]` and stores it —
   * seq and item committed in one transaction. A throwing `build` or a failed write (OUTBOX_WRITE_FAILED) uses no
   * seq and stores nothing.
   */
  enqueueMessage<K extends MessageKind>(kind: K, build: (seq: number) => TopicPayloads[K]): QueueItem;
}

/**
 * The whole store the agent loop uses: unsealed samples (one transaction per poll cycle), sealing (one transaction:
 * samples out, batch in), the queue, the quota.
 *
 * Write failures (disk full, I/O error) throw `LightNodeError('OUTBOX_WRITE_FAILED')` with the cause; the failed
 * write is rolled back, nothing accepted before is lost, and the store stays usable (the next write may succeed).
 */
export interface Store extends DurableQueue {
  /** The next sample seq to be allocated. */
  readonly nextSeq: number;
  /**
   * Commits one poll cycle's readings as samples with consecutive seqs, in one transaction; returns them. Atomic:
   * when it throws no seq is used, so the caller may keep the readings and pass them again.
   */
  commitCycle(readings: readonly CycleReading[]): Sample[];
  /**
   * Gives readings seqs without storing them (no database write; the seq high-water file may be advanced). The
   * caller must then either `commit` the samples or `declareLost` them, in seq order.
   */
  allocate(readings: readonly CycleReading[]): Sample[];
  /** Stores samples from `allocate` (the next ones in seq order) in one transaction. */
  commit(samples: readonly Sample[]): void;
  /**
   * Declares allocated samples that will never be stored (e.g. held in memory past the bound while writes fail) in
   * one signed gap (energies from the samples when known). The declaration is written at once when possible; when
   * that write fails too it is held in memory (adjacent ones merged) and written in the transaction of the next
   * successful write — so no seq is skipped without its declaration landing first. Never throws OUTBOX_WRITE_FAILED.
   */
  declareLost(samples: readonly Sample[], reason?: string): GapDeclaration;
  /**
   * Seals the unsealed samples whose window has ended (all of them with `force`) into signed batches, one
   * transaction per batch, then applies the quota. Returns the batches sealed.
   */
  sealDue(force?: boolean): SignedBatch[];
  stats(): StoreStats;
  close(): void;
}
