// The column coder round-trips any column of safe integers, including values at the safe-integer limits (whose
// differences leave the safe range, and whose zigzag values need the full 54-bit escape).
import test from 'ava';
import fc from 'fast-check';
import { decodeBatchWire, encodeBatchWire } from './wire.js';
import { sealBatch } from './batch.js';
import { testDomain, testSamples, testSigner } from './testkit.js';
import { BitReader, BitWriter, K_ALL_ZERO, planColumn, readColumn, riceEncode } from './wire-columns.js';

function roundTrip(values: number[]): number[] {
  const c = planColumn(values);
  const w = new BitWriter();
  if (c.k !== K_ALL_ZERO) riceEncode(w, c.zs, c.k, c.ds);
  const r = new BitReader(w.finish());
  const back = readColumn(r, c.k * 3 + c.order, c.heads, values.length, 'test');
  r.end();
  return back;
}

const extreme = fc.constantFrom(
  Number.MAX_SAFE_INTEGER,
  -Number.MAX_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER - 1,
  -(2 ** 52),
  2 ** 52,
  -(2 ** 52) - 1,
  0,
);

test('a column of any safe integers round-trips (property)', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.maxSafeInteger(), fc.integer({ min: -1000, max: 1000 }), extreme), {
        minLength: 1,
        maxLength: 60,
      }),
      (values) => {
        t.deepEqual(roundTrip(values), values);
      },
    ),
    { numRuns: 400 },
  );
});

test('a batch whose values sit at the safe-integer limits decodes to the same samples', (t) => {
  const signer = testSigner();
  const vals = [Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER - 2, -(2 ** 52) - 1];
  const samples = testSamples(4, { deviceId: signer.address }).map((s, i) => ({
    ...s,
    quantities: { energyImportWh: vals[i]!, activePowerW: -vals[i]! },
  }));
  const ws = samples[0]!.tsMs - 1000;
  const batch = sealBatch(
    { deviceId: signer.address, podId: samples[0]!.podId, samples, windowStartMs: ws, windowEndMs: ws + 600_000 },
    signer,
    testDomain(),
  );
  const back = decodeBatchWire(encodeBatchWire(batch, { deflate: false }));
  t.deepEqual(
    back.samples.map((s) => s.quantities.energyImportWh),
    vals,
  );
  t.deepEqual(back.header.root, batch.header.root);
});
