import test from 'ava';
import Database from 'better-sqlite3';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { topicCodecs, verifyBatch, verifyGap } from '@lightnode/protocols';
import { FakeClock, testDomain } from '@lightnode/protocols/testing';
import { testStoreOptions } from '../testing/store-options.js';
import { SqliteStore } from './sqlite-store.js';
import { domainChecks, storeFileStats, verifyStoreFile } from './verify.js';

// edge/fixtures/outbox-wave1.db: made by edge/fixtures/make-outbox-wave1.mjs with the wave-1 Outbox (see there)
const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures');
const dom = testDomain();
const verify = domainChecks(dom);

function copyFixture() {
  const dir = mkdtempSync(join(tmpdir(), 'ln-wave1-'));
  copyFileSync(join(FIXTURES, 'outbox-wave1.db'), join(dir, 'outbox.db'));
  copyFileSync(join(FIXTURES, 'outbox-wave1.seq.hwm'), join(dir, 'seq.hwm'));
  const clock = new FakeClock(Date.UTC(2024, 0, 10, 10));
  const open = () => SqliteStore.open(testStoreOptions(dir, clock, { domain: dom }));
  return { dir, clock, open };
}

/** What the wave-1 file holds, read straight from its tables. */
function wave1Rows(path: string) {
  const db = new Database(path, { readonly: true });
  try {
    return {
      batches: db.prepare('SELECT first_seq, last_seq, wire, delivered FROM batches ORDER BY first_seq').all() as {
        first_seq: number;
        last_seq: number;
        wire: Buffer;
        delivered: number;
      }[],
      gaps: db.prepare('SELECT first_seq, last_seq, signed, delivered FROM gaps ORDER BY first_seq').all() as {
        first_seq: number;
        last_seq: number;
        signed: string;
        delivered: number;
      }[],
      samples: db.prepare('SELECT seq, bytes FROM samples ORDER BY seq').all() as { seq: number; bytes: Buffer }[],
    };
  } finally {
    db.close();
  }
}

test('a wave-1 outbox is migrated at open: samples, undelivered batches, gaps and nextSeq kept, byte for byte', async (t) => {
  const { dir, open, clock } = copyFixture();
  try {
    const path = join(dir, 'outbox.db');
    const old = wave1Rows(path);
    t.deepEqual([old.batches.length, old.gaps.length, old.samples.length], [23, 2, 5]);
    // the CLI reads a wave-1 file through a migrated copy, leaving the file alone
    const before = storeFileStats(path);
    t.is(before.layout, 'wave1');
    t.is(before.nextSeq, 505);
    t.true(verifyStoreFile(path, verify).ok);
    t.is(wave1Rows(path).batches.length, 23, 'the file is untouched');

    const s = open();
    const st = s.stats();
    t.deepEqual(st.migrated, { from: 'wave1', batches: 23, gaps: 2, samples: 5 });
    t.is(st.nextSeq, 505);
    t.is(st.unsealedSamples, 5);
    t.is(st.undeliveredBatches, 21);
    t.is(st.deliveredBatches, 2);
    t.is(st.undeliveredGaps, 1);
    t.is(st.evictedSamples, 270);
    const pending = s.pending(1000);
    const undelivered = [
      ...old.gaps.filter((g) => !g.delivered).map((g) => ['gap', g.first_seq, g.last_seq, Buffer.from(g.signed)]),
      ...old.batches.filter((b) => !b.delivered).map((b) => ['batch', b.first_seq, b.last_seq, b.wire]),
    ].sort((a, b) => (a[1] as number) - (b[1] as number));
    t.deepEqual(
      pending.map((i) => [i.kind, i.firstSeq, i.lastSeq, Buffer.from(i.payload)]),
      undelivered,
    );
    for (const i of pending)
      if (i.kind === 'batch') verifyBatch(topicCodecs.batch.decode(i.payload), dom);
      else verifyGap(topicCodecs.gap.decode(i.payload), dom);
    // it goes on where wave 1 stopped
    const [next] = s.commitCycle([
      { tsMs: clock.now(), source: 'sim', values: { activePowerW: { value: 1, quality: 'good' } } },
    ]);
    t.is(next!.seq, 505);
    t.is(s.sealDue(true).length, 2, 'the wave-1 open window and the new sample');
    s.close();
    const after = storeFileStats(path);
    t.is(after.layout, 'v2');
    t.is(after.nextSeq, 506);
    const r = verifyStoreFile(path, verify);
    t.true(r.ok, JSON.stringify(r));
    t.deepEqual(
      r.gaps.map((g) => [g.firstSeq, g.lastSeq, g.reason]),
      [
        [0, 89, 'disk_quota'],
        [110, 289, 'disk_quota'],
      ],
    );
    const again = open(); // a second open does not migrate again
    t.is(again.stats().migrated, undefined);
    t.is(again.nextSeq, 506);
    again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
