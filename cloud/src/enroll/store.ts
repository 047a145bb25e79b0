/**
 * Enrollment tokens, in the SCD's SQL store (SQLite or PostgreSQL, the same SQL). A token is kept only as its
 * `tokenHash` (keccak256 of its UTF-8, what the device signs), never in clear. A token's life: issued → (failed
 * attempts; the fifth revokes it) → registered on chain (device and transaction recorded, not yet consumed: a retry
 * after a failed SCD binding reuses the registration) → used (consumed by the first success). It expires at
 * `expiresAtMs` unless used before.
 */
import type { SqlDb } from '../scd/sql.js';

export const ENROLL_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS enroll_tokens (
    token_hash TEXT PRIMARY KEY, serial TEXT NOT NULL, pod_id TEXT NOT NULL, installer TEXT NOT NULL,
    aggregator TEXT NOT NULL, created_ms BIGINT NOT NULL, expires_ms BIGINT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0, revoked_ms BIGINT, device_id TEXT, tx_hash TEXT, used_ms BIGINT)`,
];

export interface EnrollTokenRow {
  /** 0x keccak256 of the token's UTF-8 (lowercase). */
  tokenHash: string;
  serial: string;
  podId: string;
  /** The installer platform that issued it, and its aggregator. */
  installer: string;
  aggregator: string;
  createdMs: number;
  expiresAtMs: number;
  /** Refused attempts so far. */
  failures: number;
  revokedMs?: number;
  /** Set once the device key is registered on chain with this token. */
  deviceId?: string;
  txHash?: string;
  usedMs?: number;
}

interface EnrollTokenDb {
  token_hash: string;
  serial: string;
  pod_id: string;
  installer: string;
  aggregator: string;
  created_ms: number;
  expires_ms: number;
  failures: number;
  revoked_ms: number | null;
  device_id: string | null;
  tx_hash: string | null;
  used_ms: number | null;
}

const fromDb = (r: EnrollTokenDb): EnrollTokenRow => ({
  tokenHash: r.token_hash,
  serial: r.serial,
  podId: r.pod_id,
  installer: r.installer,
  aggregator: r.aggregator,
  createdMs: Number(r.created_ms),
  expiresAtMs: Number(r.expires_ms),
  failures: Number(r.failures),
  ...(r.revoked_ms !== null ? { revokedMs: Number(r.revoked_ms) } : {}),
  ...(r.device_id !== null ? { deviceId: r.device_id } : {}),
  ...(r.tx_hash !== null ? { txHash: r.tx_hash } : {}),
  ...(r.used_ms !== null ? { usedMs: Number(r.used_ms) } : {}),
});

export class EnrollStore {
  constructor(readonly db: SqlDb) {}

  async init(): Promise<void> {
    for (const s of ENROLL_SCHEMA) await this.db.exec(s);
  }

  async insert(
    t: Pick<
      EnrollTokenRow,
      'tokenHash' | 'serial' | 'podId' | 'installer' | 'aggregator' | 'createdMs' | 'expiresAtMs'
    >,
  ): Promise<void> {
    await this.db.run(
      `INSERT INTO enroll_tokens (token_hash, serial, pod_id, installer, aggregator, created_ms, expires_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
      [t.tokenHash.toLowerCase(), t.serial, t.podId, t.installer, t.aggregator, t.createdMs, t.expiresAtMs],
    );
  }

  async get(tokenHash: string): Promise<EnrollTokenRow | undefined> {
    const r = await this.db.all<EnrollTokenDb>('SELECT * FROM enroll_tokens WHERE token_hash = ?', [
      tokenHash.toLowerCase(),
    ]);
    return r[0] && fromDb(r[0]);
  }

  /** Counts a refused attempt on a live token; the `maxFailures`-th revokes it. Returns the new count. */
  async fail(tokenHash: string, nowMs: number, maxFailures: number): Promise<{ failures: number; revoked: boolean }> {
    return this.db.tx(async (db) => {
      await db.run(
        `UPDATE enroll_tokens SET failures = failures + 1,
         revoked_ms = CASE WHEN failures + 1 >= ? THEN ? ELSE revoked_ms END
         WHERE token_hash = ? AND used_ms IS NULL AND revoked_ms IS NULL`,
        [maxFailures, nowMs, tokenHash.toLowerCase()],
      );
      const r = await db.all<{ failures: number; revoked_ms: number | null }>(
        'SELECT failures, revoked_ms FROM enroll_tokens WHERE token_hash = ?',
        [tokenHash.toLowerCase()],
      );
      return { failures: Number(r[0]?.failures ?? 0), revoked: r[0]?.revoked_ms != null };
    });
  }

  /** Records the chain registration made with this token (the token stays unconsumed until the SCD binding). */
  async registered(tokenHash: string, deviceId: string, txHash: string): Promise<void> {
    await this.db.run('UPDATE enroll_tokens SET device_id = ?, tx_hash = ? WHERE token_hash = ?', [
      deviceId.toLowerCase(),
      txHash,
      tokenHash.toLowerCase(),
    ]);
  }

  /** Consumes the token; false when it was already used. */
  async consume(tokenHash: string, nowMs: number): Promise<boolean> {
    const n = await this.db.run('UPDATE enroll_tokens SET used_ms = ? WHERE token_hash = ? AND used_ms IS NULL', [
      nowMs,
      tokenHash.toLowerCase(),
    ]);
    return n === 1;
  }

  async count(): Promise<number> {
    return Number((await this.db.all<{ n: number }>('SELECT count(*) AS n FROM enroll_tokens'))[0]?.n ?? 0);
  }
}
