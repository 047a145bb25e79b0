/**
 * `npm run -s bench -- scd [--json]`: SCD ingest, rows (samples) per second, through the store's own path
 * (`checkWindow`: decode each batch's wire bytes, re-check its anchor-window path; `ScdStore.writeWindow`: insert the batch and its
 * samples deduplicated on (deviceId, seq), one transaction per window) on SQLite (the embedded default, WAL) and on
 * PostgreSQL 15 (Debian's server, started here on loopback). Also: re-ingesting the same windows (all duplicates).
 * Dataset: 8 devices × 250 batches of 60 samples, 50 batches per 4-s anchor window.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePrivateKey, privateKeySigner } from '@lightnode/protocols';
import { ScdStore, checkWindow, openPostgres, openSqlite, type SqlDb, type WindowDelivery } from '@lightnode/cloud';
import { sealedBatch, windowOf } from '@lightnode/cloud/testing';
import { startPostgres } from '@lightnode/hw-test';
import { emit, type BenchResult } from './common.js';

const DEVICES = 8;
const BATCHES = 250;
const PER_WINDOW = 50;

async function run(db: SqlDb, windows: WindowDelivery[], rows: number): Promise<{ fresh: number; dup: number }> {
  const store = new ScdStore(db);
  await store.init();
  let t = performance.now();
  let stored = 0;
  for (const w of windows) stored += (await store.writeWindow(checkWindow(w), Date.now())).samplesStored;
  const fresh = (rows * 1000) / (performance.now() - t);
  if (stored !== rows) throw new Error(`bench: stored ${stored} of ${rows}`);
  const again = windows.slice(0, Math.ceil(windows.length / 4));
  t = performance.now();
  let dups = 0;
  for (const w of again) dups += (await store.writeWindow(checkWindow(w), Date.now())).samplesDuplicate;
  const dup = (dups * 1000) / (performance.now() - t);
  if ((await store.counts()).measurements !== rows) throw new Error('bench: duplicates were stored');
  await store.close();
  return { fresh, dup };
}

export async function main(args: string[]): Promise<number> {
  const devices = Array.from({ length: DEVICES }, () => privateKeySigner(generatePrivateKey()));
  const batches = [];
  for (let k = 0; k < BATCHES; k++) for (const d of devices) batches.push(sealedBatch(d, k * 60, 60));
  const windows: WindowDelivery[] = [];
  for (let i = 0; i < batches.length; i += PER_WINDOW) windows.push(windowOf(batches.slice(i, i + PER_WINDOW)));
  const rows = DEVICES * BATCHES * 60;
  process.stderr.write(`  ${rows} samples in ${batches.length} batches, ${windows.length} windows\n`);

  const dir = mkdtempSync(join(tmpdir(), 'ln-bench-scd-'));
  const results: BenchResult[] = [];
  const rates: Record<string, number> = {};
  try {
    const lite = await run(openSqlite(join(dir, 'scd.sqlite')), windows, rows);
    rates.sqlite = lite.fresh;
    results.push(
      { name: 'sqlite.ingestRowsPerSecond', value: Math.round(lite.fresh), unit: 'rows/s' },
      { name: 'sqlite.duplicateRowsPerSecond', value: Math.round(lite.dup), unit: 'rows/s' },
    );
    const pg = await startPostgres();
    try {
      const r = await run(await openPostgres(pg.url), windows, rows);
      rates.postgres = r.fresh;
      results.push(
        { name: 'postgres.ingestRowsPerSecond', value: Math.round(r.fresh), unit: 'rows/s' },
        { name: 'postgres.duplicateRowsPerSecond', value: Math.round(r.dup), unit: 'rows/s' },
      );
    } finally {
      await pg.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  emit(
    {
      bench: 'scd',
      command: 'npm run -s bench -- scd',
      dataset: `${rows} samples (${DEVICES} devices × ${BATCHES} batches of 60), ${PER_WINDOW} batches per window; SQLite WAL synchronous=NORMAL; PostgreSQL 15 defaults (fsync on)`,
      results,
      ratios: { sqliteOverPostgres: rates.sqlite / rates.postgres },
    },
    args,
  );
  return 0;
}
