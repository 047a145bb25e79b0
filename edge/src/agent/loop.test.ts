// The loop alone (FakeClock, FakeSource, FakeQueue, FakeLink): readings held in memory while store writes fail, up to
// the bound; beyond it the oldest are declared in one signed gap (store_write_failed) — no seq without a trace.
import test from 'ava';
import { steppedClock, topicCodecs, verifyGap } from '@lightnode/protocols';
import { FakeClock, testDomain } from '@lightnode/protocols/testing';
import { FakeLink, FakeQueue, FakeSource } from '../testing/index.js';
import { AgentLoop } from './loop.js';

test('beyond the in-memory bound the oldest held readings become a signed gap; the rest are committed after', async (t) => {
  const clock = new FakeClock(Date.UTC(2024, 0, 10, 9));
  const store = FakeQueue.open({ clock, windowMs: 10_000 });
  const link = new FakeLink(() => clock.now());
  link.connect();
  const loop = new AgentLoop({
    clock,
    store,
    link,
    sources: [new FakeSource('m', clock, { pollMs: 1000 })],
    maxHeldSamples: 6,
  });
  loop.start();
  await clock.advance(2_000); // readings at 0, 1, 2 s committed: seqs 0 … 2
  store.disk.full = true;
  await clock.advance(10_000); // 10 readings (3 … 12 s) while the disk is full
  const held = loop.stats();
  t.is(held.heldSamples, 6, 'held up to the bound');
  t.is(held.lostSamples, 4);
  t.truthy(held.writeFailure);
  t.is(store.stats().heldDeclarations, 1, 'the gap declaration waits in memory for a successful write');
  store.disk.full = false;
  await clock.advance(1_000);
  t.is(loop.stats().writeFailure, undefined);
  t.is(loop.stats().heldSamples, 0);
  const gaps = link.sent('gap');
  t.is(gaps.length, 1);
  const g = gaps[0]!;
  t.is(g.message.reason, 'store_write_failed');
  t.is(Number(g.message.firstSeq), 3);
  t.is(Number(g.message.lastSeq), 6);
  t.notThrows(() => verifyGap(g, testDomain()));
  t.is(store.stats().nextSeq, 14, 'seqs 0 … 13: 3 committed, 4 declared lost, 7 committed after');
  // the batches cover 0 … 2 and 7 … onwards; with the gap every seq is accounted for
  await clock.advance(10_000);
  const covered = new Set<number>();
  for (const b of link.sent('batch')) for (const s of b.samples) covered.add(s.seq);
  for (let s = Number(g.message.firstSeq); s <= Number(g.message.lastSeq); s++) covered.add(s);
  t.deepEqual(
    [...covered].sort((a, b) => a - b),
    [...Array(covered.size).keys()],
  );
  t.is(
    topicCodecs.gap.decode(link.published.find((p) => p.leaf === 'gap')!.payload).message.reason,
    'store_write_failed',
  );
  await loop.stopPolling();
  loop.stopShipping();
});

test('a wall-clock step (−300 s, then +300 s) neither stalls nor bunches the cycles: due times are monotonic', async (t) => {
  const base = new FakeClock(Date.UTC(2024, 0, 10, 9));
  const clock = steppedClock({ offsetMs: 0, speed: 1 }, base);
  const store = FakeQueue.open({ clock, windowMs: 1000 });
  const link = new FakeLink(() => clock.now());
  link.connect();
  const loop = new AgentLoop({ clock, store, link, sources: [new FakeSource('m', clock, { pollMs: 1000 })] });
  loop.start();
  await base.advance(3_000);
  t.is(loop.stats().cycles, 3);
  clock.stepMs = -300_000;
  await base.advance(3_000);
  t.is(loop.stats().cycles, 6, 'one cycle a second after the backward step');
  clock.stepMs = 0;
  await base.advance(1_000);
  t.is(loop.stats().cycles, 7, 'no burst of cycles after the forward step');
  t.is(store.stats().nextSeq, 8, "the source's readings at 0 … 7 s, seqs 0 … 7 across both steps");
  await loop.stopPolling();
  loop.stopShipping();
});
