/**
 * Store layouts and the migration of a wave-1 outbox (tables `batches` and `gaps`, no `items`) to layout 2, in one
 * transaction at open: every batch (delivered or not, in seq order, its energies read from the wire), every gap
 * (its signed bytes re-encoded by the gap codec, identical to wave 1's JSON), the unsealed samples (same table) and
 * meta (nextSeq, evictedSamples, deviceId) are kept; the old tables are dropped. Nothing is lost.
 */
import type Database from 'better-sqlite3';
import { LightNodeError, decodeBatchWire, topicCodecs, type Gap } from '@lightnode/protocols';
import { energySpan } from './batcher.js';
import { SCHEMA, SCHEMA_VERSION, itemInfo } from './sqlite-backend.js';

export type Layout = 'empty' | 'wave1' | 'v2' | 'foreign';

export function detectLayout(db: Database.Database): Layout {
  const tables = new Set(
    (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]).filter(
      (n) => !n.startsWith('sqlite_'),
    ),
  );
  if (tables.size === 0) return 'empty';
  const has = (...names: string[]): boolean => names.every((n) => tables.has(n));
  if (has('meta', 'samples', 'items')) return 'v2';
  if (has('meta', 'samples', 'batches', 'gaps') && !tables.has('items')) return 'wave1';
  return 'foreign';
}

/** OUTBOX_CORRUPT naming the file: it is not a Light Node outbox (and is left untouched). */
export function notAnOutbox(path: string, why: string, cause?: unknown): LightNodeError {
  return new LightNodeError(
    'OUTBOX_CORRUPT',
    `${path} is not a Light Node outbox (${why})`,
    { path },
    cause === undefined ? undefined : { cause },
  );
}

/** Creates layout 2 in an empty file, migrates a wave-1 one; throws `notAnOutbox` for anything else. */
export function ensureLayout(
  db: Database.Database,
  path: string,
): { migrated?: { from: 'wave1'; batches: number; gaps: number; samples: number } } {
  const layout = detectLayout(db);
  if (layout === 'foreign') throw notAnOutbox(path, 'an SQLite database of another schema');
  if (layout === 'wave1') return { migrated: migrateWave1(db) };
  db.exec(SCHEMA);
  const v = db.prepare("SELECT value FROM meta WHERE key = 'schema'").pluck().get() as string | undefined;
  if (v !== undefined && Number(v) > SCHEMA_VERSION)
    throw new LightNodeError(
      'VERSION_UNSUPPORTED',
      `outbox ${path} has layout ${v}, this agent reads ${SCHEMA_VERSION}`,
      {
        path,
      },
    );
  if (v === undefined) db.prepare("INSERT INTO meta (key, value) VALUES ('schema', ?)").run(String(SCHEMA_VERSION));
  return {};
}

interface Wave1Batch {
  first_seq: number;
  last_seq: number;
  first_ts_ms: number;
  wire: Buffer;
  delivered: number;
  created_ms: number;
}
interface Wave1Gap {
  first_seq: number;
  last_seq: number;
  signed: string;
  delivered: number;
  created_ms: number;
}

function migrateWave1(db: Database.Database): { from: 'wave1'; batches: number; gaps: number; samples: number } {
  return db.transaction(() => {
    db.exec(SCHEMA);
    const ins = db.prepare(
      'INSERT INTO items (kind, lane, first_seq, last_seq, payload, delivered, created_ms, first_ts_ms, info) VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?)',
    );
    const batches = db.prepare('SELECT * FROM batches ORDER BY first_seq').all() as Wave1Batch[];
    const gaps = db.prepare('SELECT * FROM gaps ORDER BY first_seq, id').all() as Wave1Gap[];
    const rows = [
      ...batches.map((b) => ({ kind: 'batch' as const, first: b.first_seq, b })),
      ...gaps.map((g) => ({ kind: 'gap' as const, first: g.first_seq, g })),
    ].sort((x, y) => x.first - y.first);
    for (const r of rows) {
      if (r.kind === 'batch') {
        const b = r.b;
        // delivered batches kept only their seq range in wave 1; undelivered ones keep their wire bytes as they are
        const energies = b.delivered || !b.wire.length ? undefined : energySpan(decodeBatchWire(b.wire).samples);
        const info = energies ? itemInfo({ energies }) : null;
        ins.run('batch', b.first_seq, b.last_seq, b.wire, b.delivered, b.created_ms, b.first_ts_ms, info);
      } else {
        const g = r.g;
        const signed = topicCodecs.gap.decode(Buffer.from(g.signed));
        const m: Gap = signed.message;
        const decl = {
          firstSeq: m.firstSeq,
          lastSeq: m.lastSeq,
          reason: m.reason,
          energyImportWh: m.energyImportWh,
          energyExportWh: m.energyExportWh,
        };
        const payload = g.delivered ? Buffer.alloc(0) : Buffer.from(topicCodecs.gap.encode(signed));
        ins.run('gap', g.first_seq, g.last_seq, payload, g.delivered, g.created_ms, null, itemInfo({ decl }));
      }
    }
    db.exec('DROP TABLE batches; DROP TABLE gaps;');
    db.prepare(
      "INSERT INTO meta (key, value) VALUES ('schema', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    ).run(String(SCHEMA_VERSION));
    const samples = db.prepare('SELECT COUNT(*) FROM samples').pluck().get() as number;
    return { from: 'wave1' as const, batches: batches.length, gaps: gaps.length, samples };
  })();
}
