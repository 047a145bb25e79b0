// systemd notifications: the pacing rules with a fake clock and sink, and the real wire — datagrams from this very
// process to a unix datagram socket bound by an independent receiver (python3), no child process of ours.
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { FakeClock } from '@lightnode/protocols/testing';
import { FakeNotifySink } from '../testing/fake-notify.js';
import { notifySocketSink } from './notify-socket.js';
import { SystemdNotifier } from './systemd.js';

test('WATCHDOG=1 only after completed cycles, at most once per WATCHDOG_USEC/2, at least once per WATCHDOG_USEC', async (t) => {
  const clock = new FakeClock(0);
  const sink = new FakeNotifySink();
  const n = new SystemdNotifier(sink, clock, { WATCHDOG_USEC: '1000000' });
  n.ready('polling 1 meter(s)');
  t.deepEqual(sink.messages, ['READY=1\nSTATUS=polling 1 meter(s)']);
  const at: number[] = [];
  // cycles at 10 Hz for 5 s
  for (let i = 0; i < 50; i++) {
    const before = sink.with('WATCHDOG').length;
    n.cycleCompleted();
    if (sink.with('WATCHDOG').length > before) at.push(clock.monotonic());
    await clock.advance(100);
  }
  t.true(at.length >= 5 && at.length <= 10, `${at.length} pings`);
  for (let i = 1; i < at.length; i++) {
    t.true(at[i]! - at[i - 1]! >= 500, `${at[i]! - at[i - 1]!} ms between pings`);
    t.true(at[i]! - at[i - 1]! <= 1000, `${at[i]! - at[i - 1]!} ms between pings`);
  }
  // no completed cycle → no ping, however long
  const before = sink.with('WATCHDOG').length;
  await clock.advance(10_000);
  t.is(sink.with('WATCHDOG').length, before);
});

test('STATUS= only on change; STOPPING=1; no WATCHDOG without WATCHDOG_USEC or for another WATCHDOG_PID', (t) => {
  const clock = new FakeClock(0);
  const sink = new FakeNotifySink();
  const n = new SystemdNotifier(sink, clock, {});
  n.ready('up');
  n.status('up');
  n.status('degraded: OUTBOX_WRITE_FAILED');
  n.status('degraded: OUTBOX_WRITE_FAILED');
  n.cycleCompleted();
  n.stopping();
  t.deepEqual(sink.messages, ['READY=1\nSTATUS=up', 'STATUS=degraded: OUTBOX_WRITE_FAILED', 'STOPPING=1']);
  const other = new SystemdNotifier(sink, clock, { WATCHDOG_USEC: '1000', WATCHDOG_PID: String(process.pid + 1) });
  other.cycleCompleted();
  t.is(sink.with('WATCHDOG').length, 0);
});

test('failed sends are counted, never thrown', (t) => {
  const sink = new FakeNotifySink();
  sink.refuse = true;
  const n = new SystemdNotifier(sink, new FakeClock(0), {});
  n.ready('x');
  n.stopping();
  t.like(n.stats(), { sent: 0, failed: 2 });
  t.false(new SystemdNotifier(null, new FakeClock(0), {}).enabled);
});

const RECEIVER = `
import socket, sys, json
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("ready", flush=True)
while True:
    m = s.recv(4096).decode()
    print(json.dumps(m), flush=True)
    if m == "STOPPING=1":
        break
`;

test('the real sink: datagrams from our own process reach a unix datagram socket (python3 receiver), 10 Hz', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ln-notify-'));
  const path = join(dir, 'notify.sock');
  const py = spawn('python3', ['-c', RECEIVER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => {
    py.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  const lines = createInterface({ input: py.stdout });
  const got: string[] = [];
  let wake: () => void = () => undefined;
  let ready = false;
  lines.on('line', (l) => {
    if (l === 'ready') ready = true;
    else got.push(JSON.parse(l) as string);
    wake();
  });
  /** Waits until the receiver has printed `n` messages (or its ready line): a unix datagram queue holds only
   *  net.unix.max_dgram_qlen (10) messages, so the sender must not outrun a receiver slowed by a busy machine. */
  const seen = (cond: () => boolean): Promise<void> =>
    new Promise<void>((resolve) => {
      const check = (): void => (cond() ? resolve() : void (wake = check));
      check();
    });
  await seen(() => ready);
  const sink = notifySocketSink({ NOTIFY_SOCKET: path });
  t.truthy(sink);
  const clock = new FakeClock(0);
  const n = new SystemdNotifier(sink, clock, { WATCHDOG_USEC: '200000' });
  n.ready('up');
  await seen(() => got.length === 1);
  for (let i = 0; i < 20; i++) {
    n.cycleCompleted(); // one cycle every 100 ms of simulated time → a ping every 100 ms (USEC/2)
    await seen(() => got.length === i + 2);
    await clock.advance(100);
  }
  n.stopping();
  await seen(() => got.at(-1) === 'STOPPING=1');
  t.is(got[0], 'READY=1\nSTATUS=up');
  t.is(got.filter((m) => m === 'WATCHDOG=1').length, 20);
  t.like(n.stats(), { sent: 22, failed: 0, watchdogs: 20 });
  t.is(notifySocketSink({}), null);
});

test('the real sink: a missing socket or an abstract one is a counted failure with a reason', (t) => {
  const sink = notifySocketSink({ NOTIFY_SOCKET: join(tmpdir(), 'no-such-dir-ln', 'notify.sock') })!;
  t.false(sink.send('READY=1'));
  t.regex(sink.lastError ?? '', /no-such-dir-ln/);
  const abstract = notifySocketSink({ NOTIFY_SOCKET: '@/org/freedesktop/systemd1/notify' })!;
  t.false(abstract.send('READY=1'));
  t.regex(abstract.lastError ?? '', /abstract/);
});
