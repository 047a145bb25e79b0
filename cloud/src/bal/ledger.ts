/**
 * The BAL's durable state (better-sqlite3, WAL): accepted batches waiting for their anchor window, the windows
 * (sealed → anchored → forwarded), per-device seq continuity with observed and declared gaps, and the dead-letter
 * log. A batch is committed here before its MQTT PUBACK, so a BAL crash, a stopped chain or a stopped SCD never
 * loses an accepted batch: anchoring and forwarding resume from this file.
 */
import Database from 'better-sqlite3';
import { LightNodeError, fromHex, leafHash, merkleLevels, merkleProof, toHex, type Gap } from '@lightnode/protocols';
import { MessageOutbox } from './messages.js';
import {
  LEDGER_SCHEMA,
  gapFromDb,
  ledgerIo,
  minus,
  windowFromDb,
  type DeadLetter,
  type GapDbRow,
  type GapRow,
  type LedgerBatch,
  type SeqRange,
  type WindowBatch,
  type WindowDbRow,
  type WindowRow,
} from './ledger-rows.js';

export type { DeadLetter, GapRow, LedgerBatch, MessageRow, SeqRange, WindowBatch, WindowRow } from './ledger-rows.js';
export { minus } from './ledger-rows.js';

export class BalLedger {
  readonly db: Database.Database;
  /** Verified acks and QoS reports waiting for the SCD. */
  readonly messages: MessageOutbox;
  private readonly st;

