/**
 * Test failpoints of the store (`LIGHTNODE_FAILPOINTS`, edge/README.md § Test knobs): deliberate bugs that the
 * hardware-in-the-loop bench must catch. Never for production. The default path does not go through this file.
 */
import type Database from 'better-sqlite3';
import type { Clock, Failpoint, Logger } from '@lightnode/protocols';
import { SqliteBackend } from './sqlite-backend.js';

/** How late `outbox.ackBeforeCommit` writes reach the database file. */
export const ACK_BEFORE_COMMIT_DELAY_MS = 2000;

/**
 * `outbox.ackBeforeCommit`: every store write (a poll cycle's commit, a seal, a delivery mark) returns at once as if
 * committed — the seq advanced, its rows visible to this connection, so samples are sealed and shipped — but runs
 * inside one held SQLite transaction that is committed only `delayMs` after its first write, in the background. A
 * kill -9 in between loses those writes from the file while the high-water marks (fsync'd files) and the broker saw
 * them: after the restart seqs are reused (conflicts) or committed samples never arrive (losses).
 * Each write is a savepoint inside the held transaction, so a failing write still rolls back alone.
 */
export class AckBeforeCommitBackend extends SqliteBackend {
  private cancelFlush: (() => void) | null = null;

  constructor(
    db: Database.Database,
    path: string,
    private readonly clock: Clock,
    private readonly log: Logger,
    readonly delayMs = ACK_BEFORE_COMMIT_DELAY_MS,
  ) {
    super(db, path);
  }

  override transaction<T>(fn: () => T): T {
    if (!this.db.inTransaction) {
      this.db.exec('BEGIN');
      this.cancelFlush = this.clock.setTimer(this.delayMs, () => this.flush());
    }
    return this.db.transaction(fn)(); // a savepoint: the held transaction stays open
  }

  /** Commits the held transaction now (the background timer, and `close`). */
  flush(): void {
    this.cancelFlush?.();
    this.cancelFlush = null;
    if (!this.db.open || !this.db.inTransaction) return;
    try {
      this.db.exec('COMMIT');
    } catch (e) {
      this.log.error('failpoint outbox.ackBeforeCommit: the delayed commit failed, its writes are lost', {
        error: (e as Error).message,
      });
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
    }
  }

  override close(): void {
    this.flush();
    super.close();
  }
}

/** The store's backend for the failpoints set (only `outbox.ackBeforeCommit` changes it). */
export function failpointBackend(
  failpoints: readonly Failpoint[],
  db: Database.Database,
  path: string,
  o: { clock: Clock; logger: Logger },
): SqliteBackend | null {
  return failpoints.includes('outbox.ackBeforeCommit') ? new AckBeforeCommitBackend(db, path, o.clock, o.logger) : null;
}
