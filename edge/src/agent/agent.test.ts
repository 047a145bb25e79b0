// The agent from fakes (FakeClock, FakeSource, FakeQueue, FakeLink, FakeNotifySink), driven by clock.advance():
// one commit per cycle, sealing at the window edge, shipping, PUBACK → delivered, acks before the backlog, the
// systemd rules, the readings hook, and a full disk (alarm, watchdog fed, readings held then committed).
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAgentConfig, topicCodecs, type StatusDocument } from '@lightnode/protocols';
import { FakeClock, TEST_DEVICE_KEY } from '@lightnode/protocols/testing';
import { writeNewKeyFile } from '../keys/index.js';
import { FakeLink, FakeNotifySink, FakeQueue, FakeSource, testAck } from '../testing/index.js';
import type { Reading } from '../sources/index.js';
import { Agent } from './agent.js';
import { SystemdNotifier } from './systemd.js';

const START = Date.UTC(2024, 0, 10, 9);

async function rig(
  t: { teardown(fn: () => void | Promise<void>): void },
  o: { pollMs?: number; watchdogUsec?: number } = {},
) {
  const dir = mkdtempSync(join(tmpdir(), 'ln-agent-'));
  writeNewKeyFile(join(dir, 'device.key'), { privateKey: TEST_DEVICE_KEY });
  const pollMs = o.pollMs ?? 1000;
  const config = parseAgentConfig({
    podId: 'IT002E61899978',
    stateDir: dir,
    uplink: { url: 'mqtt://127.0.0.1:1' },
    batch: { windowMs: 10_000 },
    // the configured line only sets the cycle period here: the sources are fakes
    lines: [
      {
        name: 'l',
        transport: { tcp: { host: '127.0.0.1' } },
        meters: [{ id: 'x', profile: 'eastron/sdm630', pollMs }],
      },
    ],
  });
  const clock = new FakeClock(START);
  const store = FakeQueue.open({ clock, windowMs: 10_000 });
  const commits: number[] = [];
  const commit = store.commit.bind(store);
  store.commit = (samples) => {
    commit(samples);
    commits.push(samples.length);
  };
  const link = new FakeLink(() => clock.now());
  const sources = [
    new FakeSource('pod', clock, { pollMs, role: 'pod' }),
    new FakeSource('pv', clock, { pollMs, role: 'pv' }),
  ];
  const sink = new FakeNotifySink();
  const sent: { atMs: number; message: string }[] = [];
  const send = sink.send.bind(sink);
  sink.send = (m) => {
    sent.push({ atMs: clock.monotonic(), message: m });
    return send(m);
  };
  const env = o.watchdogUsec ? { WATCHDOG_USEC: String(o.watchdogUsec) } : {};
  const notifier = new SystemdNotifier(sink, clock, env);
  const agent = new Agent(config, { clock, store, link, sources, notifier });
  t.teardown(async () => {
    // a test that failed early still closes the status socket
    const stop = agent.stop().catch(() => undefined);
    await clock.advance(100);
    await stop;
    rmSync(dir, { recursive: true, force: true });
  });
  return { agent, clock, store, link, sources, sink, sent, commits, dir };
}

const details = (a: Agent) =>
  a.details() as { loop: { cycles: number; listenerErrors: number; heldSamples: number }; nextSeq: number };

test('one commit per cycle, a batch sealed at the window edge, shipped, delivered on its PUBACK', async (t) => {
  const { agent, clock, store, link, commits } = await rig(t);
  link.autoAck = false;
  await agent.start();
  await clock.advance(9_500);
  t.is(details(agent).loop.cycles, 9);
  t.is(commits.length, 9, 'one commit per cycle');
  t.is(
    commits.reduce((a, b) => a + b, 0),
    20,
    'readings at 0 … 9 s of two sources',
  );
  t.is(link.sent('batch').length, 0, 'the window is still open');
  await clock.advance(500); // t = 10 s: the window [0, 10 s) ends
  const batches = link.sent('batch');
  t.is(batches.length, 1);
  const b = batches[0]!;
  t.is(b.samples.length, 20);
  t.true(b.samples.every((s) => s.tsMs < START + 10_000));
  t.deepEqual(
    b.samples.map((s) => s.seq),
    [...Array(20).keys()],
  );
  t.is(store.stats().undeliveredBatches, 1);
  link.published.find((p) => p.leaf === 'batch')!.ack();
  await clock.advance(0);
  t.is(store.stats().undeliveredBatches, 0);
  t.is(store.stats().deliveredBatches, 1);
  t.is(details(agent).nextSeq, 22);
  const stop = agent.stop({ drainMs: 0 });
  await clock.advance(100);
  await stop;
});

test('acks are shipped before the backlog of batches', async (t) => {
  const { agent, clock, store, link } = await rig(t);
  await agent.start();
  link.disconnect();
  await clock.advance(30_000); // three windows sealed while offline
  t.is(store.stats().undeliveredBatches, 3);
  store.enqueueMessage('ack', (seq) => testAck(seq, clock.now()));
  link.autoAck = true;
  link.connect();
  await clock.advance(0);
  const order = link.published.filter((p) => p.leaf !== 'status').map((p) => p.leaf);
  t.deepEqual(order.slice(0, 4), ['ack', 'batch', 'batch', 'batch']);
  t.is(topicCodecs.ack.decode(link.published.find((p) => p.leaf === 'ack')!.payload).message.seq, 0);
  const stop = agent.stop();
  await clock.advance(100);
  await stop;
});

