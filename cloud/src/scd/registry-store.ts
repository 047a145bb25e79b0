/**
 * The SCD's registry data: PoD registry, PoD–PoM association, baselines, setpoints, market outcomes (append-only).
 * No authorisation here: that is the route table's and the service's job. The measurement path is in store.ts.
 */
import {
  OUTCOME_COLUMNS_MIGRATION,
  OUTCOME_SESSION_INDEX,
  SCHEMA,
  baselineFromDb,
  outcomeFromDb,
  podFromDb,
  setpointFromDb,
  type BaselineDb,
  type BaselineRow,
  type OutcomeDb,
  type OutcomeRow,
  type PodDb,
  type PodRow,
  type SetpointDb,
  type SetpointRow,
} from './rows.js';
import type { SqlDb } from './sql.js';
import type { OutcomeBody } from './service.js';

class DuplicateRow extends Error {
  constructor(readonly id: string) {
    super(`outcome row ${id} exists`);
  }
}

export interface OutcomeQuery {
  session?: string;
  kind?: string;
  aggregator?: string;
  requestPlayerId?: string;
  alsoKinds?: readonly string[];
}

export class RegistryStore {
  constructor(readonly db: SqlDb) {}

  async init(): Promise<void> {
    for (const s of SCHEMA) await this.db.exec(s);
    // a database from before the outcome rows' session and request columns: add them (old rows keep '')
    const has = await this.db.all('SELECT session, player_request_id FROM market_outcomes LIMIT 1').then(
      () => true,
      () => false,
    );
    if (!has) for (const s of OUTCOME_COLUMNS_MIGRATION) await this.db.exec(s);
    await this.db.exec(OUTCOME_SESSION_INDEX);
  }

  // ---- PoD registry ----
  async pod(podId: string): Promise<PodRow | undefined> {
    const r = await this.db.all<PodDb>('SELECT * FROM pods WHERE pod_id = ?', [podId]);
    return r[0] && podFromDb(r[0]);
  }

  async podOfDevice(deviceId: string): Promise<PodRow | undefined> {
    const r = await this.db.all<PodDb>('SELECT * FROM pods WHERE device_id = ?', [deviceId.toLowerCase()]);
    return r[0] && podFromDb(r[0]);
  }

  async pods(aggregator?: string): Promise<PodRow[]> {
    const rows = aggregator
      ? await this.db.all<PodDb>('SELECT * FROM pods WHERE aggregator = ? ORDER BY pod_id', [aggregator])
      : await this.db.all<PodDb>('SELECT * FROM pods ORDER BY pod_id');
    return rows.map(podFromDb);
  }

  async putPod(
    p: { podId: string; aggregator: string; deviceId?: string },
    nowMs: number,
  ): Promise<'created' | 'updated'> {
    const n = await this.db.run(
      `INSERT INTO pods (pod_id, aggregator, device_id, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (pod_id) DO NOTHING`,
      [p.podId, p.aggregator, p.deviceId?.toLowerCase() ?? null, nowMs, nowMs],
    );
    if (n === 1) return 'created';
    await this.db.run('UPDATE pods SET device_id = ?, updated_ms = ? WHERE pod_id = ?', [
      p.deviceId?.toLowerCase() ?? null,
      nowMs,
      p.podId,
    ]);
    return 'updated';
  }

  async setPom(podId: string, pomId: string, by: string, nowMs: number): Promise<void> {
    await this.db.run('UPDATE pods SET pom_id = ?, pom_by = ?, updated_ms = ? WHERE pod_id = ?', [
      pomId,
      by,
      nowMs,
      podId,
    ]);
  }

  // ---- baselines ----
  async putBaseline(podId: string, day: string, slotsW: number[], by: string, nowMs: number): Promise<void> {
    await this.db.run(
      `INSERT INTO baselines (pod_id, day, slots_json, updated_by, updated_ms) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (pod_id, day) DO UPDATE SET slots_json = excluded.slots_json, updated_by = excluded.updated_by,
       updated_ms = excluded.updated_ms`,
      [podId, day, JSON.stringify(slotsW), by, nowMs],
    );
  }

  async baseline(podId: string, day: string): Promise<BaselineRow | undefined> {
    const r = await this.db.all<BaselineDb>('SELECT * FROM baselines WHERE pod_id = ? AND day = ?', [podId, day]);
    return r[0] && baselineFromDb(r[0]);
  }

  // ---- setpoints ----
  async addSetpoint(
    s: { id: string; podId: string; deviceId?: string; body: unknown },
    by: string,
    nowMs: number,
  ): Promise<boolean> {
    const n = await this.db.run(
      `INSERT INTO setpoints (id, pod_id, device_id, body_json, created_by, created_ms) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO NOTHING`,
      [s.id, s.podId, s.deviceId?.toLowerCase() ?? null, JSON.stringify(s.body), by, nowMs],
    );
    return n === 1;
  }

  async setpoints(podIds?: readonly string[]): Promise<SetpointRow[]> {
    const rows = await this.db.all<SetpointDb>('SELECT * FROM setpoints ORDER BY created_ms, id');
    return rows.filter((r) => !podIds || podIds.includes(r.pod_id)).map(setpointFromDb);
  }

  // ---- market outcome rows: append-only ----
  /** Writes the rows in one transaction; returns the first id already stored (then nothing is written). */
  async addOutcomes(rows: readonly OutcomeBody[], by: string, nowMs: number): Promise<string | undefined> {
    try {
      await this.db.tx(async (db) => {
        for (const o of rows) {
          const n = await db.run(
            `INSERT INTO market_outcomes (id, session, day, slot, pod_id, aggregator, kind, player_request_id,
             body_json, created_by, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
            [
              o.id,
              o.session,
              o.day,
              o.slot,
              o.podId,
              o.aggregator,
              o.kind,
              o.playerRequestId,
              JSON.stringify(o),
              by,
              nowMs,
            ],
          );
          if (n !== 1) throw new DuplicateRow(o.id); // rolls the batch back
        }
      });
      return undefined;
    } catch (e) {
      if (e instanceof DuplicateRow) return e.id;
      throw e;
    }
  }

  /**
   * Rows by session / kind, of one aggregator's PoDs, or of one requester's requests (`requestPlayerId`, plus every
   * row of `alsoKinds`); in (day, slot, id) order.
   */
  async outcomes(q: OutcomeQuery = {}): Promise<OutcomeRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, v: unknown): void => {
      where.push(sql);
      params.push(v);
    };
    if (q.session) add('session = ?', q.session);
    if (q.kind) add('kind = ?', q.kind);
    if (q.aggregator) add('aggregator = ?', q.aggregator);
    if (q.requestPlayerId) {
      const kinds = q.alsoKinds ?? [];
      where.push(`(player_request_id = ?${kinds.map(() => ' OR kind = ?').join('')})`);
      params.push(q.requestPlayerId, ...kinds);
    }
    const rows = await this.db.all<OutcomeDb>(
      `SELECT body_json, created_by, created_ms FROM market_outcomes
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY day, slot, id`,
      params,
    );
    return rows.map(outcomeFromDb);
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
