import test from 'ava';
import fc from 'fast-check';
import { mergeGap, nextAlarm, planQuota, type QuotaBatch } from './quota.js';

const batchesArb = fc
  .array(
    fc.record({
      len: fc.integer({ min: 1, max: 20 }),
      hole: fc.boolean(),
      bytes: fc.integer({ min: 50, max: 900 }),
      e: fc.boolean(),
    }),
    {
      maxLength: 40,
    },
  )
  .map((xs) => {
    let seq = 0;
    let energy = 1000;
    return xs.map((x, id): QuotaBatch => {
      if (x.hole) seq += 3;
      const b: QuotaBatch = {
        id,
        firstSeq: seq,
        lastSeq: seq + x.len - 1,
        bytes: x.bytes,
        energies: x.e ? { importWh: [energy, energy + x.len - 1] } : {},
      };
      seq += x.len;
      energy += x.len;
      return b;
    });
  });

test('planQuota: evicts the oldest batches whole, to 90 % of the quota; one gap per run covering exactly them', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(
        batchesArb,
        fc.integer({ min: 0, max: 2000 }),
        fc.integer({ min: 100, max: 20_000 }),
        (batches, other, quota) => {
          const bytes = other + batches.reduce((a, b) => a + b.bytes, 0);
          const plan = planQuota({ batches, gaps: [], bytes, quotaBytes: quota });
          if (bytes <= quota) return plan.evict.length === 0 && !plan.over;
          const victims = batches.slice(0, plan.evict.length);
          if (!victims.every((v, i) => v.id === plan.evict[i])) return false; // a prefix: oldest first
          const left = bytes - victims.reduce((a, b) => a + b.bytes, 0);
          if (left !== plan.bytesAfter) return false;
          if (victims.length < batches.length && left > quota * 0.9) return false; // stopped early
          if (victims.length > 0 && left + victims.at(-1)!.bytes <= quota * 0.9) return false; // evicted one too many
          const covered = plan.declare.flatMap((d) =>
            Array.from({ length: d.decl.lastSeq - d.decl.firstSeq + 1 }, (_, i) => d.decl.firstSeq + i),
          );
          const evicted = victims.flatMap((v) =>
            Array.from({ length: v.lastSeq - v.firstSeq + 1 }, (_, i) => v.firstSeq + i),
          );
          // runs are separated by holes: two declarations never touch
          const apart = plan.declare.every(
            (d, i) => i === 0 || d.decl.firstSeq > plan.declare[i - 1]!.decl.lastSeq + 1,
          );
          return apart && JSON.stringify(covered) === JSON.stringify(evicted) && plan.evictedSamples === evicted.length;
        },
      ),
    ),
  );
});

test('planQuota: a run right after an undelivered disk_quota gap extends it, energy between them included', (t) => {
  const plan = planQuota({
    batches: [
      { id: 7, firstSeq: 10, lastSeq: 19, bytes: 600, energies: { importWh: [130, 139] } },
      { id: 8, firstSeq: 20, lastSeq: 29, bytes: 600, energies: { importWh: [140, 149] } },
    ],
    gaps: [
      {
        id: 3,
        decl: {
          firstSeq: 0,
          lastSeq: 9,
          reason: 'disk_quota',
          energyImportWh: 9,
          energyExportWh: -1,
          energies: { importWh: [120, 129] },
        },
      },
    ],
    bytes: 1300,
    quotaBytes: 1000,
  });
  t.deepEqual(plan.evict, [7]);
  t.is(plan.declare.length, 1);
  t.is(plan.declare[0]!.replaces, 3);
  t.like(plan.declare[0]!.decl, { firstSeq: 0, lastSeq: 19, energyImportWh: 19, energyExportWh: -1 });
});

test('mergeGap: only adjacent gaps of one reason; unknown energy stays unknown', (t) => {
  const g = (firstSeq: number, lastSeq: number, reason = 'disk_quota', e = 5) => ({
    firstSeq,
    lastSeq,
    reason,
    energyImportWh: e,
    energyExportWh: -1,
  });
  t.is(mergeGap(g(0, 9), g(11, 12)), null);
  t.is(mergeGap(g(0, 9), g(10, 12, 'store_write_failed')), null);
  t.like(mergeGap(g(0, 9), g(10, 12)), { firstSeq: 0, lastSeq: 12, energyImportWh: 10, energyExportWh: -1 });
  t.is(mergeGap(g(0, 9, 'disk_quota', -1), g(10, 12))!.energyImportWh, -1);
});

test('OUTBOX_FULL: raised on eviction, cleared only after a delivery and under half the quota', (t) => {
  let a = nextAlarm({ deliveredSinceEviction: true }, true, 1200, 1000, 5);
  t.is(a.fullSinceMs, 5);
  a = nextAlarm(a, false, 100, 1000, 6);
  t.is(a.fullSinceMs, 5, 'nothing delivered since the eviction');
  a = { ...a, deliveredSinceEviction: true };
  t.is(nextAlarm(a, false, 600, 1000, 7).fullSinceMs, 5, 'backlog above half the quota');
  t.is(nextAlarm(a, false, 400, 1000, 8).fullSinceMs, undefined);
  t.is(nextAlarm(a, true, 1100, 1000, 9).fullSinceMs, 5, 'the first eviction time stays');
});
