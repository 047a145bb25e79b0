/**
 * The store-and-forward outbox (better-sqlite3, WAL, synchronous=FULL).
 *
 * Write policy (an SD card must survive years): **one transaction per poll cycle** for all meters — a cycle's samples
 * are committed together, before the cycle counts as read; sealing a window into a signed batch is one more
 * transaction (samples out, batch in); a PUBACK marks a batch delivered (one small transaction). Nothing else writes.
 *
 * Delivery: sealed batches and gap declarations go out in seq order, at least once; receivers deduplicate on
 * (deviceId, seq). Quota: when undelivered data exceed `quotaBytes`, the oldest sealed undelivered batches are evicted
 * whole and replaced by one **signed gap declaration** per run of evicted seqs (energy over the gap when known);
 * signed leaves are never rewritten, metering never blocks, and `fullSinceMs` raises the OUTBOX_FULL alarm.
 */
import Database from 'better-sqlite3';
import { existsSync, renameSync } from 'node:fs';
import {
  LightNodeError,
  decodeBatchWire,
  decodeSample,
  encodeBatchWire,
  encodeSample,
  makeSample,
  sealBatch,
  signGap,
  silentLogger,
  type Clock,
  type Eip712Domain,
  type Gap,
  type Logger,
  type Quality,
  type QuantityName,
  type RawProvenance,
  type Sample,
  type SampleSource,
  type SignedBatch,
  type Signer,
} from '@lightnode/protocols';
import { readSeqFile, writeSeqFile } from '../store/seq-file.js';

export interface OutboxOptions {
  path: string;
  /** The seq high-water file (outside the database). */
  seqFile: string;
  signer: Signer;
  domain: Eip712Domain;
  podId: string;
  clock: Clock;
  quotaBytes: number;
  logger?: Logger;
  /** Seqs reserved per fsync of the seq file (default 1000). */
  seqBlock?: number;
}

export interface CycleReading {
  tsMs: number;
  source: SampleSource;
  values: Partial<Record<QuantityName, { value?: number; quality: Quality }>>;
  raw?: RawProvenance[];
}

export interface PendingItem {
  kind: 'batch' | 'gap';
  id: number;
  firstSeq: number;
  lastSeq: number;
  payload: Buffer;
}

export interface OutboxStats {
  nextSeq: number;
  unsealedSamples: number;
  undeliveredBatches: number;
  undeliveredSamples: number;
  undeliveredGaps: number;
  deliveredBatches: number;
  oldestUndeliveredTsMs?: number;
  bytes: number;
  quotaBytes: number;
  evictedSamples: number;
  fullSinceMs?: number;
  /** Set when a corrupted database was moved aside at start. */
  recovered?: { movedTo: string; reason: string };
}

