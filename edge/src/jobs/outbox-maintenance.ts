/**
 * The outbox maintenance job, on the agent's own connection to the store file: a WAL checkpoint (TRUNCATE: the -wal
 * file back to zero bytes) and the pruning of delivered batches and gaps sealed more than `keepDeliveredDays` ago.
 *
 * Pruning keeps `lightnode buffer verify` passing: verify checks seq continuity across every backlog row (delivered
 * ones count by their seq range), so only the oldest **contiguous prefix** of the backlog is pruned — rows in seq
 * order up to the first one that is undelivered or too young — and never the newest row (it carries the highest
 * seq: the next seq never depends on the high-water file alone). The first remaining row is the new start of the
 * continuous range; no hole opens in the middle.
 */
import type Database from 'better-sqlite3';
import type { JobOutcome } from './runner.js';

const DAY_MS = 86_400_000;

export interface OutboxMaintenanceReport {
  checkpoint: { busy: number; log: number; checkpointed: number };
  pruned: number;
  /** Highest seq pruned (the backlog now starts after it). */
  prunedThroughSeq?: number;
}

export function maintainOutbox(
  db: Database.Database,
  o: { keepDeliveredDays: number; nowMs: number },
): OutboxMaintenanceReport {
  const cutoff = o.nowMs - o.keepDeliveredDays * DAY_MS;
  const rows = db
    .prepare('SELECT id, last_seq, delivered, created_ms FROM items WHERE lane = 1 ORDER BY first_seq, id')
    .all() as { id: number; last_seq: number; delivered: number; created_ms: number }[];
  const prune: number[] = [];
  let through: number | undefined;
  for (const r of rows.slice(0, -1)) {
    if (!r.delivered || r.created_ms >= cutoff) break;
    prune.push(r.id);
    through = r.last_seq;
  }
  if (prune.length) {
    const del = db.prepare('DELETE FROM items WHERE id = ?');
    db.transaction(() => {
      for (const id of prune) del.run(id);
    })();
  }
  const [cp] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number; log: number; checkpointed: number }[];
  return {
    checkpoint: cp ?? { busy: 0, log: 0, checkpointed: 0 },
    pruned: prune.length,
    ...(through !== undefined ? { prunedThroughSeq: through } : {}),
  };
}

/** The job: `db` null (a store without an SQLite file, e.g. a test's fake) → nothing to do, result ok. */
export function outboxMaintenance(
  db: Database.Database | null,
  o: { keepDeliveredDays: number; nowMs: number },
): JobOutcome {
  if (!db) return { details: { skipped: 'the store has no SQLite file' } };
  return { details: { ...maintainOutbox(db, o) } };
}
