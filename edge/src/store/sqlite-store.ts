/**
 * The device's store: one SQLite file (better-sqlite3, WAL, synchronous=FULL) plus two high-water files beside it
 * (`seq.hwm` for the sample seq, `message-seq.hwm` for the message seq).
 *
 * Write policy (an SD card must survive years): **one transaction per poll cycle** for all meters' samples,
 * committed before the cycle counts as read; sealing a window = one transaction (samples out, batch in); a PUBACK =
 * one small transaction; an enqueued ack / QoS report / report = one transaction with its message seq. Nothing else
 * writes. A write that fails for lack of space or an I/O error throws OUTBOX_WRITE_FAILED and is rolled back.
 */
import Database from 'better-sqlite3';
import { existsSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LightNodeError, silentLogger, type Failpoint } from '@lightnode/protocols';
import { failpointBackend } from './failpoints.js';
import { detectLayout, ensureLayout, notAnOutbox } from './migrate.js';
import { fileHighWater } from './seq-file.js';
import { SqliteBackend } from './sqlite-backend.js';
import { StoreCore, type StoreOptions } from './store-core.js';
import type { StoreStats } from './types.js';
import { asWriteFailure } from './write-failure.js';

type Extra = Pick<StoreStats, 'recovered' | 'migrated' | 'failpoints'>;

export interface SqliteStoreOptions extends StoreOptions {
  /** The database file. */
  path: string;
  /** The sample seq high-water file (outside the database). */
  seqFile: string;
  /** The message seq high-water file (default: `message-seq.hwm` beside `seqFile`). */
  messageSeqFile?: string;
  /** Test failpoints (`LIGHTNODE_FAILPOINTS`, edge/README.md § Test knobs; never in production). Default none. */
  failpoints?: readonly Failpoint[];
}

/** Opens the file and checks it (quick_check); WAL and synchronous=FULL are set once it is known to be ours. */
function openDb(path: string): Database.Database {
  const db = new Database(path);
  try {
    const check = db.pragma('quick_check', { simple: true }) as string;
    if (check !== 'ok') throw new Error(`quick_check: ${check}`);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

export class SqliteStore extends StoreCore {
  readonly db: Database.Database;

  private constructor(o: SqliteStoreOptions, db: Database.Database, extra: Extra) {
    const fp = o.failpoints ?? [];
    const log = o.logger ?? silentLogger;
    const backend = failpointBackend(fp, db, o.path, { clock: o.clock, logger: log }) ?? new SqliteBackend(db, o.path);
    super(
      backend,
      {
        samples: fileHighWater(o.seqFile),
        messages: fileHighWater(o.messageSeqFile ?? join(dirname(o.seqFile), 'message-seq.hwm')),
      },
      o,
    );
    this.db = db;
    this.extra = fp.length ? { ...extra, failpoints: [...fp] } : extra;
    if (fp.length)
      this.log.warn('FAILPOINTS_ACTIVE: test failpoints set (LIGHTNODE_FAILPOINTS): never use in production', {
        failpoints: fp,
      });
    if (extra.migrated) this.log.info('wave-1 outbox migrated to the new layout', { ...extra.migrated });
  }

  /**
   * Opens (or creates) the store; a wave-1 outbox is migrated. A file that is not a healthy SQLite database is moved
   * aside (`<path>.corrupt-<ms>`), reported in `stats().recovered`, and a fresh store opened — never silently lost.
   * An SQLite database of another schema is refused (OUTBOX_CORRUPT naming it) and left untouched.
   */
  static open(o: SqliteStoreOptions): SqliteStore {
    const prepare = (db: Database.Database, extra: Extra): SqliteStore => {
      try {
        if (detectLayout(db) === 'foreign') throw notAnOutbox(o.path, 'an SQLite database of another schema');
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = FULL');
        const { migrated } = ensureLayout(db, o.path);
        return new SqliteStore(o, db, { ...extra, ...(migrated ? { migrated } : {}) });
      } catch (e) {
        db.close();
        throw asWriteFailure(e, 'open', o.path);
      }
    };
    let db: Database.Database;
    try {
      db = openDb(o.path);
    } catch (e) {
      const failed = asWriteFailure(e, 'open', o.path);
      if (failed !== e) throw failed;
      if (!existsSync(o.path))
        throw new LightNodeError(
          'IO_ERROR',
          `outbox ${o.path}: cannot create (${(e as Error).message})`,
          { path: o.path },
          { cause: e },
        );
      const movedTo = `${o.path}.corrupt-${o.clock.now()}`;
      renameSync(o.path, movedTo);
      for (const ext of ['-wal', '-shm']) if (existsSync(o.path + ext)) renameSync(o.path + ext, movedTo + ext);
      const reason = (e as Error).message;
      (o.logger ?? silentLogger).error('outbox database is corrupt: moved aside, opening a fresh one', {
        path: o.path,
        movedTo,
        reason,
      });
      return prepare(openDb(o.path), { recovered: { movedTo, reason } });
    }
    return prepare(db, {});
  }
}
