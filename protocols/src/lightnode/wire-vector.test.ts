// The §10 wire-form vector: wire-7.json is batch-7.json in the compact wire form (SPEC §5), byte for byte.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decode } from 'cborg';
import { fromHex, toHex } from './canonical.js';
import { sampleToCanonical } from './sample.js';
import { decodeBatchWire, encodeBatchWire } from './wire.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'lightnode', 'vectors');
const load = (name: string) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as Record<string, any>;

test('wire-7 decodes to batch-7 exactly, and batch-7 encodes to wire-7', (t) => {
  const v = load('wire-7.json');
  const b = load(v.batch as string);
  const back = decodeBatchWire(fromHex(v.wire as string));
  t.deepEqual(back.samples.map(sampleToCanonical), b.samples);
  t.is(back.header.root, b.root);
  t.is(toHex(back.signature), b.signature);
  t.is(back.header.firstSeq, b.samples[0].seq);
  t.is(toHex(encodeBatchWire(back, { deflate: false })), v.wire);
});

test('wire-7 shows the SPEC §5 time column: order 2, heads x0 and x1 − x0, k = 41 (no residual bits)', (t) => {
  const bytes = fromHex(load('wire-7.json').wire as string);
  t.is(bytes[0], 0x01);
  const doc = decode(bytes.subarray(1), { useMaps: false }) as unknown[];
  const [orderK, ...heads] = doc[3] as number[];
  t.is(orderK, 3 * 41 + 2);
  t.deepEqual(heads, [0, 1000]); // 1-s samples from the window start: x0 = 0, x1 − x0 = 1000
});
