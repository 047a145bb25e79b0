import test from 'ava';
import fc from 'fast-check';
import { verifyBatch } from '@lightnode/protocols';
import { testDomain, testSigner } from '@lightnode/protocols/testing';
import { Batcher, gapOverSamples, planSeal } from './batcher.js';

const W = 1000;
/** Rows in seq order with holes and arbitrary (non-decreasing) times, as unsealed samples may be. */
const rowsArb = fc
  .array(fc.record({ seqStep: fc.integer({ min: 1, max: 3 }), dt: fc.integer({ min: 0, max: 700 }) }), {
    maxLength: 60,
  })
  .map((steps) => {
    let seq = -1;
    let ts = 5_000;
    return steps.map((s) => ({ seq: (seq += s.seqStep === 3 ? 2 : 1), tsMs: (ts += s.dt) }));
  });

test('planSeal: groups are consecutive seqs of one window, in order; only the last, still open window waits', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(rowsArb, fc.integer({ min: 0, max: 60_000 }), fc.boolean(), (rows, later, force) => {
        const now = (rows.at(-1)?.tsMs ?? 5_000) + later;
        const groups = planSeal(rows, W, now, force);
        let next = 0;
        for (const g of groups) {
          if (g.from !== next) return false;
          next = g.to;
          const part = rows.slice(g.from, g.to);
          if (g.windowEndMs - g.windowStartMs !== W || g.windowStartMs % W !== 0) return false;
          if (
            !part.every(
              (r, i) =>
                r.tsMs >= g.windowStartMs && r.tsMs < g.windowEndMs && (i === 0 || r.seq === part[i - 1]!.seq + 1),
            )
          )
            return false;
        }
        const rest = rows.slice(next);
        if (force || rest.length === 0) return rest.length === 0;
        // what waits is one group whose window has not ended
        const ws = Math.floor(rest[0]!.tsMs / W) * W;
        return ws + W > now && rest.every((r, i) => r.tsMs < ws + W && (i === 0 || r.seq === rest[i - 1]!.seq + 1));
      }),
    ),
  );
});

test('planSeal: a seq hole closes a group at once, even inside an open window', (t) => {
  const rows = [
    { seq: 0, tsMs: 100 },
    { seq: 1, tsMs: 200 },
    { seq: 5, tsMs: 300 },
  ];
  t.deepEqual(planSeal(rows, W, 400), [{ from: 0, to: 2, windowStartMs: 0, windowEndMs: 1000 }]);
  t.is(planSeal(rows, W, 1000).length, 2);
});

test('the batcher seals a verifiable batch with its wire bytes, and a gap over samples carries their energy', (t) => {
  const b = new Batcher({ signer: testSigner(), domain: testDomain(), podId: 'IT002E61899978', windowMs: W });
  const samples = b.samples(
    [100, 200, 300].map((tsMs, i) => ({
      tsMs,
      source: 'sim' as const,
      values: { energyImportWh: { value: 1000 + i * 5, quality: 'good' as const } },
    })),
    7,
  );
  t.deepEqual(
    samples.map((s) => s.seq),
    [7, 8, 9],
  );
  const { batch, wire } = b.seal(samples, 0);
  verifyBatch(batch, testDomain());
  t.true(wire.length > 0);
  t.like(gapOverSamples(samples, 'store_write_failed'), {
    firstSeq: 7,
    lastSeq: 9,
    energyImportWh: 10,
    energyExportWh: -1,
  });
});
