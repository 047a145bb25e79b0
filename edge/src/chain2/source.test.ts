import test from 'ava';
import fc from 'fast-check';
import { Chain2Source } from './source.js';
import type { Chain2Transport } from './transport.js';

test('arbitrary garbage, truncated JSON and wrong types never throw out of the source: counted and reported (property)', (t) => {
  let feed: (s: string) => void = () => undefined;
  const transport: Chain2Transport = {
    endpoint: 'test://',
    start: (f) => (feed = f),
    stop: async () => undefined,
    stats: () => ({ connects: 1, disconnects: 0, messages: 0, bytes: 0, state: 'connected' }),
  };
  const readings: unknown[] = [];
  const src = new Chain2Source({
    name: 't',
    transport,
    podId: 'IT001E01524052',
    meters: ['M1'],
    onReading: (r) => readings.push(r),
  });
  src.start();
  const good = JSON.stringify({
    Chain2Data: {
      Id: 'g',
      Ts: '2024/01/10 09:00:20',
      Meter: 'M1',
      Type: 'CF21',
      Payload: { InstantPower: 1500, EventPosixTimestamp: 1704877200 },
    },
  });
  let sent = 0;
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string(),
        fc.nat(good.length).map((n) => good.slice(0, n)),
        fc.jsonValue().map((v) => JSON.stringify(v)),
        fc.constantFrom(good.replace('1500', '"1500"'), good.replace('"M1"', '7')),
      ),
      (text) => {
        sent++;
        feed(text);
        return true;
      },
    ),
    { numRuns: 400 },
  );
  feed(good);
  const st = src.stats();
  t.is(st.frames, sent + 1);
  t.true(st.undecodable > 0);
  t.is(st.undecodable, st.diagnostics.CHAIN2_DECODE ?? 0);
  t.true(readings.length >= 1);
});
