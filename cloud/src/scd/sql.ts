/**
 * One small SQL surface over the two stores: SQLite (better-sqlite3, the embedded default) and PostgreSQL (pg, the
 * production store). Statements are written once with `?` placeholders in portable SQL (ON CONFLICT, window
 * functions); the PostgreSQL adapter numbers them. Transactions are serialised per adapter.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { LightNodeError } from '@lightnode/protocols';

export interface SqlDb {
  readonly kind: 'sqlite' | 'postgres';
  readonly location: string;
  exec(sql: string): Promise<void>;
  all<T>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Returns the number of rows changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
  /** Runs `fn` in one transaction (committed when it resolves, rolled back when it throws). */
  tx<T>(fn: (db: SqlDb) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

function storeError(e: unknown, where: string): LightNodeError {
  if (e instanceof LightNodeError) return e;
  return new LightNodeError('IO_ERROR', `${where}: ${(e as Error).message}`, {}, { cause: e });
}

/** Serialises async critical sections. */
export class Mutex {
  private last: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.last.then(fn, fn);
    this.last = p.catch(() => undefined);
    return p;
  }
}

export function openSqlite(path: string, opts: { synchronous?: 'FULL' | 'NORMAL' } = {}): SqlDb {
  let db: Database.Database;
  try {
    db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${opts.synchronous ?? 'NORMAL'}`);
    db.pragma('busy_timeout = 5000');
  } catch (e) {
    throw storeError(e, `SCD SQLite ${path}`);
  }
  const cache = new Map<string, Database.Statement>();
  const prep = (sql: string): Database.Statement => {
    let s = cache.get(sql);
    if (!s) cache.set(sql, (s = db.prepare(sql)));
    return s;
  };
  const mutex = new Mutex();
  const norm = (params: readonly unknown[]): unknown[] => params.map((p) => (typeof p === 'boolean' ? Number(p) : p));
  const self: SqlDb = {
    kind: 'sqlite',
    location: path,
    exec: (sql) => {
      try {
        db.exec(sql);
        return Promise.resolve();
      } catch (e) {
        return Promise.reject(storeError(e, 'SQLite'));
      }
    },
    all: <T>(sql: string, params: readonly unknown[] = []) => {
      try {
        return Promise.resolve(prep(sql).all(...norm(params)) as T[]);
      } catch (e) {
        return Promise.reject(storeError(e, 'SQLite'));
      }
    },
    run: (sql, params = []) => {
      try {
        return Promise.resolve(prep(sql).run(...norm(params)).changes);
      } catch (e) {
        return Promise.reject(storeError(e, 'SQLite'));
      }
    },
    tx: (fn) =>
      mutex.run(async () => {
        db.exec('BEGIN IMMEDIATE');
        try {
          const r = await fn(self);
          db.exec('COMMIT');
          return r;
        } catch (e) {
          if (db.inTransaction) db.exec('ROLLBACK');
          throw e;
        }
      }),
    close: () => {
      if (db.open) db.close();
      return Promise.resolve();
    },
  };
  return self;
}

/** `?` → `$1, $2, …` (our statements never carry a literal question mark). */
export function numberPlaceholders(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

const BIGINT_OID = 20;
const NUMERIC_OID = 1700;

export async function openPostgres(url: string): Promise<SqlDb> {
  const types = {
    getTypeParser: (oid: number, format?: 'text' | 'binary') =>
      oid === BIGINT_OID || oid === NUMERIC_OID
        ? (v: string) => Number(v)
        : (pg.types.getTypeParser as (o: number, f?: string) => (v: string) => unknown)(oid, format),
  };
  const pool = new pg.Pool({ connectionString: url, max: 4, types: types });
  pool.on('error', () => undefined); // an idle client's error is reported by the next query
  try {
    const c = await pool.connect();
    c.release();
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw new LightNodeError(
      'IO_ERROR',
      `SCD PostgreSQL ${redact(url)}: cannot connect (${(e as Error).message})`,
      { url: redact(url) },
      { cause: e },
    );
  }
  const wrap = (q: pg.Pool | pg.PoolClient, mutex: Mutex | undefined): SqlDb => {
    const self: SqlDb = {
      kind: 'postgres',
      location: redact(url),
      exec: async (sql) => {
        try {
          await q.query(sql);
        } catch (e) {
          throw storeError(e, 'PostgreSQL');
        }
      },
      all: async <T>(sql: string, params: readonly unknown[] = []) => {
        try {
          return (await q.query(numberPlaceholders(sql), params as unknown[])).rows as T[];
        } catch (e) {
          throw storeError(e, 'PostgreSQL');
        }
      },
      run: async (sql, params = []) => {
        try {
          return (await q.query(numberPlaceholders(sql), params as unknown[])).rowCount ?? 0;
        } catch (e) {
          throw storeError(e, 'PostgreSQL');
        }
      },
      tx: async (fn) => {
        if (!mutex) return fn(self); // already inside a transaction
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          const r = await fn(wrap(client, undefined));
          await client.query('COMMIT');
          return r;
        } catch (e) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw e;
        } finally {
          client.release();
        }
      },
      close: () => pool.end(),
    };
    return self;
  };
  return wrap(pool, new Mutex());
}

export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

/** `sqlite:PATH`, a bare path, or `postgres://…` / `postgresql://…`. */
export async function openStore(spec: string): Promise<SqlDb> {
  if (/^postgres(ql)?:\/\//.test(spec)) return openPostgres(spec);
  return openSqlite(spec.replace(/^sqlite:/, ''));
}