  constructor(path: string, opts: { synchronous?: 'FULL' | 'NORMAL' } = {}) {
    try {
      this.db = new Database(path);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${opts.synchronous ?? 'FULL'}`);
      this.db.pragma('busy_timeout = 5000');
      this.db.exec(LEDGER_SCHEMA);
    } catch (e) {
      throw new LightNodeError('IO_ERROR', `BAL ledger ${path}: ${(e as Error).message}`, { path }, { cause: e });
    }
    const db = this.db;
    this.messages = new MessageOutbox(db);
    this.st = {
      byFirst: db.prepare<[string, number], { digest: string; last_seq: number }>(
        'SELECT digest, last_seq FROM batches WHERE device_id = ? AND first_seq = ?',
      ),
      // accepted batches never overlap, so only the last one starting at or before lastSeq can overlap [first, last]
      overlap: db.prepare<[string, number], { first_seq: number; last_seq: number }>(
        'SELECT first_seq, last_seq FROM batches WHERE device_id = ? AND first_seq <= ? ORDER BY first_seq DESC LIMIT 1',
      ),
      insertBatch: db.prepare(
        'INSERT INTO batches (device_id, first_seq, last_seq, digest, wire, received_ms) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      high: db.prepare<[string], { high_seq: number }>('SELECT high_seq FROM devices WHERE device_id = ?'),
      setHigh: db.prepare(
        'INSERT INTO devices (device_id, high_seq) VALUES (?, ?) ON CONFLICT (device_id) DO UPDATE SET high_seq = max(high_seq, excluded.high_seq)',
      ),
      gapsOverlapping: db.prepare<[string, string, number, number], GapDbRow>(
        'SELECT * FROM gaps WHERE device_id = ? AND kind = ? AND first_seq <= ? AND last_seq >= ?',
      ),
      deleteGap: db.prepare('DELETE FROM gaps WHERE device_id = ? AND first_seq = ? AND kind = ?'),
      insertGap: db.prepare(
        `INSERT INTO gaps (device_id, first_seq, last_seq, kind, reason, energy_import_wh, energy_export_wh, at_ms, signed)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      ),
      unassigned: db.prepare<[], { device_id: string; first_seq: number; digest: string }>(
        'SELECT device_id, first_seq, digest FROM batches WHERE window_id IS NULL ORDER BY received_ms, device_id, first_seq',
      ),
      insertWindow: db.prepare(
        "INSERT INTO windows (start_ms, end_ms, root, leaf_count, state) VALUES (?, ?, ?, ?, 'sealed')",
      ),
      assign: db.prepare('UPDATE batches SET window_id = ?, window_index = ? WHERE device_id = ? AND first_seq = ?'),
    };
  }

  /**
   * Records a verified batch. Throws `BATCH_DUPLICATE` (the same batch again: drop it, it is already here) or
   * `SEQ_CONFLICT` (other content for seqs already accepted: a replay or a device fault). Returns the gap this batch
   * reveals (`continuity: true`), if any.
   */
  recordBatch(b: LedgerBatch, continuity = true): { gap?: SeqRange } {
    return this.io('recording a batch', () => this.recordBatchTx(b, continuity));
  }

  /** Storage failures (disk full, closed file) become IO_ERROR: the caller must not acknowledge the message. */
  private io<T>(what: string, fn: () => T): T {
    return ledgerIo(what, fn);
  }

  private recordBatchTx(b: LedgerBatch, continuity: boolean): { gap?: SeqRange } {
    return this.db.transaction(() => {
      const same = this.st.byFirst.get(b.deviceId, b.firstSeq);
      if (same && same.digest === b.digest && same.last_seq === b.lastSeq)
        throw new LightNodeError(
          'BATCH_DUPLICATE',
          `batch ${b.deviceId}/${b.firstSeq}..${b.lastSeq} was already accepted (dropped, idempotent)`,
          { deviceId: b.deviceId, firstSeq: b.firstSeq },
        );
      const prev = same ? undefined : this.st.overlap.get(b.deviceId, b.lastSeq);
      const o = same
        ? { first_seq: b.firstSeq, last_seq: same.last_seq }
        : prev && prev.last_seq >= b.firstSeq
          ? prev
          : undefined;
      if (o)
        throw new LightNodeError(
          'SEQ_CONFLICT',
          `batch ${b.deviceId}/${b.firstSeq}..${b.lastSeq} overlaps the accepted batch ${o.first_seq}..${o.last_seq} with other content (replayed seqs)`,
          { deviceId: b.deviceId, firstSeq: b.firstSeq, acceptedFirstSeq: o.first_seq },
        );
      this.st.insertBatch.run(b.deviceId, b.firstSeq, b.lastSeq, b.digest, b.wire, b.receivedMs);
      let gap: SeqRange | undefined;
      if (continuity) {
        const high = this.st.high.get(b.deviceId)?.high_seq;
        if (high !== undefined && b.firstSeq > high + 1) {
          gap = { firstSeq: high + 1, lastSeq: b.firstSeq - 1 };
          for (const r of this.subtractDeclared(b.deviceId, gap))
            this.st.insertGap.run(
              b.deviceId,
              r.firstSeq,
              r.lastSeq,
              'observed',
              'not received',
              -1,
              -1,
              b.receivedMs,
              null,
            );
        } else if (high !== undefined && b.firstSeq <= high) this.cut(b.deviceId, 'observed', b);
      }
      this.st.setHigh.run(b.deviceId, b.lastSeq);
      return gap ? { gap } : {};
    })();
  }

  /** Records a device's verified gap declaration; it explains (closes) the observed gaps it covers. */
  recordDeclaredGap(g: Gap, signedJson: string, atMs: number): void {
    this.io('recording a declared gap', () => this.recordDeclaredGapTx(g, signedJson, atMs));
  }

  private recordDeclaredGapTx(g: Gap, signedJson: string, atMs: number): void {
    this.db.transaction(() => {
      this.cut(g.deviceId, 'observed', g);
      this.st.insertGap.run(
        g.deviceId,
        g.firstSeq,
        g.lastSeq,
        'declared',
        g.reason,
        g.energyImportWh,
        g.energyExportWh,
        atMs,
        signedJson,
      );
      this.st.setHigh.run(g.deviceId, g.lastSeq);
    })();
  }

  private subtractDeclared(deviceId: string, r: SeqRange): SeqRange[] {
    let parts = [r];
    for (const d of this.st.gapsOverlapping.all(deviceId, 'declared', r.lastSeq, r.firstSeq))
      parts = parts.flatMap((p) => minus(p, { firstSeq: d.first_seq, lastSeq: d.last_seq }));
    return parts;
  }

  /** Removes `r` from the gaps of `kind` (a late batch or a declaration fills part of an observed gap). */
  private cut(deviceId: string, kind: 'observed', r: SeqRange): void {
    for (const g of this.st.gapsOverlapping.all(deviceId, kind, r.lastSeq, r.firstSeq)) {
      this.st.deleteGap.run(deviceId, g.first_seq, kind);
      for (const rest of minus({ firstSeq: g.first_seq, lastSeq: g.last_seq }, r))
        this.st.insertGap.run(
          deviceId,
          rest.firstSeq,
          rest.lastSeq,
          kind,
          g.reason,
          g.energy_import_wh,
          g.energy_export_wh,
          g.at_ms,
          g.signed,
        );
    }
  }

  gaps(deviceId?: string): GapRow[] {
    const rows = deviceId
      ? this.db.prepare<[string], GapDbRow>('SELECT * FROM gaps WHERE device_id = ? ORDER BY first_seq').all(deviceId)
      : this.db.prepare<[], GapDbRow>('SELECT * FROM gaps ORDER BY device_id, first_seq').all();
    return rows.map(gapFromDb);
  }

  /** Declared gaps not yet forwarded to the SCD. */
  declaredToForward(): GapRow[] {
    return this.db
      .prepare<[], GapDbRow>("SELECT * FROM gaps WHERE kind = 'declared' AND forwarded = 0 ORDER BY at_ms")
      .all()
      .map(gapFromDb);
  }

  markGapsForwarded(gs: readonly GapRow[]): void {
    const st = this.db.prepare(
      "UPDATE gaps SET forwarded = 1 WHERE device_id = ? AND first_seq = ? AND kind = 'declared'",
    );
    this.db.transaction(() => gs.forEach((g) => st.run(g.deviceId, g.firstSeq)))();
  }

  /**
   * Seals every batch not yet in a window into one anchor window: leaves = keccak256(0x00 ‖ batch digest), in
   * arrival order. Returns null when there is nothing to seal.
   */
  sealWindow(startMs: number, endMs: number): WindowRow | null {
    return this.db.transaction(() => {
      const rows = this.st.unassigned.all();
      if (rows.length === 0) return null;
      const levels = merkleLevels(rows.map((r) => leafHash(fromHex(r.digest))));
      const root = toHex(levels.at(-1)![0]!);
      const id = Number(this.st.insertWindow.run(startMs, endMs, root, rows.length).lastInsertRowid);
      rows.forEach((r, i) => this.st.assign.run(id, i, r.device_id, r.first_seq));
      return this.window(id)!;
    })();
  }

  window(id: number): WindowRow | undefined {
    const r = this.db.prepare<[number], WindowDbRow>('SELECT * FROM windows WHERE id = ?').get(id);
    return r && windowFromDb(r);
  }

  windows(state: WindowRow['state']): WindowRow[] {
    return this.db
      .prepare<[string], WindowDbRow>('SELECT * FROM windows WHERE state = ? ORDER BY id')
      .all(state)
      .map(windowFromDb);
  }

  /** The window's batches in leaf order, each with its anchor-window Merkle path. */
  windowBatches(id: number): WindowBatch[] {
    const rows = this.db
      .prepare<
        [number],
        { device_id: string; first_seq: number; digest: string; wire: Buffer | null; window_index: number }
      >(
        'SELECT device_id, first_seq, digest, wire, window_index FROM batches WHERE window_id = ? ORDER BY window_index',
      )
      .all(id);
    const levels = merkleLevels(rows.map((r) => leafHash(fromHex(r.digest))));
    return rows.map((r) => {
      if (!r.wire)
        throw new LightNodeError('INTERNAL', `window ${id}: batch ${r.device_id}/${r.first_seq} has no payload`, {});
      return {
        deviceId: r.device_id,
        firstSeq: r.first_seq,
        digest: r.digest,
        wire: new Uint8Array(r.wire),
        index: r.window_index,
        path: merkleProof(levels, r.window_index).map(toHex),
      };
    });
  }

  noteAttempt(id: number): number {
    this.db.prepare('UPDATE windows SET attempts = attempts + 1 WHERE id = ?').run(id);
    return this.window(id)?.attempts ?? 0;
  }

  markAnchored(
    id: number,
    a: {
      txHash: string;
      blockNumber: number;
      contract: string;
      chainId: number;
      anchorer: string;
      anchoredAtS: number;
    },
  ): void {
    this.db
      .prepare(
        "UPDATE windows SET state = 'anchored', tx_hash = ?, block_number = ?, contract = ?, chain_id = ?, anchorer = ?, anchored_at_s = ?, attempts = 0 WHERE id = ?",
      )
      .run(a.txHash, a.blockNumber, a.contract, a.chainId, a.anchorer, a.anchoredAtS, id);
  }

  /** After the SCD has the window: payloads are dropped, the (device, seq range, digest) rows stay for dedupe. */
  markForwarded(id: number): void {
    this.db.transaction(() => {
      this.db.prepare("UPDATE windows SET state = 'forwarded' WHERE id = ?").run(id);
      this.db.prepare('UPDATE batches SET wire = NULL WHERE window_id = ?').run(id);
    })();
  }

  deadLetter(d: {
    topic: string;
    deviceId?: string;
    code: string;
    message: string;
    payload: Uint8Array;
    atMs: number;
  }): void {
    this.db
      .prepare('INSERT INTO dead_letters (at_ms, topic, device_id, code, message, payload) VALUES (?, ?, ?, ?, ?, ?)')
      .run(d.atMs, d.topic, d.deviceId ?? null, d.code, d.message, d.payload);
  }

  deadLetters(limit = 100): DeadLetter[] {
    return this.db
      .prepare<
        [number],
        {
          id: number;
          at_ms: number;
          topic: string;
          device_id: string | null;
          code: string;
          message: string;
          bytes: number;
        }
      >(
        'SELECT id, at_ms, topic, device_id, code, message, length(payload) AS bytes FROM dead_letters ORDER BY id DESC LIMIT ?',
      )
      .all(limit)
      .map((r) => ({
        id: r.id,
        atMs: r.at_ms,
        topic: r.topic,
        ...(r.device_id ? { deviceId: r.device_id } : {}),
        code: r.code,
        message: r.message,
        bytes: r.bytes ?? 0,
      }));
  }

  stats(): {
    batches: number;
    pendingBatches: number;
    windows: Record<WindowRow['state'], number>;
    deadLetters: number;
    openGaps: number;
    pendingMessages: number;
  } {
    const one = (sql: string): number => (this.db.prepare(sql).pluck().get() as number) ?? 0;
    const w = { sealed: 0, anchored: 0, forwarded: 0 };
    for (const r of this.db
      .prepare<[], { state: WindowRow['state']; n: number }>('SELECT state, count(*) AS n FROM windows GROUP BY state')
      .all())
      w[r.state] = r.n;
    return {
      batches: one('SELECT count(*) FROM batches'),
      pendingBatches: one(
        "SELECT count(*) FROM batches WHERE window_id IS NULL OR window_id IN (SELECT id FROM windows WHERE state != 'forwarded')",
      ),
      windows: w,
      deadLetters: one('SELECT count(*) FROM dead_letters'),
      openGaps: one("SELECT count(*) FROM gaps WHERE kind = 'observed'"),
      pendingMessages: one('SELECT count(*) FROM messages WHERE forwarded = 0'),
    };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
