// The ESS telemetry source from a minimal fake adapter on a FakeClock: one Reading per pollMs with source "ess" and
// role "ess", the setpoint from the controller's getter (absent when autonomous), PV only when reported, integer
// values, out-of-range values invalid, failed reads counted and reported stale then invalid.
import test from 'ava';
import { LightNodeError } from '@lightnode/protocols';
import { FakeClock } from '@lightnode/protocols/testing';
import type { EssAdapter, EssState } from '../ess/types.js';
import { EssMeterSource, type Reading } from './index.js';

const T0 = Date.UTC(2026, 11, 1, 10);

/** Just enough of an adapter to read: `state` is what the next read returns, `fail` makes reads throw. */
class MiniEss implements EssAdapter {
  readonly id = 'batt';
  readonly kind = 'modbus' as const;
  state: Omit<EssState, 'atMs'> = { essPowerW: 1500, socPermille: 640, mode: 'autonomous' };
  fail: LightNodeError | Error | null = null;
  reads = 0;
  constructor(private readonly clock: FakeClock) {}
  start(): Promise<void> {
    return Promise.resolve();
  }
  async read(): Promise<EssState> {
    this.reads++;
    await this.clock.sleep(20); // a bus round trip
    if (this.fail) throw this.fail;
    return { atMs: this.clock.now(), ...this.state };
  }
  command(): Promise<void> {
    return Promise.reject(new Error('not used by the source'));
  }
  release(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

async function started(o: { setpointW?: () => number | undefined; staleAfterMs?: number } = {}) {
  const clock = new FakeClock(T0);
  const adapter = new MiniEss(clock);
  const states: EssState[] = [];
  const src = new EssMeterSource({ adapter, clock, pollMs: 1000, onState: (s) => states.push(s), ...o });
  const got: Reading[] = [];
  src.start((r) => got.push(r));
  return { clock, adapter, src, got, states };
}

async function stop(clock: FakeClock, src: EssMeterSource): Promise<void> {
  const p = src.stop();
  await clock.advance(1000);
  await p;
}

test('one Reading per pollMs: source and role "ess", essPowerW discharge positive, socPermille; no setpoint', async (t) => {
  const { clock, src, got, states } = await started();
  await clock.advance(3_500);
  t.is(got.length, 4); // t = 0, 1, 2, 3 s (+ 20 ms each)
  t.deepEqual(
    got.map((r) => r.tsMs - T0),
    [20, 1020, 2020, 3020],
  );
  t.deepEqual(got[0], {
    sourceId: 'batt',
    role: 'ess',
    tsMs: T0 + 20,
    source: 'ess',
    values: { essPowerW: { value: 1500, quality: 'good' }, socPermille: { value: 640, quality: 'good' } },
  });
  t.is(states.length, 4);
  t.is(src.lastState?.socPermille, 640);
  t.like(src.health(), { id: 'batt', role: 'ess', quality: 'good', readings: 4, errors: 0, lastGoodMs: T0 + 3020 });
  t.is(src.health().lastPowerW, 1500, 'the battery power now, discharge positive');
  t.like(src.health().details, { kind: 'modbus', mode: 'autonomous' });
  await stop(clock, src);
  const n = got.length;
  await clock.advance(5_000);
  t.is(got.length, n, 'nothing emitted after stop');
});

test("essSetpointW from the controller's getter while it has one, absent when autonomous", async (t) => {
  let setpoint: number | undefined = -2000.4;
  const { clock, adapter, src, got } = await started({ setpointW: () => setpoint });
  adapter.state = { essPowerW: -1990, socPermille: 500, mode: 'remote' };
  await clock.advance(500);
  t.deepEqual(got[0]!.values.essSetpointW, { value: -2000, quality: 'good' });
  t.deepEqual(got[0]!.values.essPowerW, { value: -1990, quality: 'good' });
  setpoint = undefined;
  await clock.advance(1000);
  t.false('essSetpointW' in got[1]!.values);
  await stop(clock, src);
});

test('productionPowerW only when the device reports PV; values rounded; out of range or NaN is invalid', async (t) => {
  const { clock, adapter, src, got } = await started();
  await clock.advance(500);
  t.false('productionPowerW' in got[0]!.values);
  adapter.state = { essPowerW: 1234.6, socPermille: 999.6, productionPowerW: 2100.2, mode: 'autonomous' };
  await clock.advance(1000);
  t.deepEqual(got[1]!.values, {
    essPowerW: { value: 1235, quality: 'good' },
    socPermille: { value: 1000, quality: 'good' },
    productionPowerW: { value: 2100, quality: 'good' },
  });
  adapter.state = { essPowerW: Number.NaN, socPermille: 1200, productionPowerW: -50, mode: 'autonomous' };
  await clock.advance(1000);
  t.deepEqual(got[2]!.values, {
    essPowerW: { quality: 'invalid' },
    socPermille: { quality: 'invalid' },
    productionPowerW: { quality: 'invalid' },
  });
  t.is(src.health().quality, 'invalid');
  await stop(clock, src);
});

test('failed reads are counted by code and never thrown: last good values stale, then invalid after staleAfterMs', async (t) => {
  const { clock, adapter, src, got } = await started({ staleAfterMs: 2_500, setpointW: () => 800 });
  adapter.state = { essPowerW: 800, socPermille: 300, productionPowerW: 0, mode: 'remote' };
  await clock.advance(500);
  t.is(got[0]!.values.socPermille?.quality, 'good');
  adapter.fail = new LightNodeError('ADAPTER_TIMEOUT', 'batt: no answer in 300 ms');
  await clock.advance(3_000); // reads at 1, 2, 3 s fail
  t.is(got.length, 4);
  t.deepEqual(got[1]!.values, {
    essPowerW: { value: 800, quality: 'stale' },
    socPermille: { value: 300, quality: 'stale' },
    productionPowerW: { value: 0, quality: 'stale' },
    essSetpointW: { value: 800, quality: 'good' },
  });
  t.is(got[1]!.tsMs, T0 + 1020);
  t.is(got[3]!.values.socPermille?.quality, 'invalid', '3 s after the last good read, beyond staleAfterMs');
  t.false('value' in got[3]!.values.essPowerW!);
  const h = src.health();
  t.is(h.errors, 3);
  t.is(h.readings, 4);
  t.is(h.lastGoodMs, T0 + 20);
  t.like(h.details, { errorsByCode: { ADAPTER_TIMEOUT: 3 }, lastError: 'ADAPTER_TIMEOUT: batt: no answer in 300 ms' });
  adapter.fail = null;
  await clock.advance(1000);
  t.is(got[4]!.values.socPermille?.quality, 'good', 'recovers at the next good read');
  await stop(clock, src);
});

test('a read failing before any good one: essPowerW and socPermille invalid; a plain Error counts as INTERNAL', async (t) => {
  const clock = new FakeClock(T0);
  const adapter = new MiniEss(clock);
  adapter.fail = new Error('socket hang up');
  const src = new EssMeterSource({ adapter, clock, pollMs: 1000, id: 'asset-1' });
  const polled = src.poll();
  await clock.advance(20);
  const r = await polled;
  t.deepEqual(r, {
    sourceId: 'asset-1',
    role: 'ess',
    tsMs: T0 + 20,
    source: 'ess',
    values: { essPowerW: { quality: 'invalid' }, socPermille: { quality: 'invalid' } },
  });
  t.like(src.health(), { id: 'asset-1', quality: 'invalid', errors: 1, details: { errorsByCode: { INTERNAL: 1 } } });
  t.is(src.lastState, undefined);
});
