/**
 * The SCD's store: the registry (registry-store.ts) plus the measurement path — anchored batches with their proof
 * data, the anchor record of each window's transaction, measurements deduplicated on (deviceId, seq), declared gaps —
 * and the devices' signed acks and QoS reports, deduplicated on (deviceId, message seq) across both tables.
 * It only writes what ingest/check.ts has checked; no authorisation here.
 */
import { LightNodeError, sampleToJson, type SignedBatch } from '@lightnode/protocols';
import type { GapDelivery, IngestResult, MessageIngestResult } from '../delivery.js';
import type { CheckedMessage, CheckedWindow } from '../ingest/check.js';
import { RegistryStore } from './registry-store.js';
import {
  ackFromDb,
  batchFromDb,
  measurementFromDb,
  qosFromDb,
  type AckDb,
  type AckRow,
  type BatchDb,
  type BatchRow,
  type DeclaredGapDb,
  type GapView,
  type MeasurementDb,
  type MeasurementRow,
  type QosDb,
  type QosRow,
} from './rows.js';
import type { SqlDb } from './sql.js';

export type { AckRow, BatchRow, GapView, PodRow, OutcomeRow, QosRow } from './rows.js';

/** A read of stored acks or QoS reports (each filter optional; `fromMs`/`toMs` on the message's `atMs`). */
export interface MessageQuery {
  setpointId?: string;
  podId?: string;
  fromMs?: number;
  toMs?: number;
  limit?: number;
}

/** The columns every device-message table has (rows.ts), in insert order. */
const MESSAGE_COLUMNS = [
  'device_id',
  'seq',
  'setpoint_id',
  'pod_id',
  'at_ms',
  'message_json',
  'signed_json',
  'bal',
  'received_ms',
  'stored_ms',
];

/** Each message kind's table and the columns beyond the common ones. */
const MESSAGE_TABLES = {
  ack: {
    table: 'acks',
    columns: ['state', 'reason', 'applied_power_w'],
    values: (m: CheckedMessage): unknown[] =>
      m.delivered.kind === 'ack'
        ? [m.delivered.message.state, m.delivered.message.reason, m.delivered.message.appliedPowerW]
        : [],
  },
  qos: {
    table: 'qos_reports',
    columns: ['slot_index', 'requested_energy_wh', 'baseline_energy_wh', 'delivered_energy_wh'],
    values: (m: CheckedMessage): unknown[] => {
      if (m.delivered.kind !== 'qos') return [];
      const q = m.delivered.message;
      return [q.slotIndex, q.requestedEnergyWh, q.baselineEnergyWh, q.deliveredEnergyWh];
    },
  },
} as const;

/** `WHERE a = ? AND b >= ?…` of the filters that are set, and their parameters. */
function whereOf(filters: readonly [clause: string, value: unknown][]): { where: string; params: unknown[] } {
  const set = filters.filter(([, v]) => v !== undefined);
  return {
    where: set.length ? `WHERE ${set.map(([c]) => c).join(' AND ')}` : '',
    params: set.map(([, v]) => v),
  };
}

export class ScdStore extends RegistryStore {
  /**
   * Writes a checked window in one transaction: its anchor record, then each batch (with its proof data) and its
   * samples; samples already stored (another BAL, a redelivery) are counted as duplicates and keep their first
   * proof. Returns the batches that stored samples, for the outbound streams.
   */
  async writeWindow(w: CheckedWindow, nowMs: number): Promise<IngestResult & { stored: SignedBatch[] }> {
    const d = w.delivery;
    return this.db.tx(async (db) => {
      await db.run(
        'INSERT INTO anchors (tx_hash, root, anchorer, block_number) VALUES (?, ?, ?, ?) ON CONFLICT (tx_hash) DO NOTHING',
        [d.anchor.txHash, d.window.root, d.anchor.anchorer.toLowerCase(), d.anchor.blockNumber],
      );
      let stored = 0;
      let dup = 0;
      const storedBatches: SignedBatch[] = [];
      for (const { wire, index, path, batch, digest } of w.batches) {
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
            wire,
            d.window.root,
            index,
            JSON.stringify(path),
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
        const n = await insertSamples(db, batch);
        stored += n;
        dup += batch.samples.length - n;
        if (n > 0) storedBatches.push(batch);
      }
      return { batches: w.batches.length, samplesStored: stored, samplesDuplicate: dup, stored: storedBatches };
    });
  }

