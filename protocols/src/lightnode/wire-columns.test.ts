// The column coder round-trips any column of safe integers, including values at the safe-integer limits (whose
// differences leave the safe range, and whose zigzag values need the full 54-bit escape).
import test from 'ava';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeBatchWire, encodeBatchWire } from './wire.js';
import { sealBatch } from './batch.js';
import { testDomain, testSamples, testSigner } from './testkit.js';
import { isLightNodeError } from '../errors.js';
import {
  BitReader,
  BitWriter,
  ESCAPE_Q,
  K_ALL_ZERO,
  MAX_ESCAPE_BITS,
  planColumn,
  readColumn,
  riceEncode,
} from './wire-columns.js';

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

test('an escape length L > 54 is refused (DECODE_ERROR); L = 54 reads exactly', (t) => {
  const escaped = (L: number, bits: string): Uint8Array => {
    const w = new BitWriter();
    for (let i = 0; i < ESCAPE_Q; i++) w.bit(1);
    w.bits(L, 6);
    for (const c of bits) w.bit(c === '1' ? 1 : 0);
    return w.finish();
  };
  const e = t.throws(() => readColumn(new BitReader(escaped(55, '1'.repeat(55))), 0, [], 1, 'test'));
  t.true(isLightNodeError(e, 'DECODE_ERROR'));
  t.regex(e.message, /escape length 55 > 54/);
  // z = 2^54 − 2 (54 bits) is the zigzag of 2^53 − 1 = Number.MAX_SAFE_INTEGER
  const z = (2n ** 54n - 2n).toString(2);
  t.deepEqual(readColumn(new BitReader(escaped(MAX_ESCAPE_BITS, z)), 0, [], 1, 'test'), [Number.MAX_SAFE_INTEGER]);
});

test('SPEC §5 states the constants the code uses (escape at 24, L ≤ 54, k = 41 for all-zero, orderK = 3·k + order)', (t) => {
  const spec = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'lightnode', 'SPEC.md'), 'utf8');
  t.true(spec.includes(`a quotient ≥ ${ESCAPE_Q} is escaped as ${ESCAPE_Q} one-bits`));
  t.true(spec.includes(`MUST be ≤ ${MAX_ESCAPE_BITS}; a decoder refuses L > ${MAX_ESCAPE_BITS}`));
  t.true(spec.includes(`k = ${K_ALL_ZERO} means all residuals are 0`));
  t.true(spec.includes('order 2 has the heads `x0, x1 − x0`'));
  t.true(spec.includes('the first sample of a device has seq `0`'));
});