export interface VerifyReport {
  ok: boolean;
  integrity: string;
  samples: number;
  batches: number;
  gaps: { firstSeq: number; lastSeq: number; declared: boolean; reason?: string }[];
  duplicates: number[];
  badBatches: { id: number; reason: string }[];
  firstSeq?: number;
  lastSeq?: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS samples (seq INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, bytes BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS batches (
  id INTEGER PRIMARY KEY AUTOINCREMENT, first_seq INTEGER NOT NULL UNIQUE, last_seq INTEGER NOT NULL, count INTEGER NOT NULL,
  window_start_ms INTEGER NOT NULL, window_end_ms INTEGER NOT NULL, first_ts_ms INTEGER NOT NULL,
  wire BLOB NOT NULL, delivered INTEGER NOT NULL DEFAULT 0, created_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS batches_undelivered ON batches (delivered, first_seq);
CREATE TABLE IF NOT EXISTS gaps (
  id INTEGER PRIMARY KEY AUTOINCREMENT, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL, reason TEXT NOT NULL,
  signed TEXT NOT NULL, delivered INTEGER NOT NULL DEFAULT 0, created_ms INTEGER NOT NULL);
`;

export class Outbox {
  readonly db: Database.Database;
  private next: number;
  private reservedUpTo: number;
  private fullSince: number | undefined;
  private deliveredSinceEviction = true;
  private readonly log: Logger;
  private recovered: OutboxStats['recovered'];

  private constructor(
    private readonly o: OutboxOptions,
    db: Database.Database,
    recovered?: OutboxStats['recovered'],
  ) {
    this.db = db;
    this.recovered = recovered;
    this.log = (o.logger ?? silentLogger).child({ component: 'outbox' });
    db.exec(SCHEMA);
    const meta = (k: string): string | undefined =>
      (db.prepare('SELECT value FROM meta WHERE key = ?').get(k) as { value: string } | undefined)?.value;
    const dev = meta('deviceId');
    if (dev && dev !== o.signer.address)
      throw new LightNodeError(
        'OUTBOX_CORRUPT',
        `outbox ${o.path} belongs to device ${dev}, not ${o.signer.address}: refusing to mix identities`,
        { path: o.path },
      );
    if (!dev) db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('deviceId', o.signer.address);
    const maxSample = (db.prepare('SELECT MAX(seq) m FROM samples').get() as { m: number | null }).m;
    const maxBatch = (db.prepare('SELECT MAX(last_seq) m FROM batches').get() as { m: number | null }).m;
    const maxGap = (db.prepare('SELECT MAX(last_seq) m FROM gaps').get() as { m: number | null }).m;
    const dbNext = Math.max(
      Number(meta('nextSeq') ?? 0),
      (maxSample ?? -1) + 1,
      (maxBatch ?? -1) + 1,
      (maxGap ?? -1) + 1,
    );
    const file = readSeqFile(o.seqFile);
    if (file && file.deviceId !== o.signer.address)
      throw new LightNodeError(
        'OUTBOX_CORRUPT',
        `seq file ${o.seqFile} belongs to device ${file.deviceId}, not ${o.signer.address}`,
        { path: o.seqFile },
      );
    this.next = dbNext;
    this.reservedUpTo = dbNext;
    if (file && dbNext < file.from) {
      // the database is older than the last reservation: it was restored from a backup. Never reuse a seq.
      this.log.warn('outbox is older than the seq high-water mark (restored backup?): skipping ahead', {
        dbNext,
        from: file.from,
        upTo: file.upTo,
      });
      this.next = file.upTo;
      this.reservedUpTo = file.upTo;
      this.declareGap(dbNext, file.upTo - 1, 'restored_backup', -1, -1);
    } else if (file && file.upTo > dbNext) this.reservedUpTo = file.upTo;
    this.setMeta('nextSeq', String(this.next));
  }

  /**
   * Opens (or creates) the outbox. A file that is not a healthy SQLite database is moved aside
   * (`<path>.corrupt-<ms>`), reported in `stats().recovered`, and a fresh outbox is opened — never silently lost.
   */
  static open(o: OutboxOptions): Outbox {
    const tryOpen = (): Database.Database => {
      const db = new Database(o.path);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      const check = db.pragma('quick_check', { simple: true }) as string;
      if (check !== 'ok') {
        db.close();
        throw new Error(`quick_check: ${check}`);
      }
      return db;
    };
    try {
      return new Outbox(o, tryOpen());
    } catch (e) {
      if (e instanceof LightNodeError) throw e;
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
      (o.logger ?? silentLogger).error('outbox database is corrupt: moved aside, opening a fresh one', {
        path: o.path,
        movedTo,
        reason: (e as Error).message,
      });
      return new Outbox(o, tryOpen(), { movedTo, reason: (e as Error).message });
    }
  }

  private setMeta(k: string, v: string): void {
    this.db
      .prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value')
      .run(k, v);
  }

  private reserve(n: number): void {
    if (this.next + n <= this.reservedUpTo) return;
    const upTo = this.next + n + (this.o.seqBlock ?? 1000);
    writeSeqFile(this.o.seqFile, { deviceId: this.o.signer.address, from: this.next, upTo });
    this.reservedUpTo = upTo;
  }

  get nextSeq(): number {
    return this.next;
  }

  /** Commits one poll cycle's readings as samples, in one transaction; returns them (with their seqs). */
  appendCycle(readings: readonly CycleReading[]): Sample[] {
    if (readings.length === 0) return [];
    this.reserve(readings.length);
    const samples = readings.map((r, i) =>
      makeSample({
        deviceId: this.o.signer.address,
        podId: this.o.podId,
        seq: this.next + i,
        tsMs: r.tsMs,
        source: r.source,
        values: r.values,
        ...(r.raw ? { raw: r.raw } : {}),
      }),
    );
    const ins = this.db.prepare('INSERT INTO samples (seq, ts_ms, bytes) VALUES (?, ?, ?)');
    this.db.transaction(() => {
      for (const s of samples) ins.run(s.seq, s.tsMs, encodeSample(s));
      this.setMeta('nextSeq', String(this.next + samples.length));
    })();
    this.next += samples.length;
    return samples;
  }

  /**
   * Seals unsealed samples into signed batches: consecutive seqs whose tsMs fall in one window
   * [k·windowMs, (k+1)·windowMs), once that window has ended (or `force`). Returns the batches sealed.
   */
  sealDue(windowMs: number, force = false): SignedBatch[] {
    const rows = this.db.prepare('SELECT seq, ts_ms, bytes FROM samples ORDER BY seq').all() as {
      seq: number;
      ts_ms: number;
      bytes: Buffer;
    }[];
    const now = this.o.clock.now();
    const out: SignedBatch[] = [];
    let group: typeof rows = [];
    let ws = 0;
    const flush = (closed: boolean): void => {
      if (!group.length) return;
      if (!closed && !force) return;
      const samples = group.map((r) => decodeSample(r.bytes));
      const b = sealBatch(
        {
          deviceId: this.o.signer.address,
          podId: this.o.podId,
          samples,
          windowStartMs: ws,
          windowEndMs: ws + windowMs,
        },
        this.o.signer,
        this.o.domain,
      );
      const wire = encodeBatchWire(b);
      const first = group[0]!.seq;
      const last = group[group.length - 1]!.seq;
      this.db.transaction(() => {
        this.db
          .prepare(
            'INSERT INTO batches (first_seq, last_seq, count, window_start_ms, window_end_ms, first_ts_ms, wire, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
          )
          .run(first, last, group.length, ws, ws + windowMs, group[0]!.ts_ms, wire, now);
        this.db.prepare('DELETE FROM samples WHERE seq BETWEEN ? AND ?').run(first, last);
      })();
      out.push(b);
      group = [];
    };
    for (const r of rows) {
      const prev = group[group.length - 1];
      const inWindow =
        group.length > 0 && r.ts_ms >= ws && r.ts_ms < ws + windowMs && prev !== undefined && r.seq === prev.seq + 1;
      if (!inWindow) {
        flush(true);
        ws = Math.floor(r.ts_ms / windowMs) * windowMs;
      }
      group.push(r);
    }
    flush(ws + windowMs <= now);
    this.enforceQuota();
    return out;
  }

  private bytes(): number {
    const s = (this.db.prepare('SELECT COALESCE(SUM(LENGTH(bytes)), 0) b FROM samples').get() as { b: number }).b;
    const b = (
      this.db.prepare('SELECT COALESCE(SUM(LENGTH(wire)), 0) b FROM batches WHERE delivered = 0').get() as { b: number }
    ).b;
    const g = (
      this.db.prepare('SELECT COALESCE(SUM(LENGTH(signed)), 0) b FROM gaps WHERE delivered = 0').get() as { b: number }
    ).b;
    return s + b + g;
  }

  private declareGap(
    firstSeq: number,
    lastSeq: number,
    reason: string,
    energyImportWh: number,
    energyExportWh: number,
  ): void {
    // extend an undelivered declaration that ends right before this one (one gap per run, not one per eviction)
    const prev = this.db
      .prepare('SELECT id, first_seq, signed FROM gaps WHERE delivered = 0 AND last_seq = ? AND reason = ?')
      .get(firstSeq - 1, reason) as { id: number; first_seq: number; signed: string } | undefined;
    if (prev) {
      const m = (JSON.parse(prev.signed) as { message: Gap }).message;
      this.db.prepare('DELETE FROM gaps WHERE id = ?').run(prev.id);
      firstSeq = prev.first_seq;
      energyImportWh = m.energyImportWh >= 0 && energyImportWh >= 0 ? m.energyImportWh + energyImportWh : -1;
      energyExportWh = m.energyExportWh >= 0 && energyExportWh >= 0 ? m.energyExportWh + energyExportWh : -1;
    }
    const gap: Gap = {
      version: 1,
      deviceId: this.o.signer.address,
      podId: this.o.podId,
      firstSeq,
      lastSeq,
      count: lastSeq - firstSeq + 1,
      reason,
      energyImportWh,
      energyExportWh,
      atMs: this.o.clock.now(),
    };
    const signed = signGap(gap, this.o.signer, this.o.domain);
    this.db
      .prepare('INSERT INTO gaps (first_seq, last_seq, reason, signed, created_ms) VALUES (?, ?, ?, ?, ?)')
      .run(firstSeq, lastSeq, reason, JSON.stringify(signed), this.o.clock.now());
  }

  /** Evicts the oldest undelivered batches (whole) until under 90 % of the quota, replacing each run by a signed gap. */
  private enforceQuota(): void {
    let bytes = this.bytes();
    if (bytes <= this.o.quotaBytes) {
      // the alarm stays until the link delivers again after the last eviction and the backlog is under half the quota
      if (this.fullSince !== undefined && this.deliveredSinceEviction && bytes < this.o.quotaBytes * 0.5)
        this.fullSince = undefined;
      return;
    }
    this.fullSince ??= this.o.clock.now();
    this.deliveredSinceEviction = false;
    const target = this.o.quotaBytes * 0.9;
    const victims = this.db
      .prepare('SELECT id, first_seq, last_seq, wire FROM batches WHERE delivered = 0 ORDER BY first_seq')
      .iterate() as IterableIterator<{ id: number; first_seq: number; last_seq: number; wire: Buffer }>;
    const evict: { id: number; first: number; last: number; eImp?: [number, number]; eExp?: [number, number] }[] = [];
    for (const v of victims) {
      if (bytes <= target) break;
      let eImp: [number, number] | undefined;
      let eExp: [number, number] | undefined;
      try {
        const b = decodeBatchWire(v.wire);
        const f = b.samples[0]!.quantities;
        const l = b.samples[b.samples.length - 1]!.quantities;
        if (f.energyImportWh !== undefined && l.energyImportWh !== undefined)
          eImp = [f.energyImportWh, l.energyImportWh];
        if (f.energyExportWh !== undefined && l.energyExportWh !== undefined)
          eExp = [f.energyExportWh, l.energyExportWh];
      } catch {
        /* energies unknown: declared as −1 */
      }
      evict.push({
        id: v.id,
        first: v.first_seq,
        last: v.last_seq,
        ...(eImp ? { eImp } : {}),
        ...(eExp ? { eExp } : {}),
      });
      bytes -= v.wire.length;
    }
    if (!evict.length) return;
    this.db.transaction(() => {
      // one gap per run of consecutive evicted seqs
      let run = [evict[0]!];
      const close = (): void => {
        const first = run[0]!.first;
        const last = run[run.length - 1]!.last;
        const span = (k: 'eImp' | 'eExp'): number => {
          const a = run[0]![k];
          const z = run[run.length - 1]![k];
          return a && z && run.every((x) => x[k]) ? z[1] - a[0] : -1;
        };
        this.declareGap(first, last, 'disk_quota', span('eImp'), span('eExp'));
        for (const x of run) this.db.prepare('DELETE FROM batches WHERE id = ?').run(x.id);
      };
      for (const x of evict.slice(1)) {
        if (x.first === run[run.length - 1]!.last + 1) run.push(x);
        else {
          close();
          run = [x];
        }
      }
      close();
    })();
    const n = evict.reduce((a, x) => a + x.last - x.first + 1, 0);
    this.setMeta('evictedSamples', String(Number(this.meta('evictedSamples') ?? 0) + n));
    this.log.warn('disk quota reached: evicted the oldest undelivered batches, declared signed gaps', {
      samples: n,
      quotaBytes: this.o.quotaBytes,
    });
  }

  private meta(k: string): string | undefined {
    return (this.db.prepare('SELECT value FROM meta WHERE key = ?').get(k) as { value: string } | undefined)?.value;
  }

  /** Undelivered batches and gaps, in seq order (at most `limit`, skipping ids in `exclude`). */
  pending(limit: number, exclude: ReadonlySet<string> = new Set()): PendingItem[] {
    const batches = this.db
      .prepare('SELECT id, first_seq, last_seq, wire FROM batches WHERE delivered = 0 ORDER BY first_seq LIMIT ?')
      .all(limit + exclude.size) as { id: number; first_seq: number; last_seq: number; wire: Buffer }[];
    const gaps = this.db
      .prepare('SELECT id, first_seq, last_seq, signed FROM gaps WHERE delivered = 0 ORDER BY first_seq LIMIT ?')
      .all(limit + exclude.size) as { id: number; first_seq: number; last_seq: number; signed: string }[];
    const items: PendingItem[] = [
      ...batches.map((b) => ({
        kind: 'batch' as const,
        id: b.id,
        firstSeq: b.first_seq,
        lastSeq: b.last_seq,
        payload: b.wire,
      })),
      ...gaps.map((g) => ({
        kind: 'gap' as const,
        id: g.id,
        firstSeq: g.first_seq,
        lastSeq: g.last_seq,
        payload: Buffer.from(g.signed),
      })),
    ];
    return items
      .filter((i) => !exclude.has(`${i.kind}:${i.id}`))
      .sort((a, b) => a.firstSeq - b.firstSeq)
      .slice(0, limit);
  }

  /** The broker acknowledged it (PUBACK): delivered. */
  markDelivered(kind: 'batch' | 'gap', id: number): void {
    this.deliveredSinceEviction = true;
    if (kind === 'batch') this.db.prepare("UPDATE batches SET delivered = 1, wire = X'' WHERE id = ?").run(id);
    else this.db.prepare('UPDATE gaps SET delivered = 1 WHERE id = ?').run(id);
  }

  stats(): OutboxStats {
    const q = <T>(sql: string): T => this.db.prepare(sql).get() as T;
    const unsealed = q<{ n: number; ts: number | null }>('SELECT COUNT(*) n, MIN(ts_ms) ts FROM samples');
    const und = q<{ n: number; s: number | null; ts: number | null }>(
      'SELECT COUNT(*) n, SUM(count) s, MIN(first_ts_ms) ts FROM batches WHERE delivered = 0',
    );
    const oldest = [unsealed.ts, und.ts].filter((x): x is number => x !== null);
    return {
      nextSeq: this.next,
      unsealedSamples: unsealed.n,
      undeliveredBatches: und.n,
      undeliveredSamples: (und.s ?? 0) + unsealed.n,
      undeliveredGaps: q<{ n: number }>('SELECT COUNT(*) n FROM gaps WHERE delivered = 0').n,
      deliveredBatches: q<{ n: number }>('SELECT COUNT(*) n FROM batches WHERE delivered = 1').n,
      ...(oldest.length ? { oldestUndeliveredTsMs: Math.min(...oldest) } : {}),
      bytes: this.bytes(),
      quotaBytes: this.o.quotaBytes,
      evictedSamples: Number(this.meta('evictedSamples') ?? 0),
      ...(this.fullSince !== undefined ? { fullSinceMs: this.fullSince } : {}),
      ...(this.recovered ? { recovered: this.recovered } : {}),
    };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/**
 * Checks an outbox file without an agent: SQLite integrity, every undelivered batch decodes and verifies its root and
 * signature, and the sequence (batches, gaps, unsealed samples) is continuous: reports any undeclared gap or duplicate.
 * Delivered batches are counted by their seq ranges (their bytes are dropped after the PUBACK).
 */
export function verifyOutboxFile(path: string, domain: Eip712Domain, verify: (b: SignedBatch) => void): VerifyReport {
  if (!existsSync(path)) throw new LightNodeError('NOT_FOUND', `outbox ${path} does not exist`, { path });
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    // one read transaction: a consistent snapshot even while an agent keeps writing (WAL)
    return db.transaction(() => verifySnapshot(db, verify))();
  } finally {
    db.close();
  }
}

function verifySnapshot(db: Database.Database, verify: (b: SignedBatch) => void): VerifyReport {
  {
    const integrity = db.pragma('integrity_check', { simple: true }) as string;
    const ranges: { first: number; last: number; kind: string; reason?: string }[] = [];
    const badBatches: VerifyReport['badBatches'] = [];
    let batches = 0;
    for (const b of db
      .prepare('SELECT id, first_seq, last_seq, wire, delivered FROM batches ORDER BY first_seq')
      .iterate() as IterableIterator<{
      id: number;
      first_seq: number;
      last_seq: number;
      wire: Buffer;
      delivered: number;
    }>) {
      batches++;
      ranges.push({ first: b.first_seq, last: b.last_seq, kind: 'batch' });
      if (b.delivered) continue;
      try {
        const sb = decodeBatchWire(b.wire);
        if (sb.header.firstSeq !== b.first_seq || sb.header.lastSeq !== b.last_seq)
          throw new Error(
            `header covers ${sb.header.firstSeq}..${sb.header.lastSeq}, row says ${b.first_seq}..${b.last_seq}`,
          );
        verify(sb);
      } catch (e) {
        badBatches.push({ id: b.id, reason: (e as Error).message });
      }
    }
    for (const g of db.prepare('SELECT first_seq, last_seq, reason FROM gaps').iterate() as IterableIterator<{
      first_seq: number;
      last_seq: number;
      reason: string;
    }>)
      ranges.push({ first: g.first_seq, last: g.last_seq, kind: 'gap', reason: g.reason });
    let samples = 0;
    for (const s of db.prepare('SELECT seq, bytes FROM samples').iterate() as IterableIterator<{
      seq: number;
      bytes: Buffer;
    }>) {
      samples++;
      ranges.push({ first: s.seq, last: s.seq, kind: 'sample' });
      try {
        const d = decodeSample(s.bytes);
        if (d.seq !== s.seq) badBatches.push({ id: -s.seq, reason: `sample row ${s.seq} holds seq ${d.seq}` });
      } catch (e) {
        badBatches.push({ id: -s.seq, reason: `sample ${s.seq}: ${(e as Error).message}` });
      }
    }
    ranges.sort((a, b) => a.first - b.first || a.last - b.last);
    const gaps: VerifyReport['gaps'] = [];
    const duplicates: number[] = [];
    for (let i = 1; i < ranges.length; i++) {
      const prev = ranges[i - 1]!;
      const cur = ranges[i]!;
      if (cur.first > prev.last + 1) gaps.push({ firstSeq: prev.last + 1, lastSeq: cur.first - 1, declared: false });
      else if (cur.first <= prev.last)
        for (let s = cur.first; s <= Math.min(cur.last, prev.last); s++) duplicates.push(s);
    }
    for (const r of ranges)
      if (r.kind === 'gap')
        gaps.push({ firstSeq: r.first, lastSeq: r.last, declared: true, ...(r.reason ? { reason: r.reason } : {}) });
    const undeclared = gaps.filter((g) => !g.declared);
    return {
      ok: integrity === 'ok' && undeclared.length === 0 && duplicates.length === 0 && badBatches.length === 0,
      integrity,
      samples,
      batches,
      gaps,
      duplicates,
      badBatches,
      ...(ranges.length ? { firstSeq: ranges[0]!.first, lastSeq: Math.max(...ranges.map((r) => r.last)) } : {}),
    };
  }
}
