/**
 * Reading a store file without an agent (`lightnode buffer stats|verify`): read-only, one consistent snapshot (WAL
 * lets an agent keep writing). A wave-1 outbox is read through a migrated copy in memory (the file is untouched;
 * the agent migrates it at its next start). Anything else — random bytes, an SQLite file of another schema — is
 * OUTBOX_CORRUPT naming the file.
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import {
  LightNodeError,
  decodeSample,
  topicCodecs,
  verifyBatch,
  verifyGap,
  type Eip712Domain,
  type SignedBatch,
  type SignedGap,
} from '@lightnode/protocols';
import { detectLayout, ensureLayout, notAnOutbox, type Layout } from './migrate.js';

export interface VerifyReport {
  ok: boolean;
  layout: Layout;
  integrity: string;
  samples: number;
  batches: number;
  messages: number;
  gaps: { firstSeq: number; lastSeq: number; declared: boolean; reason?: string }[];
  duplicates: number[];
  /** Undelivered batches and gaps that do not decode or verify (id < 0: an unsealed sample −seq). */
  badBatches: { id: number; reason: string }[];
  firstSeq?: number;
  lastSeq?: number;
}

export interface StoreFileStats {
  db: string;
  layout: Layout;
  unsealedSamples: number;
  undeliveredBatches: number;
  undeliveredSamples: number;
  deliveredBatches: number;
  deliveredSamples: number;
  gaps: number;
  undeliveredMessages: number;
  undeliveredBytes: number;
  nextSeq: number;
  nextMessageSeq: number;
  deviceId: string | null;
  journalMode: string;
}

/** Opens a store file read-only, runs `fn` on layout 2 (a migrated in-memory copy for wave 1) in one snapshot. */
export function readStoreFile<T>(
  path: string,
  fn: (db: Database.Database, layout: Layout, file: Database.Database) => T,
): T {
  if (!existsSync(path)) throw new LightNodeError('NOT_FOUND', `outbox ${path} does not exist`, { path });
  let file: Database.Database;
  try {
    file = new Database(path, { readonly: true, fileMustExist: true });
  } catch (e) {
    throw notAnOutbox(path, (e as Error).message, e);
  }
  try {
    let layout: Layout;
    try {
      layout = detectLayout(file);
    } catch (e) {
      throw notAnOutbox(path, `not an SQLite database: ${(e as Error).message}`, e);
    }
    if (layout === 'empty') throw notAnOutbox(path, 'an empty SQLite database');
    if (layout === 'foreign') throw notAnOutbox(path, 'an SQLite database of another schema');
    if (layout === 'v2') return file.transaction(() => fn(file, layout, file))();
    const image = file.serialize();
    image[18] = image[19] = 1; // header: read/write versions 2 (WAL) → 1 (rollback journal), as memory requires
    const copy = new Database(image);
    try {
      ensureLayout(copy, path);
      return fn(copy, layout, file);
    } finally {
      copy.close();
    }
  } finally {
    file.close();
  }
}

export function storeFileStats(path: string): StoreFileStats {
  return readStoreFile(path, (db, layout, file) => {
    const one = (sql: string): number => (db.prepare(sql).pluck().get() as number | null) ?? 0;
    const meta = (k: string): string | undefined =>
      db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(k) as string | undefined;
    const n = "FROM items WHERE kind = 'batch' AND delivered =";
    return {
      db: path,
      layout,
      unsealedSamples: one('SELECT COUNT(*) FROM samples'),
      undeliveredBatches: one(`SELECT COUNT(*) ${n} 0`),
      undeliveredSamples: one(`SELECT SUM(last_seq - first_seq + 1) ${n} 0`) + one('SELECT COUNT(*) FROM samples'),
      deliveredBatches: one(`SELECT COUNT(*) ${n} 1`),
      deliveredSamples: one(`SELECT SUM(last_seq - first_seq + 1) ${n} 1`),
      gaps: one("SELECT COUNT(*) FROM items WHERE kind = 'gap'"),
      undeliveredMessages: one('SELECT COUNT(*) FROM items WHERE lane = 0 AND delivered = 0'),
      undeliveredBytes:
        one('SELECT SUM(LENGTH(payload)) FROM items WHERE delivered = 0') +
        one('SELECT SUM(LENGTH(bytes)) FROM samples'),
      nextSeq: Math.max(
        Number(meta('nextSeq') ?? 0),
        one('SELECT MAX(seq) + 1 FROM samples'),
        one('SELECT MAX(last_seq) + 1 FROM items WHERE lane = 1'),
      ),
      nextMessageSeq: Math.max(
        Number(meta('nextMessageSeq') ?? 0),
        one('SELECT MAX(last_seq) + 1 FROM items WHERE lane = 0'),
      ),
      deviceId: meta('deviceId') ?? null,
      journalMode: file.pragma('journal_mode', { simple: true }) as string,
    };
  });
}