  /** Writes checked gap declarations in one transaction (a declaration already stored is kept). */
  async writeGaps(d: GapDelivery): Promise<IngestResult> {
    const n = await this.db.tx(async (db) => {
      let k = 0;
      for (const { signed, receivedMs } of d.gaps) {
        const g = signed.message;
        k += await db.run(
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
      return k;
    });
    return { batches: 0, samplesStored: 0, samplesDuplicate: 0, gapsStored: n };
  }

  async measurements(q: {
    podId?: string;
    deviceId?: string;
    fromMs?: number;
    toMs?: number;
    limit?: number;
  }): Promise<MeasurementRow[]> {
    const { where, params } = whereOf([
      ['pod_id = ?', q.podId || undefined],
      ['device_id = ?', q.deviceId?.toLowerCase() || undefined],
      ['ts_ms >= ?', q.fromMs],
      ['ts_ms < ?', q.toMs],
    ]);
    const rows = await this.db.all<MeasurementDb>(
      `SELECT device_id, seq, pod_id, ts_ms, sample_json FROM measurements ${where}
       ORDER BY ts_ms, device_id, seq LIMIT ?`,
      [...params, q.limit ?? 1000],
    );
    return rows.map(measurementFromDb);
  }

  /**
   * Writes checked acks and QoS reports in one transaction, each with the PoD its device is registered for. The same
   * message again (same kind and fields for its (deviceId, seq)) is a duplicate, accepted; other content for a stored
   * (deviceId, seq) throws SEQ_CONFLICT naming `messages.{i}` and nothing of the delivery is stored.
   */
  async writeMessages(ms: readonly CheckedMessage[], bal: string, nowMs: number): Promise<MessageIngestResult> {
    const pods = new Map<string, string | null>();
    for (const id of new Set(ms.map((m) => m.deviceId))) pods.set(id, (await this.podOfDevice(id))?.podId ?? null);
    return this.db.tx(async (db) => {
      let stored = 0;
      let duplicates = 0;
      for (const [i, m] of ms.entries()) {
        const t = MESSAGE_TABLES[m.kind];
        const columns = [...MESSAGE_COLUMNS, ...t.columns];
        const n = await db.run(
          `INSERT INTO ${t.table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})
           ON CONFLICT (device_id, seq) DO NOTHING`,
          [
            ...[m.deviceId, m.seq, m.setpointId, pods.get(m.deviceId), m.atMs, m.canonical, m.signedJson, bal],
            ...[m.receivedMs, nowMs, ...t.values(m)],
          ],
        );
        const other = await db.all<{ kind: string; message_json: string }>(
          `SELECT 'ack' AS kind, message_json FROM acks WHERE device_id = ? AND seq = ?
           UNION ALL SELECT 'qos' AS kind, message_json FROM qos_reports WHERE device_id = ? AND seq = ?`,
          [m.deviceId, m.seq, m.deviceId, m.seq],
        );
        const conflict = other.find((o) => o.kind !== m.kind || o.message_json !== m.canonical);
        if (conflict)
          throw new LightNodeError(
            'SEQ_CONFLICT',
            `messages.${i}: ${m.kind} ${m.deviceId}/${m.seq} has other content than the ${conflict.kind} stored with that seq`,
            { field: `messages.${i}`, index: i, deviceId: m.deviceId, seq: m.seq },
          );
        if (n === 1) stored += 1;
        else duplicates += 1;
      }
      return { stored, duplicates };
    });
  }

  /** Stored acks matching `q`, by message time. */
  async acks(q: MessageQuery): Promise<AckRow[]> {
    return (await this.messages<AckDb>('acks', q)).map(ackFromDb);
  }

  /** Stored QoS reports matching `q`, by message time. */
  async qosReports(q: MessageQuery): Promise<QosRow[]> {
    return (await this.messages<QosDb>('qos_reports', q)).map(qosFromDb);
  }

  private messages<T>(table: 'acks' | 'qos_reports', q: MessageQuery): Promise<T[]> {
    const { where, params } = whereOf([
      ['setpoint_id = ?', q.setpointId?.toLowerCase()],
      ['pod_id = ?', q.podId],
      ['at_ms >= ?', q.fromMs],
      ['at_ms < ?', q.toMs],
    ]);
    return this.db.all<T>(`SELECT * FROM ${table} ${where} ORDER BY at_ms, device_id, seq LIMIT ?`, [
      ...params,
      q.limit ?? 1000,
    ]);
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

  /** The BAL key that anchored a transaction (recorded with its window); undefined when there is no record. */
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
    const declared = await this.db.all<DeclaredGapDb>(
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
    acks: number;
    qosReports: number;
  }> {
    const one = async (t: string): Promise<number> =>
      Number((await this.db.all<{ n: number }>(`SELECT count(*) AS n FROM ${t}`))[0]?.n ?? 0);
    return {
      pods: await one('pods'),
      batches: await one('batches'),
      measurements: await one('measurements'),
      outcomes: await one('market_outcomes'),
      declaredGaps: await one('declared_gaps'),
      acks: await one('acks'),
      qosReports: await one('qos_reports'),
    };
  }
}

async function insertSamples(db: SqlDb, batch: SignedBatch): Promise<number> {
  const h = batch.header;
  const sql = `INSERT INTO measurements (device_id, seq, pod_id, ts_ms, batch_first_seq, sample_json) VALUES`;
  if (db.kind === 'postgres') {
    // one multi-row statement per batch (a round trip per row would dominate)
    const params: unknown[] = [];
    const rows = batch.samples.map((s) => {
      params.push(s.deviceId, s.seq, s.podId, s.tsMs, h.firstSeq, sampleToJson(s));
      return '(?, ?, ?, ?, ?, ?)';
    });
    return db.run(`${sql} ${rows.join(', ')} ON CONFLICT (device_id, seq) DO NOTHING`, params);
  }
  let n = 0;
  for (const s of batch.samples)
    n += await db.run(`${sql} (?, ?, ?, ?, ?, ?) ON CONFLICT (device_id, seq) DO NOTHING`, [
      s.deviceId,
      s.seq,
      s.podId,
      s.tsMs,
      h.firstSeq,
      sampleToJson(s),
    ]);
  return n;
}
