/**
 * The SCD's data (the same SQL on SQLite and PostgreSQL): PoD registry, PoD–PoM association, baselines, setpoints,
 * market outcomes (append-only), anchored batches with their proofs, measurements deduplicated on
 * (deviceId, seq), declared gaps. No authorisation here: that is the API's job (api.ts).
 */
import {
  LightNodeError,
  batchDigest,
  decodeBatchWire,
  fromHex,
  leafHash,
  lightNodeDomain,
  sampleToJson,
  toHex,
  verifyMerkleProof,
  type SignedBatch,
} from '@lightnode/protocols';
import type { GapDelivery, IngestResult, WindowDelivery } from '../delivery.js';
import type { SqlDb } from './sql.js';

export const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS pods (
    pod_id TEXT PRIMARY KEY, aggregator TEXT NOT NULL, device_id TEXT, pom_id TEXT, pom_by TEXT,
    created_ms BIGINT NOT NULL, updated_ms BIGINT NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS pods_device ON pods (device_id)`,
  `CREATE TABLE IF NOT EXISTS baselines (
    pod_id TEXT NOT NULL, day TEXT NOT NULL, slots_json TEXT NOT NULL, updated_by TEXT NOT NULL,
    updated_ms BIGINT NOT NULL, PRIMARY KEY (pod_id, day))`,
  `CREATE TABLE IF NOT EXISTS setpoints (
    id TEXT PRIMARY KEY, pod_id TEXT NOT NULL, device_id TEXT, body_json TEXT NOT NULL, created_by TEXT NOT NULL,
    created_ms BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS market_outcomes (
    id TEXT PRIMARY KEY, day TEXT NOT NULL, slot INTEGER NOT NULL, pod_id TEXT NOT NULL, aggregator TEXT NOT NULL,
    kind TEXT NOT NULL, body_json TEXT NOT NULL, created_by TEXT NOT NULL, created_ms BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS batches (
    device_id TEXT NOT NULL, first_seq BIGINT NOT NULL, last_seq BIGINT NOT NULL, pod_id TEXT NOT NULL,
    digest TEXT NOT NULL, wire TEXT NOT NULL, window_root TEXT NOT NULL, window_index INTEGER NOT NULL,
    window_path TEXT NOT NULL, window_leaf_count INTEGER NOT NULL, window_start_ms BIGINT NOT NULL,
    tx_hash TEXT NOT NULL, block_number BIGINT NOT NULL, chain_id BIGINT NOT NULL, contract TEXT NOT NULL,
    key_register TEXT NOT NULL, bal TEXT NOT NULL, stored_ms BIGINT NOT NULL, PRIMARY KEY (device_id, first_seq))`,
  `CREATE TABLE IF NOT EXISTS anchors (
    tx_hash TEXT PRIMARY KEY, root TEXT NOT NULL, anchorer TEXT NOT NULL, block_number BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS measurements (
    device_id TEXT NOT NULL, seq BIGINT NOT NULL, pod_id TEXT NOT NULL, ts_ms BIGINT NOT NULL,
    batch_first_seq BIGINT NOT NULL, sample_json TEXT NOT NULL, PRIMARY KEY (device_id, seq))`,
  `CREATE INDEX IF NOT EXISTS measurements_pod_ts ON measurements (pod_id, ts_ms)`,
  `CREATE TABLE IF NOT EXISTS declared_gaps (
    device_id TEXT NOT NULL, first_seq BIGINT NOT NULL, last_seq BIGINT NOT NULL, reason TEXT NOT NULL,
    energy_import_wh BIGINT NOT NULL, energy_export_wh BIGINT NOT NULL, signed_json TEXT NOT NULL,
    received_ms BIGINT NOT NULL, PRIMARY KEY (device_id, first_seq))`,
];

export interface PodRow {
  podId: string;
  aggregator: string;
  deviceId?: string;
  pomId?: string;
  createdMs: number;
  updatedMs: number;
}

export interface BatchRow {
  deviceId: string;
  firstSeq: number;
  lastSeq: number;
  podId: string;
  digest: string;
  wire: string;
  windowRoot: string;
  windowIndex: number;
  windowPath: string[];
  windowLeafCount: number;
  windowStartMs: number;
  txHash: string;
  blockNumber: number;
  chainId: number;
  contract: string;
  keyRegister: string;
  bal: string;
}

export interface OutcomeRow {
  id: string;
  day: string;
  slot: number;
  podId: string;
  aggregator: string;
  kind: string;
  body: Record<string, unknown>;
  createdBy: string;
  createdMs: number;
}

export interface GapView {
  firstSeq: number;
  lastSeq: number;
  declared: boolean;
  reason?: string;
  energyImportWh?: number;
  energyExportWh?: number;
}

export class ScdStore {
  constructor(readonly db: SqlDb) {}

  async init(): Promise<void> {
    for (const s of SCHEMA) await this.db.exec(s);
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

  async baseline(
    podId: string,
    day: string,
  ): Promise<{ podId: string; day: string; slotsW: number[]; updatedBy: string; updatedMs: number } | undefined> {
    const r = await this.db.all<{ slots_json: string; updated_by: string; updated_ms: number }>(
      'SELECT slots_json, updated_by, updated_ms FROM baselines WHERE pod_id = ? AND day = ?',
      [podId, day],
    );
    return (
      r[0] && {
        podId,
        day,
        slotsW: JSON.parse(r[0].slots_json) as number[],
        updatedBy: r[0].updated_by,
        updatedMs: r[0].updated_ms,
      }
    );
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

  async setpoints(
    podIds?: readonly string[],
  ): Promise<{ id: string; podId: string; body: unknown; createdBy: string; createdMs: number }[]> {
    const rows = await this.db.all<{
      id: string;
      pod_id: string;
      body_json: string;
      created_by: string;
      created_ms: number;
    }>('SELECT * FROM setpoints ORDER BY created_ms, id');
    return rows
      .filter((r) => !podIds || podIds.includes(r.pod_id))
      .map((r) => ({
        id: r.id,
        podId: r.pod_id,
        body: JSON.parse(r.body_json) as unknown,
        createdBy: r.created_by,
        createdMs: r.created_ms,
      }));
  }

  // ---- market outcomes: append-only ----
  async addOutcome(o: Omit<OutcomeRow, 'createdMs'>, nowMs: number): Promise<boolean> {
    const n = await this.db.run(
      `INSERT INTO market_outcomes (id, day, slot, pod_id, aggregator, kind, body_json, created_by, created_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
      [o.id, o.day, o.slot, o.podId, o.aggregator, o.kind, JSON.stringify(o.body), o.createdBy, nowMs],
    );
    return n === 1;
  }

  async outcomes(aggregator?: string): Promise<OutcomeRow[]> {
    const rows = aggregator
      ? await this.db.all<OutcomeDb>('SELECT * FROM market_outcomes WHERE aggregator = ? ORDER BY day, slot, id', [
          aggregator,
        ])
      : await this.db.all<OutcomeDb>('SELECT * FROM market_outcomes ORDER BY day, slot, id');
    return rows.map((r) => ({
      id: r.id,
      day: r.day,
      slot: r.slot,
      podId: r.pod_id,
      aggregator: r.aggregator,
      kind: r.kind,
      body: JSON.parse(r.body_json) as Record<string, unknown>,
      createdBy: r.created_by,
      createdMs: r.created_ms,
    }));
  }

  // ---- measurements from the BAL ----
  /**
   * Stores an anchored window: for each batch, re-checks its anchor-window path against the root, then stores the
   * batch (with its proof data) and its samples; samples already stored (another BAL, a redelivery) are counted as
   * duplicates and keep their first proof. Returns the stored samples for the outbound streams.
   */
  async ingestWindow(d: WindowDelivery, nowMs: number): Promise<IngestResult & { stored: SignedBatch[] }> {
    const domain = lightNodeDomain(d.anchor.chainId, d.anchor.keyRegister);
    const root = fromHex(d.window.root, 'window.root');
    const decoded = d.batches.map((b, i) => {
      const wire = Buffer.from(b.wire, 'base64');
      const batch = decodeBatchWire(new Uint8Array(wire));
      const digest = batchDigest(batch.header, domain);
      const path = b.path.map((x, j) => fromHex(x, `batches[${i}].path[${j}]`));
      if (!verifyMerkleProof(leafHash(digest), b.index, d.window.leafCount, path, root))
        throw new LightNodeError(
          'PROOF_INVALID',
          `batches[${i}]: its anchor-window path does not lead to root ${d.window.root}`,
          { field: `batches[${i}].path` },
        );
      return { b, batch, digest: toHex(digest) };
    });
    return this.db.tx(async (db) => {
      await db.run(
        'INSERT INTO anchors (tx_hash, root, anchorer, block_number) VALUES (?, ?, ?, ?) ON CONFLICT (tx_hash) DO NOTHING',
        [d.anchor.txHash, d.window.root, d.anchor.anchorer.toLowerCase(), d.anchor.blockNumber],
      );
      let stored = 0;
      let dup = 0;
      const storedBatches: SignedBatch[] = [];
      for (const { b, batch, digest } of decoded) {
        const h = batch.header;
        await db.run(
          `INSERT INTO batches (device_id, first_seq, last_seq, pod_id, digest, wire, window_root, window_index,
            window_path, window_leaf_count, window_start_ms, tx_hash, block_number, chain_id, contract, key_register,
            bal, stored_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (device_id, first_seq) DO NOTHING`,
          [
            h.deviceId,
            h.firstSeq,
            h.lastSeq,
            h.podId,
            digest,
            b.wire,
            d.window.root,
            b.index,
            JSON.stringify(b.path),
            d.window.leafCount,
            d.window.startMs,
            d.anchor.txHash,
            d.anchor.blockNumber,
            d.anchor.chainId,
            d.anchor.contract,
            d.anchor.keyRegister,
            d.bal,
            nowMs,
          ],
        );
        const n = await this.insertSamples(db, batch);
        stored += n;
        dup += batch.samples.length - n;
        if (n > 0) storedBatches.push(batch);
      }
      return { batches: decoded.length, samplesStored: stored, samplesDuplicate: dup, stored: storedBatches };
    });
  }

  private async insertSamples(db: SqlDb, batch: SignedBatch): Promise<number> {
    const h = batch.header;
    let n = 0;
    if (db.kind === 'postgres') {
      // one multi-row statement per batch (a round trip per row would dominate)
      const params: unknown[] = [];
      const rows = batch.samples.map((s) => {
        params.push(s.deviceId, s.seq, s.podId, s.tsMs, h.firstSeq, sampleToJson(s));
        return '(?, ?, ?, ?, ?, ?)';
      });
      n = await db.run(
        `INSERT INTO measurements (device_id, seq, pod_id, ts_ms, batch_first_seq, sample_json) VALUES ${rows.join(', ')}
         ON CONFLICT (device_id, seq) DO NOTHING`,
        params,
      );
    } else
      for (const s of batch.samples)
        n += await db.run(
          `INSERT INTO measurements (device_id, seq, pod_id, ts_ms, batch_first_seq, sample_json) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (device_id, seq) DO NOTHING`,
          [s.deviceId, s.seq, s.podId, s.tsMs, h.firstSeq, sampleToJson(s)],
        );
    return n;
  }

  async ingestGaps(d: GapDelivery): Promise<IngestResult> {
    let n = 0;
    for (const { signed, receivedMs } of d.gaps) {
      const g = signed.message;
      n += await this.db.run(
        `INSERT INTO declared_gaps (device_id, first_seq, last_seq, reason, energy_import_wh, energy_export_wh,
          signed_json, received_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (device_id, first_seq) DO NOTHING`,
        [
          g.deviceId.toLowerCase(),
          g.firstSeq,
          g.lastSeq,
          g.reason,
          g.energyImportWh,
          g.energyExportWh,
          JSON.stringify(signed),
          receivedMs,
        ],
      );
    }
    return { batches: 0, samplesStored: 0, samplesDuplicate: 0, gapsStored: n };
  }

  async measurements(q: {
    podId?: string;
    deviceId?: string;
    fromMs?: number;
    toMs?: number;
    limit?: number;
  }): Promise<{ deviceId: string; seq: number; podId: string; tsMs: number; sample: unknown }[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (clause: string, v: unknown): void => {
      where.push(clause);
      params.push(v);
    };
    if (q.podId) add('pod_id = ?', q.podId);
    if (q.deviceId) add('device_id = ?', q.deviceId.toLowerCase());
    if (q.fromMs !== undefined) add('ts_ms >= ?', q.fromMs);
    if (q.toMs !== undefined) add('ts_ms < ?', q.toMs);
    params.push(q.limit ?? 1000);
    const rows = await this.db.all<{
      device_id: string;
      seq: number;
      pod_id: string;
      ts_ms: number;
      sample_json: string;
    }>(
      `SELECT device_id, seq, pod_id, ts_ms, sample_json FROM measurements ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
       ORDER BY ts_ms, device_id, seq LIMIT ?`,
      params,
    );
    return rows.map((r) => ({
      deviceId: r.device_id,
      seq: r.seq,
      podId: r.pod_id,
      tsMs: r.ts_ms,
      sample: JSON.parse(r.sample_json) as unknown,
    }));
  }

  /** The batch that proves (deviceId, seq): the one the stored measurement points to. */
  async batchOf(deviceId: string, seq: number): Promise<BatchRow | undefined> {
    const r = await this.db.all<BatchDb>(
      `SELECT b.* FROM measurements m JOIN batches b ON b.device_id = m.device_id AND b.first_seq = m.batch_first_seq
       WHERE m.device_id = ? AND m.seq = ?`,
      [deviceId.toLowerCase(), seq],
    );
    return r[0] && batchFromDb(r[0]);
  }

  /** The BAL key that anchored a transaction (recorded with its window). */
  async anchorerOf(txHash: string): Promise<string | undefined> {
    return (await this.db.all<{ anchorer: string }>('SELECT anchorer FROM anchors WHERE tx_hash = ?', [txHash]))[0]
      ?.anchorer;
  }

  /** Holes in a device's stored seqs, each marked declared when the device declared it (signed gap). */
  async gaps(deviceId: string): Promise<GapView[]> {
    const id = deviceId.toLowerCase();
    const holes = await this.db.all<{ first_seq: number; last_seq: number }>(
      `SELECT seq + 1 AS first_seq, nxt - 1 AS last_seq FROM (
         SELECT seq, LEAD(seq) OVER (ORDER BY seq) AS nxt FROM measurements WHERE device_id = ?) t
       WHERE nxt > seq + 1 ORDER BY first_seq`,
      [id],
    );
    const declared = await this.db.all<{
      first_seq: number;
      last_seq: number;
      reason: string;
      energy_import_wh: number;
      energy_export_wh: number;
    }>(
      'SELECT first_seq, last_seq, reason, energy_import_wh, energy_export_wh FROM declared_gaps WHERE device_id = ? ORDER BY first_seq',
      [id],
    );
    return holes.map((h) => {
      const d = declared.find((x) => x.first_seq <= h.last_seq && x.last_seq >= h.first_seq);
      return {
        firstSeq: h.first_seq,
        lastSeq: h.last_seq,
        declared: !!d,
        ...(d ? { reason: d.reason, energyImportWh: d.energy_import_wh, energyExportWh: d.energy_export_wh } : {}),
      };
    });
  }

  async counts(): Promise<{
    pods: number;
    batches: number;
    measurements: number;
    outcomes: number;
    declaredGaps: number;
  }> {
    const one = async (t: string): Promise<number> =>
      (await this.db.all<{ n: number }>(`SELECT count(*) AS n FROM ${t}`))[0]?.n ?? 0;
    return {
      pods: await one('pods'),
      batches: await one('batches'),
      measurements: await one('measurements'),
      outcomes: await one('market_outcomes'),
      declaredGaps: await one('declared_gaps'),
    };
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

interface PodDb {
  pod_id: string;
  aggregator: string;
  device_id: string | null;
  pom_id: string | null;
  created_ms: number;
  updated_ms: number;
}
function podFromDb(r: PodDb): PodRow {
  return {
    podId: r.pod_id,
    aggregator: r.aggregator,
    ...(r.device_id ? { deviceId: r.device_id } : {}),
    ...(r.pom_id ? { pomId: r.pom_id } : {}),
    createdMs: r.created_ms,
    updatedMs: r.updated_ms,
  };
}

interface OutcomeDb {
  id: string;
  day: string;
  slot: number;
  pod_id: string;
  aggregator: string;
  kind: string;
  body_json: string;
  created_by: string;
  created_ms: number;
}

interface BatchDb {
  device_id: string;
  first_seq: number;
  last_seq: number;
  pod_id: string;
  digest: string;
  wire: string;
  window_root: string;
  window_index: number;
  window_path: string;
  window_leaf_count: number;
  window_start_ms: number;
  tx_hash: string;
  block_number: number;
  chain_id: number;
  contract: string;
  key_register: string;
  bal: string;
}
function batchFromDb(r: BatchDb): BatchRow {
  return {
    deviceId: r.device_id,
    firstSeq: r.first_seq,
    lastSeq: r.last_seq,
    podId: r.pod_id,
    digest: r.digest,
    wire: r.wire,
    windowRoot: r.window_root,
    windowIndex: r.window_index,
    windowPath: JSON.parse(r.window_path) as string[],
    windowLeafCount: r.window_leaf_count,
    windowStartMs: r.window_start_ms,
    txHash: r.tx_hash,
    blockNumber: r.block_number,
    chainId: r.chain_id,
    contract: r.contract,
    keyRegister: r.key_register,
    bal: r.bal,
  };
}