export interface ItemChecks {
  batch: (b: SignedBatch) => void;
  gap: (g: SignedGap) => void;
}

/** The checks of `verifyStoreFile` for a domain: `verifyBatch` and `verifyGap`. */
export function domainChecks(domain: Eip712Domain): ItemChecks {
  return { batch: (b) => void verifyBatch(b, domain), gap: (g) => void verifyGap(g, domain) };
}

interface Range {
  first: number;
  last: number;
  kind: string;
  reason?: string;
}

/**
 * Checks a store file: SQLite integrity, every undelivered batch (decode, leaves, root, signature via `verify`) and
 * gap (decode, `verifyGap`), and sample seq continuity across batches, declared gaps and unsealed samples: any
 * undeclared gap or duplicate is reported. Delivered batches count by their seq ranges (their bytes are gone).
 */
export function verifyStoreFile(path: string, verify: ItemChecks): VerifyReport {
  return readStoreFile(path, (db, layout, file) => {
    const integrity = file.pragma('integrity_check', { simple: true }) as string;
    const ranges: Range[] = [];
    const badBatches: VerifyReport['badBatches'] = [];
    let batches = 0;
    const rows = db
      .prepare(
        'SELECT id, kind, first_seq, last_seq, payload, delivered, info FROM items WHERE lane = 1 ORDER BY first_seq',
      )
      .iterate() as IterableIterator<{
      id: number;
      kind: 'batch' | 'gap';
      first_seq: number;
      last_seq: number;
      payload: Buffer;
      delivered: number;
      info: string | null;
    }>;
    for (const r of rows) {
      const reason =
        r.kind === 'gap' && r.info ? (JSON.parse(r.info) as { decl?: { reason: string } }).decl?.reason : undefined;
      ranges.push({ first: r.first_seq, last: r.last_seq, kind: r.kind, ...(reason ? { reason } : {}) });
      if (r.kind === 'batch') batches++;
      if (r.delivered) continue;
      try {
        const check = (h: { firstSeq: number; lastSeq: number }): void => {
          if (h.firstSeq !== r.first_seq || h.lastSeq !== r.last_seq)
            throw new Error(`${r.kind} covers ${h.firstSeq}..${h.lastSeq}, row says ${r.first_seq}..${r.last_seq}`);
        };
        if (r.kind === 'batch') {
          const b = topicCodecs.batch.decode(r.payload);
          check(b.header);
          verify.batch(b);
        } else {
          const g = topicCodecs.gap.decode(r.payload);
          check(g.message);
          verify.gap(g);
        }
      } catch (e) {
        badBatches.push({ id: r.id, reason: (e as Error).message });
      }
    }
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
    const messages = db.prepare('SELECT COUNT(*) FROM items WHERE lane = 0').pluck().get() as number;
    return { ...continuity(ranges, integrity, badBatches), layout, integrity, samples, batches, messages, badBatches };
  });
}

function continuity(
  ranges: Range[],
  integrity: string,
  badBatches: VerifyReport['badBatches'],
): Pick<VerifyReport, 'ok' | 'gaps' | 'duplicates' | 'firstSeq' | 'lastSeq'> {
  ranges.sort((a, b) => a.first - b.first || a.last - b.last);
  const gaps: VerifyReport['gaps'] = [];
  const duplicates: number[] = [];
  let reach = ranges.length ? ranges[0]!.last : -1;
  for (let i = 1; i < ranges.length; i++) {
    const cur = ranges[i]!;
    if (cur.first > reach + 1) gaps.push({ firstSeq: reach + 1, lastSeq: cur.first - 1, declared: false });
    else for (let s = cur.first; s <= Math.min(cur.last, reach); s++) duplicates.push(s);
    reach = Math.max(reach, cur.last);
  }
  for (const r of ranges)
    if (r.kind === 'gap')
      gaps.push({ firstSeq: r.first, lastSeq: r.last, declared: true, ...(r.reason ? { reason: r.reason } : {}) });
  const undeclared = gaps.filter((g) => !g.declared);
  return {
    ok: integrity === 'ok' && undeclared.length === 0 && duplicates.length === 0 && badBatches.length === 0,
    gaps,
    duplicates,
    ...(ranges.length ? { firstSeq: ranges[0]!.first, lastSeq: reach } : {}),
  };
}
