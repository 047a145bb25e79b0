// `--late P`: a frame published 1 to 5 simulated minutes after its time, with probability P; `--reboot-every S`:
// every S wall seconds the gateway drops its connections and its counters read 0 for one quarter.
import test from 'ava';
import { WebSocket } from 'ws';
import { romeToUtc } from '@lightnode/protocols';
import { serveChain2Ws } from './gateway.js';
import { Chain2MeterSim, LATE_MAX_MS, LATE_MIN_MS, type EmittedFrame } from './simulator.js';

const cf1 = (f: EmittedFrame) =>
  JSON.parse(f.text) as { Chain2Data: { Payload: { MessagePosixTimestamp: number; TotalActEnergy: number } } };

function day(late: number): { sim: Chain2MeterSim; frames: EmittedFrame[] } {
  const start = romeToUtc(2024, 1, 10);
  const sim = new Chain2MeterSim({ pod: 'IT001E01524052', startMs: start, seed: 4, faults: { late } });
  return { sim, frames: sim.runUntil(start + 86_400_000 + LATE_MAX_MS) };
}

test('late frames are published 1 to 5 simulated minutes after their time; on time ones exactly then', (t) => {
  const onTime = day(0).frames.filter((f) => f.type === 'CF1');
  t.is(onTime.length, 96);
  for (const f of onTime) t.is(f.atMs, cf1(f).Chain2Data.Payload.MessagePosixTimestamp * 1000);
  const all = day(1);
  const late = all.frames.filter((f) => f.type === 'CF1');
  t.is(late.length, 96);
  for (const f of late) {
    const by = f.atMs - cf1(f).Chain2Data.Payload.MessagePosixTimestamp * 1000;
    t.true(by >= LATE_MIN_MS && by < LATE_MAX_MS, `${by} ms late`);
  }
  t.true(all.sim.stats.late >= all.frames.length, 'every frame late (a last one may still wait)');
  const some = day(0.3);
  const ratio = some.sim.stats.late / some.frames.length;
  t.true(ratio > 0.15 && ratio < 0.45, `${some.sim.stats.late} of ${some.frames.length} late`);
  for (let i = 1; i < some.frames.length; i++)
    t.true(some.frames[i]!.atMs >= some.frames[i - 1]!.atMs, 'in publish order');
});

test('reboot-every: connections dropped, counters read 0 for a quarter, then resume', async (t) => {
  const frames: EmittedFrame[] = [];
  let seenZeroThenResume!: () => void;
  const resumed = new Promise<void>((r) => (seenZeroThenResume = r));
  // a quarter every 100 ms of wall time, a reboot every 0.5 s
  const gw = await serveChain2Ws({
    pod: 'IT001E01524052',
    startMs: romeToUtc(2024, 1, 10),
    speed: 9000,
    seed: 2,
    rebootEveryS: 0.5,
    onFrame: (f) => {
      if (f.type !== 'CF1') return;
      frames.push(f);
      const totals = frames.map((x) => cf1(x).Chain2Data.Payload.TotalActEnergy);
      const z = totals.indexOf(0);
      if (gw.sim.stats.reboots >= 2 && z >= 0 && totals.slice(z + 1).some((v) => v > 0)) seenZeroThenResume();
    },
  });
  const ws = new WebSocket(gw.url);
  const dropped = new Promise<void>((r) => ws.once('close', () => r()));
  await new Promise<void>((r) => ws.once('open', () => r()));
  ws.send('!');
  try {
    await dropped; // the first reboot cuts the client
    t.true(gw.sim.stats.reboots >= 1);
    await resumed;
    const totals = frames.map((x) => cf1(x).Chain2Data.Payload.TotalActEnergy);
    t.true(totals.some((v) => v === 0));
    for (let i = 1; i < totals.length; i++)
      t.false(totals[i] === 0 && totals[i - 1] === 0, `counters read 0 for one quarter only: ${totals.join(',')}`);
    t.true(
      totals.some((v) => v > 1_000_000),
      'the total resumes after the reboot quarter',
    );
  } finally {
    ws.terminate();
    await gw.close();
  }
});