test('systemd: READY once after start, WATCHDOG after completed cycles at most every WATCHDOG_USEC/2, STOPPING', async (t) => {
  const { agent, clock, store, sent } = await rig(t, { pollMs: 100, watchdogUsec: 2_000_000 });
  await agent.start();
  t.regex(sent[0]!.message, /^READY=1\nSTATUS=online; 2 meter\(s\), device 0x/);
  await clock.advance(10_000); // 100 cycles at 10 Hz
  t.is(details(agent).loop.cycles, 100);
  const dogs = sent.filter((m) => m.message === 'WATCHDOG=1').map((m) => m.atMs);
  t.true(dogs.length >= 9 && dogs.length <= 11, String(dogs.length));
  for (let i = 1; i < dogs.length; i++) {
    t.true(dogs[i]! - dogs[i - 1]! >= 1000, 'at most once per WATCHDOG_USEC/2');
    t.true(dogs[i]! - dogs[i - 1]! <= 2000, 'at least once per WATCHDOG_USEC');
  }
  // a loop that no longer completes cycles (a corrupt store, not a full disk) stops feeding the watchdog
  store.sealDue = () => {
    throw new Error('database disk image is malformed');
  };
  const before = sent.length;
  await clock.advance(5_000);
  t.is(sent.slice(before).filter((m) => m.message === 'WATCHDOG=1').length, 0);
  t.is(sent.filter((m) => m.message.startsWith('READY=1')).length, 1);
  const stop = agent.stop();
  await clock.advance(100);
  await stop.catch(() => undefined);
  t.is(sent.filter((m) => m.message === 'STOPPING=1').length, 1);
});

test('readings hook: called after each commit with the cycle readings; a throwing listener is counted, the loop goes on', async (t) => {
  const { agent, clock, store } = await rig(t);
  const seen: { readings: readonly Reading[]; atMs: number; nextSeq: number }[] = [];
  agent.onReadings(() => {
    throw new Error('listener bug');
  });
  const off = agent.onReadings((readings, atMs) => seen.push({ readings, atMs, nextSeq: store.nextSeq }));
  await agent.start();
  await clock.advance(3_000);
  t.is(seen.length, 3);
  t.deepEqual(
    seen.map((s) => s.atMs - START),
    [1000, 2000, 3000],
  );
  t.deepEqual(
    seen[0]!.readings.map((r) => [r.sourceId, r.role]),
    [
      ['pod', 'pod'],
      ['pv', 'pv'],
      ['pod', 'pod'],
      ['pv', 'pv'],
    ],
  );
  t.is(seen[0]!.nextSeq, 4, 'committed before the listener is called');
  t.is(details(agent).loop.listenerErrors, 3);
  off();
  await clock.advance(2_000);
  t.is(seen.length, 3, 'unsubscribed');
  t.is(details(agent).loop.cycles, 5);
  const stop = agent.stop();
  await clock.advance(100);
  await stop;
});

test('a full disk: alarm OUTBOX_WRITE_FAILED (degraded, in STATUS=), polling and watchdog go on, readings committed after, alarm cleared', async (t) => {
  const { agent, clock, store, sent } = await rig(t, { watchdogUsec: 2_000_000 });
  await agent.start();
  await clock.advance(3_000);
  store.disk.full = true;
  await clock.advance(5_000);
  const st: StatusDocument = agent.status();
  t.is(st.state, 'degraded');
  t.deepEqual(
    st.alarms?.map((a) => a.code),
    ['OUTBOX_WRITE_FAILED'],
  );
  t.true(sent.some((m) => /^STATUS=degraded \(alarms: OUTBOX_WRITE_FAILED\)/.test(m.message)));
  const dogsDuring = sent.filter((m) => m.message === 'WATCHDOG=1' && m.atMs > 3_000).length;
  t.true(dogsDuring >= 2, `watchdog fed while the disk is full (${dogsDuring})`);
  t.is(details(agent).loop.heldSamples, 10);
  store.disk.full = false;
  await clock.advance(1_000);
  t.is(agent.status().alarms, undefined, 'cleared on the next commit');
  t.is(details(agent).loop.heldSamples, 0);
  t.is(store.stats().nextSeq, 20, 'readings at 0 … 9 s of two sources, all committed');
  t.is(store.stats().undeliveredGaps, 0, 'nothing lost');
  t.true(sent.some((m) => m.message.startsWith('STATUS=online')));
  const stop = agent.stop();
  await clock.advance(100);
  await stop;
});

test('failed notify sends and failed status publishes are counted in details', async (t) => {
  const { agent, clock, link, sink } = await rig(t, { watchdogUsec: 2_000_000 });
  link.autoAck = false;
  await agent.start();
  sink.refuse = true;
  await clock.advance(3_000);
  const status = link.published.filter((p) => p.leaf === 'status');
  t.true(status.length >= 1, 'the retained status is published on connect');
  for (const p of status) p.fail('connection lost');
  await clock.advance(0);
  const d = agent.details() as {
    systemd: { failed: number };
    statusPublishFailures: number;
    link: { publishFailures: number };
  };
  t.true(d.systemd.failed >= 1, JSON.stringify(d.systemd));
  t.is(d.statusPublishFailures, status.length);
  t.true(d.link.publishFailures >= status.length);
});
