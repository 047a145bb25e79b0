/**
 * The market's store (SQLite in the market's directory, through the SCD's SQL surface scd/sql.ts): sessions, their
 * PoD registry entries, the flexibility services (append-only; arrival order = insert order), the session's
 * documents (market outcome, technical outcome, validated outcome: each written once) and settled services.
 * Survives a restart.
 */
import type { FlexibilityService, PodRegistryEntry } from './documents.js';
import type { SqlDb } from '../scd/sql.js';

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY, market_type TEXT NOT NULL, day TEXT NOT NULL, start_time TEXT NOT NULL,
    slots INTEGER NOT NULL, gate_closure_ms BIGINT NOT NULL, skipped_json TEXT NOT NULL, created_ms BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS registry (
    session TEXT NOT NULL, pod TEXT NOT NULL, pom TEXT NOT NULL, aggregator TEXT NOT NULL,
    baseline_json TEXT NOT NULL, PRIMARY KEY (session, pod))`,
  `CREATE TABLE IF NOT EXISTS services (
    seq INTEGER PRIMARY KEY, session TEXT NOT NULL, player_service_id TEXT NOT NULL, service_type TEXT NOT NULL,
    player_id TEXT NOT NULL, body_json TEXT NOT NULL, created_by TEXT NOT NULL, created_ms BIGINT NOT NULL,
    UNIQUE (session, player_service_id))`,
  `CREATE TABLE IF NOT EXISTS documents (
    session TEXT NOT NULL, kind TEXT NOT NULL, body_json TEXT NOT NULL, created_ms BIGINT NOT NULL,
    PRIMARY KEY (session, kind))`,
  `CREATE TABLE IF NOT EXISTS settlements (
    session TEXT NOT NULL, entry_id TEXT NOT NULL, body_json TEXT NOT NULL, created_ms BIGINT NOT NULL,
    PRIMARY KEY (session, entry_id))`,
];

export interface SessionRow {
  id: string;
  marketType: 'dayAhead';
  day: string;
  startTime: string;
  slots: number;
  gateClosureMs: number;
  /** PoDs of the SCD left out of the session, with why (no PoM). */
  skipped: { pod: string; reason: string }[];
  createdMs: number;
}
interface SessionDb {
  id: string;
  day: string;
  start_time: string;
  slots: number;
  gate_closure_ms: number;
  skipped_json: string;
  created_ms: number;
}
const sessionFromDb = (r: SessionDb): SessionRow => ({
  id: r.id,
  marketType: 'dayAhead',
  day: r.day,
  startTime: r.start_time,
  slots: r.slots,
  gateClosureMs: r.gate_closure_ms,
  skipped: JSON.parse(r.skipped_json) as SessionRow['skipped'],
  createdMs: r.created_ms,
});

/** The session's documents, each written once. */
export type DocumentKind = 'market' | 'technical' | 'validated';

export class MarketStore {
  constructor(readonly db: SqlDb) {}

  async init(): Promise<void> {
    for (const s of SCHEMA) await this.db.exec(s);
  }

  /** false when the id exists. */
  async addSession(s: SessionRow, registry: readonly PodRegistryEntry[]): Promise<boolean> {
    return this.db.tx(async (db) => {
      const n = await db.run(
        `INSERT INTO sessions (id, market_type, day, start_time, slots, gate_closure_ms, skipped_json, created_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
        [s.id, s.marketType, s.day, s.startTime, s.slots, s.gateClosureMs, JSON.stringify(s.skipped), s.createdMs],
      );
      if (n !== 1) return false;
      await this.putRegistry(s.id, registry, db);
      return true;
    });
  }

  async session(id: string): Promise<SessionRow | undefined> {
    const r = await this.db.all<SessionDb>('SELECT * FROM sessions WHERE id = ?', [id]);
    return r[0] && sessionFromDb(r[0]);
  }

  async sessions(): Promise<SessionRow[]> {
    return (await this.db.all<SessionDb>('SELECT * FROM sessions ORDER BY start_time, id')).map(sessionFromDb);
  }

  /** Inserts or replaces the session's entries for these PoDs. */
  async putRegistry(session: string, entries: readonly PodRegistryEntry[], db: SqlDb = this.db): Promise<void> {
    for (const e of entries)
      await db.run(
        `INSERT INTO registry (session, pod, pom, aggregator, baseline_json) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (session, pod) DO UPDATE SET pom = excluded.pom, aggregator = excluded.aggregator,
         baseline_json = excluded.baseline_json`,
        [session, e.pod, e.pom, e.aggregator, JSON.stringify(e.baselinekW)],
      );
  }

  async registry(session: string): Promise<PodRegistryEntry[]> {
    const rows = await this.db.all<{ pod: string; pom: string; aggregator: string; baseline_json: string }>(
      'SELECT pod, pom, aggregator, baseline_json FROM registry WHERE session = ? ORDER BY pod',
      [session],
    );
    return rows.map((r) => ({
      pod: r.pod,
      pom: r.pom,
      aggregator: r.aggregator,
      baselinekW: JSON.parse(r.baseline_json) as Record<string, number>,
    }));
  }

  /** Appends a service; false when the session already has its playerServiceId. */
  async addService(session: string, s: FlexibilityService, by: string, nowMs: number): Promise<boolean> {
    const n = await this.db.run(
      `INSERT INTO services (session, player_service_id, service_type, player_id, body_json, created_by, created_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (session, player_service_id) DO NOTHING`,
      [session, s.playerServiceId, s.serviceType, s.playerId, JSON.stringify(s), by, nowMs],
    );
    return n === 1;
  }

  /** The session's services in arrival order. */
  async services(session: string): Promise<FlexibilityService[]> {
    const rows = await this.db.all<{ body_json: string }>(
      'SELECT body_json FROM services WHERE session = ? ORDER BY seq',
      [session],
    );
    return rows.map((r) => JSON.parse(r.body_json) as FlexibilityService);
  }

  /** Writes a document once; false when the session has one of that kind already. */
  async addDocument(session: string, kind: DocumentKind, body: unknown, nowMs: number): Promise<boolean> {
    const n = await this.db.run(
      `INSERT INTO documents (session, kind, body_json, created_ms) VALUES (?, ?, ?, ?)
       ON CONFLICT (session, kind) DO NOTHING`,
      [session, kind, JSON.stringify(body), nowMs],
    );
    return n === 1;
  }

  async document<T>(session: string, kind: DocumentKind): Promise<T | undefined> {
    const r = await this.db.all<{ body_json: string }>(
      'SELECT body_json FROM documents WHERE session = ? AND kind = ?',
      [session, kind],
    );
    return r[0] && (JSON.parse(r[0].body_json) as T);
  }

  /** Records settled services (each once; an entry already settled is kept as it was). */
  async addSettled(session: string, entries: readonly { id: string }[], nowMs: number): Promise<void> {
    await this.db.tx(async (db) => {
      for (const e of entries)
        await db.run(
          `INSERT INTO settlements (session, entry_id, body_json, created_ms) VALUES (?, ?, ?, ?)
           ON CONFLICT (session, entry_id) DO NOTHING`,
          [session, e.id, JSON.stringify(e), nowMs],
        );
    });
  }

  async settled<T>(session: string): Promise<T[]> {
    const rows = await this.db.all<{ body_json: string }>(
      'SELECT body_json FROM settlements WHERE session = ? ORDER BY entry_id',
      [session],
    );
    return rows.map((r) => JSON.parse(r.body_json) as T);
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
