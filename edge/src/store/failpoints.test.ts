// The `outbox.ackBeforeCommit` failpoint on the fake clock: a committed cycle is committed for the store at once
// (seq advanced, sealable, shippable) and reaches the SQLite file only 2 s later; a process that dies in between
// (its connection dropped without the store's close) loses it, and the reopened store hands out the same seqs again.
import test from 'ava';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryLogger } from '@lightnode/protocols';
import { FakeClock } from '@lightnode/protocols/testing';
import { CONTRACT_START_MS, contractReadings } from '../testing/queue-contract.js';
import { testStoreOptions } from '../testing/store-options.js';
import { ACK_BEFORE_COMMIT_DELAY_MS } from './failpoints.js';
import { SqliteStore } from './sqlite-store.js';

function setup(t: { teardown(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'ln-failpoint-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const clock = new FakeClock(CONTRACT_START_MS);
  const logger = memoryLogger('warn');
  const options = testStoreOptions(dir, clock, { logger, failpoints: ['outbox.ackBeforeCommit'] });
  /** What another process reading the file sees (committed rows only). */
  const onDisk = () => {
    const db = new Database(options.path, { readonly: true });
    try {
      const n = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
      return {
        samples: n('SELECT COUNT(*) n FROM samples'),
        batches: n("SELECT COUNT(*) n FROM items WHERE kind = 'batch'"),
      };
    } finally {
      db.close();
    }
  };
  return { dir, clock, logger, options, onDisk };
}

test('a committed cycle is committed at once for the store and reaches SQLite only 2 s later', async (t) => {
  const { clock, logger, options, onDisk } = setup(t);
  const store = SqliteStore.open(options);
  t.teardown(() => store.close());
  t.deepEqual(store.stats().failpoints, ['outbox.ackBeforeCommit']);
  t.true(logger.lines.some((l) => l.level === 'warn' && String(l.msg).startsWith('FAILPOINTS_ACTIVE')));
  await clock.advance(ACK_BEFORE_COMMIT_DELAY_MS); // the open's own write lands
  const reading = contractReadings();
  const samples = store.commitCycle([reading(clock.now()), reading(clock.now())]);
  t.deepEqual(
    samples.map((s) => s.seq),
    [0, 1],
  );
  t.is(store.stats().nextSeq, 2);
  t.is(store.stats().unsealedSamples, 2, 'visible to the store at once');
  t.deepEqual(onDisk(), { samples: 0, batches: 0 }, 'not in the file yet');
  await clock.advance(1000);
  t.is(store.sealDue().length, 1, 'sealable');
  t.deepEqual(
    store.pending(10).map((i) => [i.kind, i.firstSeq, i.lastSeq]),
    [['batch', 0, 1]],
    'shippable',
  );
  await clock.advance(ACK_BEFORE_COMMIT_DELAY_MS - 1001);
  t.deepEqual(onDisk(), { samples: 0, batches: 0 }, '1999 ms after the commit: still not in the file');
  await clock.advance(1);
  t.deepEqual(onDisk(), { samples: 0, batches: 1 }, '2 s after the commit: the cycle and its seal are in the file');
});

test('a kill before the 2 s loses the acknowledged cycle: the reopened store reuses its seqs', async (t) => {
  const { clock, options, onDisk } = setup(t);
  const store = SqliteStore.open(options);
  await clock.advance(ACK_BEFORE_COMMIT_DELAY_MS);
  const reading = contractReadings();
  const landed = store.commitCycle([reading(clock.now())]);
  await clock.advance(ACK_BEFORE_COMMIT_DELAY_MS);
  t.deepEqual(onDisk(), { samples: 1, batches: 0 });
  const acked = store.commitCycle([reading(clock.now()), reading(clock.now())]);
  t.deepEqual(
    acked.map((s) => s.seq),
    [1, 2],
  );
  await clock.advance(1000);
  t.is(store.sealDue().length, 2, 'sealed and shippable: a shipper would have published seqs 0..2');
  // the kill: the process dies with its connection; the held transaction never commits (the store's close would)
  store.db.close();
  await clock.advance(ACK_BEFORE_COMMIT_DELAY_MS); // the delayed commit finds no connection
  const reopened = SqliteStore.open({ ...options, failpoints: [] });
  t.teardown(() => reopened.close());
  t.is(reopened.stats().nextSeq, 1, 'the acknowledged seqs 1 and 2 are gone');
  t.is(reopened.stats().unsealedSamples, 1);
  t.is(reopened.stats().undeliveredBatches, 0, 'the sealed batch is gone too');
  const reused = reopened.commitCycle([reading(clock.now())]);
  t.is(reused[0]!.seq, acked[0]!.seq, 'seq 1 handed out twice: a conflict the bench must catch');
  t.not(reused[0]!.tsMs, acked[0]!.tsMs, 'another sample under the same seq');
  t.is(landed[0]!.seq, 0);
  t.is(reopened.stats().failpoints, undefined, 'without the failpoint: the default store');
});

test('a graceful close commits what the failpoint held', async (t) => {
  const { clock, options, onDisk } = setup(t);
  const store = SqliteStore.open(options);
  const reading = contractReadings();
  store.commitCycle([reading(clock.now())]);
  store.close();
  t.deepEqual(onDisk(), { samples: 1, batches: 0 });
  const reopened = SqliteStore.open(options);
  t.teardown(() => reopened.close());
  t.is(reopened.stats().nextSeq, 1);
});
