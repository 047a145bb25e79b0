// The outbox maintenance job on a real SQLite store: WAL checkpoint (TRUNCATE), delivered batches older than
// keepDeliveredDays pruned as a contiguous prefix only — `buffer verify`'s code path (verifyStoreFile) passes before
// and after, while the store is open and after a reopen, and the next seq never goes back.
import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock, testDomain } from '@lightnode/protocols/testing';
import { contractReadings } from '../testing/queue-contract.js';
import { testStoreOptions } from '../testing/store-options.js';
import { SqliteStore, domainChecks, verifyStoreFile } from '../store/index.js';
import { maintainOutbox, outboxMaintenance } from './outbox-maintenance.js';

const DAY = 86_400_000;
const START = Date.UTC(2026, 10, 20, 12);

/** Ten days, one batch of 3 samples a day; `delivered(day)` tells which days' batches got their PUBACK. */
async function tenDays(t: ExecutionContext, delivered: (day: number) => boolean) {
  const dir = mkdtempSync(join(tmpdir(), 'ln-jobs-outbox-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const clock = new FakeClock(START);
  const path = join(dir, 'outbox.db');
  const open = () =>
    SqliteStore.open(testStoreOptions(dir, clock, { path, domain: testDomain(), seqBlock: 50, windowMs: 60_000 }));
  const store = open();
  const reading = contractReadings();
  const days: { firstSeq: number; lastSeq: number }[] = [];
  for (let day = 0; day < 10; day++) {
    for (let i = 0; i < 3; i++) {
      store.commitCycle([reading(clock.now())]);
      await clock.advance(1000);
    }
    const sealed = store.sealDue(true);
    t.is(sealed.length, 1);
    const b = sealed[0];
    days.push({ firstSeq: b!.header.firstSeq, lastSeq: b!.header.lastSeq });
    await clock.advance(DAY - 3000);
  }
  for (const item of store.pending(100))
    if (delivered(days.findIndex((d) => d.firstSeq === item.firstSeq))) store.markDelivered(item.id);
  const verify = () => verifyStoreFile(path, domainChecks(testDomain()));
  return { dir, path, clock, store, open, days, verify };
}

test('prunes delivered batches older than keepDeliveredDays; buffer verify passes before and after', async (t) => {
  const { path, clock, store, open, days, verify } = await tenDays(t, (d) => d !== 6 && d < 8);
  const before = verify();
  t.true(before.ok);
  t.is(before.firstSeq, days[0]!.firstSeq);
  // now: day 10; 7 days kept → the batches of days 0–2 are older (day 3 is the first one too young)
  const r = maintainOutbox(store.db, { keepDeliveredDays: 7, nowMs: clock.now() });
  t.is(r.pruned, 3);
  t.is(r.prunedThroughSeq, days[2]!.lastSeq);
  const after = verify(); // the store still open, as the agent keeps it
  t.true(after.ok, JSON.stringify(after.gaps));
  t.is(after.firstSeq, days[3]!.firstSeq);
  t.is(after.lastSeq, days[9]!.lastSeq);
  t.deepEqual(after.gaps, []);
  t.is(statSync(`${path}-wal`).size, 0); // TRUNCATE checkpoint
  t.is(r.checkpoint.busy, 0);
  // keep 0 days: the prefix runs up to day 6 (undelivered); day 7 (delivered) stays behind it
  const r0 = maintainOutbox(store.db, { keepDeliveredDays: 0, nowMs: clock.now() });
  t.is(r0.pruned, 3);
  t.is(r0.prunedThroughSeq, days[5]!.lastSeq);
  t.true(verify().ok);
  t.is(verify().firstSeq, days[6]!.firstSeq);
  // undelivered batches are untouched and still shipped
  t.deepEqual(
    store.pending(100).map((i) => i.firstSeq),
    [days[6]!.firstSeq, days[8]!.firstSeq, days[9]!.firstSeq],
  );
  const next = store.nextSeq;
  store.close();
  const again = open();
  t.true(again.nextSeq >= next);
  again.close();
  t.true(verify().ok);
});

test('everything delivered: the newest row is kept (it carries the highest seq); the job reports its figures', async (t) => {
  const { clock, store, days, verify } = await tenDays(t, () => true);
  const out = outboxMaintenance(store.db, { keepDeliveredDays: 0, nowMs: clock.now() });
  t.like(out.details, { pruned: 9, prunedThroughSeq: days[8]!.lastSeq });
  const v = verify();
  t.true(v.ok);
  t.is(v.firstSeq, days[9]!.firstSeq);
  t.is(v.batches, 1);
  // nothing more to prune: idempotent
  t.like(maintainOutbox(store.db, { keepDeliveredDays: 0, nowMs: clock.now() }), { pruned: 0 });
  store.close();
  t.deepEqual(outboxMaintenance(null, { keepDeliveredDays: 7, nowMs: 0 }), {
    details: { skipped: 'the store has no SQLite file' },
  });
});
