// A real full disk: the agent (a process) with its store on a 4 MiB tmpfs of its own mount namespace (`unshare -rm`
// + `mount -t tmpfs`), filled by a ballast file, then freed. Seen from outside: the OUTBOX_WRITE_FAILED alarm in
// `lightnode status` (state degraded, named in systemd's STATUS=), the watchdog still fed (our own NOTIFY_SOCKET
// datagram listener, python3), polling going on, the alarm cleared once the ballast is gone, every seq delivered or
// declared, and `lightnode buffer verify` ok on the store afterwards.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { builtinProfiles, systemClock } from '@lightnode/protocols';
import { MeterSimulator, serveTcp, startMosquitto } from '../index.js';
import { BIN, Subscriber, agentDir, agentStatus, cli, waitFor } from '../hil/harness.js';

/** A unix datagram socket at `path` that prints every datagram as one JSON line: [monotonic s, text]. */
const LISTENER = `
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print(json.dumps(["bound", ""]), flush=True)
while True:
    d = s.recv(65536)
    print(json.dumps([time.monotonic(), d.decode()]), flush=True)
`;

function notifyListener(path: string) {
  const child = spawn('python3', ['-c', LISTENER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const messages: { atS: number; text: string }[] = [];
  let bound = false;
  let rest = '';
  child.stdout.on('data', (d: Buffer) => {
    const lines = (rest + d.toString()).split('\n');
    rest = lines.pop() ?? '';
    for (const l of lines) {
      const [at, text] = JSON.parse(l) as [number | string, string];
      if (at === 'bound') bound = true;
      else messages.push({ atS: at as number, text });
    }
  });
  return { child, messages, bound: () => bound };
}

test('a full disk under the store: alarm, watchdog fed, polling on, alarm cleared after freeing, buffer verify ok', async (t) => {
  const broker = await startMosquitto();
  const sim = new MeterSimulator({ profile: builtinProfiles().get('eastron/sdm630'), unit: 1, clock: systemClock });
  const meter = await serveTcp([sim]);
  const sub = new Subscriber(broker.url);
  await sub.start();
  const { dir, configPath } = agentDir((d) => ({
    podId: 'IT002E61899978',
    stateDir: join(d, 'fs'), // the tmpfs: outbox.db, seq high-water marks
    keyFile: join(d, 'device.key'),
    status: { socket: join(d, 'agent.sock') },
    batch: { windowMs: 1000 },
    uplink: { url: broker.url, reconnectBaseMs: 100, reconnectMaxMs: 1000 },
    lines: [
      {
        name: 'l1',
        transport: { tcp: { host: '127.0.0.1', port: meter.port } },
        meters: [{ id: 'grid', profile: 'eastron/sdm630', pollMs: 100, role: 'pod' }],
      },
    ],
  }));
  const fs = join(dir, 'fs');
  mkdirSync(fs);
  t.is((await cli(['protocol', 'keygen', '--out', join(dir, 'device.key')])).code, 0);
  const notify = notifyListener(join(dir, 'notify.sock'));
  await waitFor(() => notify.bound(), 10_000, 'the NOTIFY_SOCKET listener');
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const node = q(process.execPath);
  const script = [
    `mount -t tmpfs -o size=4m tmpfs ${q(fs)} || exit 97`,
    `${node} ${q(BIN)} agent --config ${q(configPath)} 2> ${q(join(dir, 'agent.log'))} &`,
    `echo $! > ${q(join(dir, 'agent.pid'))}`,
    'wait $!',
    `echo $? > ${q(join(dir, 'agent.rc'))}`,
    `${node} ${q(BIN)} buffer verify --db ${q(join(fs, 'outbox.db'))} --json > ${q(join(dir, 'verify.json'))}`,
    `echo $? > ${q(join(dir, 'verify.rc'))}`,
  ].join('\n');
  const ns = spawn('unshare', ['-rm', 'sh', '-c', script], {
    stdio: 'inherit',
    env: { ...process.env, NOTIFY_SOCKET: join(dir, 'notify.sock'), WATCHDOG_USEC: '2000000' },
  });
  const nsExit = new Promise<number | null>((r) => ns.on('exit', (code) => r(code)));
  let nsCode: number | null | undefined;
  void nsExit.then((c) => (nsCode = c));
  const inNs = (cmd: string) =>
    spawnSync('nsenter', ['-t', String(ns.pid), '-U', '-m', '--preserve-credentials', 'sh', '-c', cmd], {
      encoding: 'utf8',
    });
  const status = () => agentStatus(configPath);
  try {
    await waitFor(
      () => {
        if (nsCode === 97) throw new Error('cannot mount a tmpfs in a mount namespace (unshare -rm + mount -t tmpfs)');
        if (nsCode !== undefined) throw new Error(`the namespace exited early (${nsCode}): ${log(dir)}`);
        return existsSync(join(dir, 'agent.sock'));
      },
      20_000,
      'the agent status socket',
    );
    const df = inNs(`df -k ${q(fs)} | tail -1`);
    t.regex(df.stdout, /^tmpfs\s+4096\s/, 'the store is on the 4 MiB tmpfs');
    await waitFor(() => notify.messages.some((m) => m.text.startsWith('READY=1')), 10_000, 'READY=1');
    await waitFor(() => sub.batches >= 3, 20_000, 'first batches');

    // fill the disk: the ballast takes every free block
    const fill = inNs(`cat /dev/zero > ${q(join(fs, 'ballast'))}`);
    t.regex(fill.stderr, /No space left on device/);
    await waitFor(
      async () =>
        ((await status())?.status.alarms ?? []).some((a: { code: string }) => a.code === 'OUTBOX_WRITE_FAILED'),
      30_000,
      'the OUTBOX_WRITE_FAILED alarm',
    );
    const full1 = (await status())!;
    t.is(full1.status.state, 'degraded');
    const alarmAtS = notify.messages.at(-1)!.atS;
    await waitFor(
      () => notify.messages.some((m) => /^STATUS=degraded \(alarms: [^)]*OUTBOX_WRITE_FAILED/.test(m.text)),
      10_000,
      'STATUS= naming OUTBOX_WRITE_FAILED',
    );
    // the disk stays full for a while: polling and the watchdog go on
    await new Promise((r) => setTimeout(r, 4000));
    const full2 = (await status())!;
    t.true(full2.details.cycles > full1.details.cycles, 'cycles complete while the disk is full');
    t.true(full2.details.loop.heldSamples > 0, JSON.stringify(full2.details.loop));
    t.truthy(
      (full2.status.alarms as { code: string }[]).find((a) => a.code === 'OUTBOX_WRITE_FAILED'),
      'the alarm stands while the disk is full',
    );
    const dogs = notify.messages.filter((m) => m.text === 'WATCHDOG=1' && m.atS > alarmAtS);
    t.true(dogs.length >= 2, `watchdog pings while the disk is full: ${dogs.length}`);

    // free the disk: the held readings are committed, the alarm clears
    t.is(inNs(`rm ${q(join(fs, 'ballast'))}`).status, 0);
    await waitFor(
      async () =>
        !((await status())?.status.alarms ?? []).some((a: { code: string }) => a.code === 'OUTBOX_WRITE_FAILED'),
      30_000,
      'the alarm cleared',
    );
    await waitFor(
      () => notify.messages.some((m) => m.atS > alarmAtS && /^STATUS=online/.test(m.text)),
      10_000,
      'STATUS=online again',
    );
    const after = (await status())!;
    t.is(after.details.loop.heldSamples, 0);
    const nextSeq = after.details.nextSeq as number;
    await waitFor(() => sub.missing(nextSeq - 20).length === 0, 30_000, 'every seq delivered or declared');
    t.deepEqual(sub.bad, []);
    t.log(
      `held at most ${full2.details.loop.heldSamples} readings, ${after.details.loop.lostSamples} declared lost, ` +
        `${dogs.length} watchdog pings while full`,
    );
  } finally {
    const pid = existsSync(join(dir, 'agent.pid')) ? Number(readFileSync(join(dir, 'agent.pid'), 'utf8')) : 0;
    if (pid > 0) spawnSync('kill', ['-TERM', String(pid)]);
    await Promise.race([nsExit, new Promise((r) => setTimeout(r, 15_000))]);
    if (nsCode === undefined) ns.kill('SIGKILL');
    notify.child.kill();
    await sub.stop();
    await meter.close();
    await broker.dispose();
  }
  t.is(readFileSync(join(dir, 'agent.rc'), 'utf8').trim(), '0', log(dir));
  const verify = JSON.parse(readFileSync(join(dir, 'verify.json'), 'utf8')) as { ok: boolean };
  t.true(verify.ok, JSON.stringify(verify));
  t.is(readFileSync(join(dir, 'verify.rc'), 'utf8').trim(), '0');
  rmSync(dir, { recursive: true, force: true });
});

function log(dir: string): string {
  const p = join(dir, 'agent.log');
  return existsSync(p) ? readFileSync(p, 'utf8').slice(-2000) : '(no agent log)';
}
