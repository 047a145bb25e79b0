/**
 * The SQLite rows of the store (layout 2). One file, three tables:
 * - `meta` (deviceId, schema, nextSeq, nextMessageSeq, evictedSamples);
 * - `samples`: unsealed samples (`encodeSample` bytes), deleted when sealed;
 * - `items`: the durable queue — one row per signed item, `payload` = `topicCodecs[kind].encode(...)`; `lane` 0 for
 *   messages (ack, qos, report: shipped first, by message seq), 1 for the backlog (batch, gap: by sample seq).
 *   A delivered batch or gap keeps its row (seq range, for `buffer verify`) without its payload; a delivered message
 *   row is deleted (its seq lives on in meta.nextMessageSeq).
 */
import type Database from 'better-sqlite3';
import { queueItem, type BackendCounts, type ItemRow, type SampleRow, type StoreBackend } from './backend.js';
import type { EnergySpan } from './batcher.js';
import type { QuotaBatch } from './quota.js';
import { MESSAGE_KINDS, type GapDeclaration, type QueueItem, type QueueKind } from './types.js';

export const SCHEMA_VERSION = 2;

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS samples (seq INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, bytes BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS items (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL CHECK (kind IN ('batch', 'gap', 'ack', 'qos', 'report')),
  lane INTEGER NOT NULL,
  first_seq INTEGER NOT NULL,
  last_seq INTEGER NOT NULL,
  payload BLOB NOT NULL,
  delivered INTEGER NOT NULL DEFAULT 0,
  created_ms INTEGER NOT NULL,
  first_ts_ms INTEGER,
  info TEXT);
CREATE INDEX IF NOT EXISTS items_pending ON items (delivered, lane, first_seq);
CREATE UNIQUE INDEX IF NOT EXISTS items_batch_seq ON items (first_seq) WHERE kind = 'batch';
`;

const laneOf = (k: QueueKind): number => ((MESSAGE_KINDS as readonly string[]).includes(k) ? 0 : 1);

interface ItemDbRow {
  id: number;
  kind: QueueKind;
  first_seq: number;
  last_seq: number;
  payload: Buffer;
  created_ms: number;
}
const toItem = (r: ItemDbRow): QueueItem => ({
  id: r.id,
  kind: r.kind,
  firstSeq: r.first_seq,
  lastSeq: r.last_seq,
  payload: r.payload,
  createdMs: r.created_ms,
});

/** The `info` column: a batch's energies, a gap's declaration. */
export function itemInfo(row: Pick<ItemRow, 'energies' | 'decl'>): string | null {
  if (row.decl) return JSON.stringify({ decl: row.decl });
  if (row.energies) return JSON.stringify({ energies: row.energies });
  return null;
}

export class SqliteBackend implements StoreBackend {
  private readonly s;

  constructor(
    readonly db: Database.Database,
    readonly path: string,
  ) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      meta: p('SELECT value FROM meta WHERE key = ?'),
      setMeta: p('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      insSample: p('INSERT INTO samples (seq, ts_ms, bytes) VALUES (?, ?, ?)'),
      unsealed: p('SELECT seq, ts_ms tsMs FROM samples ORDER BY seq'),
      sampleBytes: p('SELECT bytes FROM samples WHERE seq BETWEEN ? AND ? ORDER BY seq').pluck(),
      delSamples: p('DELETE FROM samples WHERE seq BETWEEN ? AND ?'),
      insItem: p(
        'INSERT INTO items (kind, lane, first_seq, last_seq, payload, created_ms, first_ts_ms, info) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      delItem: p('DELETE FROM items WHERE id = ?'),
      deliverMsg: p('DELETE FROM items WHERE id = ? AND lane = 0 AND delivered = 0'),
      deliver: p("UPDATE items SET delivered = 1, payload = X'' WHERE id = ? AND lane = 1 AND delivered = 0"),
      pending: p(
        'SELECT id, kind, first_seq, last_seq, payload, created_ms FROM items WHERE delivered = 0 AND lane = ? ORDER BY first_seq, id LIMIT ?',
      ),
      batches: p(
        "SELECT id, first_seq, last_seq, LENGTH(payload) n, info FROM items WHERE delivered = 0 AND kind = 'batch' ORDER BY first_seq",
      ),
      gaps: p("SELECT id, info FROM items WHERE delivered = 0 AND kind = 'gap'"),
      bytes: p(
        'SELECT (SELECT COALESCE(SUM(LENGTH(bytes)), 0) FROM samples) + (SELECT COALESCE(SUM(LENGTH(payload)), 0) FROM items WHERE delivered = 0)',
      ).pluck(),
      maxSample: p(
        'SELECT MAX(COALESCE((SELECT MAX(seq) FROM samples), -1), COALESCE((SELECT MAX(last_seq) FROM items WHERE lane = 1), -1))',
      ).pluck(),
      maxMessage: p('SELECT COALESCE(MAX(last_seq), -1) FROM items WHERE lane = 0').pluck(),
      counts: p(`SELECT
          (SELECT COUNT(*) FROM samples) unsealed, (SELECT MIN(ts_ms) FROM samples) unsealedTs,
          COUNT(*) FILTER (WHERE delivered = 0 AND kind = 'batch') batches,
          COALESCE(SUM(last_seq - first_seq + 1) FILTER (WHERE delivered = 0 AND kind = 'batch'), 0) batchSamples,
          MIN(first_ts_ms) FILTER (WHERE delivered = 0 AND kind = 'batch') batchTs,
          COUNT(*) FILTER (WHERE delivered = 0 AND kind = 'gap') gaps,
          COUNT(*) FILTER (WHERE delivered = 0 AND lane = 0) messages,
          COUNT(*) FILTER (WHERE delivered = 1 AND kind = 'batch') delivered
        FROM items`),
    };
  }

  transaction<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn)();
    } catch (e) {
      // a failed COMMIT (disk full) may leave the transaction open: roll it back, the store stays usable
      if (this.db.inTransaction)
        try {
          this.db.exec('ROLLBACK');
        } catch {
          /* already rolled back by SQLite */
        }
      throw e;
    }
  }
  meta(key: string): string | undefined {
    return (this.s.meta.get(key) as { value: string } | undefined)?.value;
  }
  setMeta(key: string, value: string): void {
    this.s.setMeta.run(key, value);
  }
  insertSamples(rows: readonly SampleRow[]): void {
    for (const r of rows) this.s.insSample.run(r.seq, r.tsMs, r.bytes);
  }
  unsealed(): { seq: number; tsMs: number }[] {
    return this.s.unsealed.all() as { seq: number; tsMs: number }[];
  }
  sampleBytes(firstSeq: number, lastSeq: number): Uint8Array[] {
    return this.s.sampleBytes.all(firstSeq, lastSeq) as Buffer[];
  }
  deleteSamples(firstSeq: number, lastSeq: number): void {
    this.s.delSamples.run(firstSeq, lastSeq);
  }
  insertItem(row: ItemRow): QueueItem {
    const r = this.s.insItem.run(
      row.kind,
      laneOf(row.kind),
      row.firstSeq,
      row.lastSeq,
      row.payload,
      row.createdMs,
      row.firstTsMs ?? null,
      itemInfo(row),
    );
    return queueItem(Number(r.lastInsertRowid), row);
  }
  deleteItem(id: number): void {
    this.s.delItem.run(id);
  }
  markDelivered(id: number): boolean {
    return this.s.deliverMsg.run(id).changes + this.s.deliver.run(id).changes > 0;
  }
  pending(limit: number, exclude: ReadonlySet<number>): QueueItem[] {
    const out: QueueItem[] = [];
    for (const lane of [0, 1]) {
      if (out.length >= limit) break;
      const rows = this.s.pending.all(lane, limit - out.length + exclude.size) as ItemDbRow[];
      for (const r of rows) if (!exclude.has(r.id) && out.length < limit) out.push(toItem(r));
    }
    return out;
  }
  undeliveredBatches(): QuotaBatch[] {
    return (
      this.s.batches.all() as { id: number; first_seq: number; last_seq: number; n: number; info: string | null }[]
    ).map((r) => ({
      id: r.id,
      firstSeq: r.first_seq,
      lastSeq: r.last_seq,
      bytes: r.n,
      energies: r.info ? ((JSON.parse(r.info) as { energies?: EnergySpan }).energies ?? {}) : {},
    }));
  }
  undeliveredGaps(): { id: number; decl: GapDeclaration }[] {
    return (this.s.gaps.all() as { id: number; info: string | null }[]).flatMap((r) => {
      const decl = r.info ? (JSON.parse(r.info) as { decl?: GapDeclaration }).decl : undefined;
      return decl ? [{ id: r.id, decl }] : [];
    });
  }
  bytes(): number {
    return this.s.bytes.get() as number;
  }
  maxSampleSeq(): number {
    return this.s.maxSample.get() as number;
  }
  maxMessageSeq(): number {
    return this.s.maxMessage.get() as number;
  }
  counts(): BackendCounts {
    const c = this.s.counts.get() as Record<string, number | null>;
    return {
      unsealedSamples: c.unsealed ?? 0,
      ...(c.unsealedTs != null ? { oldestUnsealedTsMs: c.unsealedTs } : {}),
      undeliveredBatches: c.batches ?? 0,
      undeliveredBatchSamples: c.batchSamples ?? 0,
      ...(c.batchTs != null ? { oldestBatchTsMs: c.batchTs } : {}),
      undeliveredGaps: c.gaps ?? 0,
      undeliveredMessages: c.messages ?? 0,
      deliveredBatches: c.delivered ?? 0,
    };
  }
  close(): void {
    if (this.db.open) this.db.close();
  }
}
