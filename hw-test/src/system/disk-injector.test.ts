// A real full disk: the agent (a process) with its store on a 4 MiB tmpfs of its own mount namespace (the HIL
// disk-full injector, `startAgentOnTmpfs`: `unshare -rm` + `mount -t tmpfs`), filled by a ballast file, then freed.
// Seen from outside: the OUTBOX_WRITE_FAILED alarm in `lightnode status` (state degraded, named in systemd's STATUS=),
// the watchdog still fed (our own NOTIFY_SOCKET datagram listener, python3), polling going on, the alarm cleared once
// the ballast is gone, every seq delivered or declared, and `lightnode buffer verify` ok on the store afterwards.
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtinProfiles, LightNodeError, systemClock } from '@lightnode/protocols';
import { MeterSimulator, serveTcp, startMosquitto } from '../index.js';
import { Subscriber, agentDir, agentStatus, cli, waitFor } from '../hil/harness.js';
import { startAgentOnTmpfs, Tmpfs, type AgentOnTmpfs } from '../hil/disk.js';

const MiB = 1024 * 1024;

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
  t.is((await cli(['protocol', 'keygen', '--out', join(dir, 'device.key')])).code, 0);
  const notify = notifyListener(join(dir, 'notify.sock'));
  await waitFor(() => notify.bound(), 10_000, 'the NOTIFY_SOCKET listener');
  let agent: AgentOnTmpfs | undefined;
  const status = () => agentStatus(configPath);
  try {
    agent = await startAgentOnTmpfs({
      configPath,
      stateDir: fs,
      sizeMiB: 4,
      env: { NOTIFY_SOCKET: join(dir, 'notify.sock'), WATCHDOG_USEC: '2000000' },
    });
    let exited: number | null | undefined;
    void agent.exited.then((c) => (exited = c));
    const started = agent;
    await waitFor(
      () => {
        if (exited !== undefined) throw new Error(`the agent exited early (${exited}): ${started.log().slice(-2000)}`);
        return existsSync(join(dir, 'agent.sock'));
      },
      20_000,
      'the agent status socket',
    );
    t.is((await agent.usage()).sizeBytes, 4 * MiB, 'the store is on the 4 MiB tmpfs');
    t.false(existsSync(join(fs, 'outbox.db')), 'the outbox is on the tmpfs, not on the directory under it');
    await waitFor(() => notify.messages.some((m) => m.text.startsWith('READY=1')), 10_000, 'READY=1');
    await waitFor(() => sub.batches >= 3, 20_000, 'first batches');

    // fill the disk: the ballast takes every free block (written until ENOSPC)
    const ballastB = await agent.fill();
    const full = await agent.usage();
    t.is(full.freeBytes, 0, JSON.stringify(full));
    t.is(full.ballastBytes, ballastB);
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
    t.is(await agent.free(), ballastB);
    t.is((await agent.usage()).ballastBytes, 0);
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
    // stopped (SIGTERM: a clean exit), the outbox left on the tmpfs is sound and continuous
    t.is(await agent.stop(), 0, agent.log().slice(-2000));
    const verify = await agent.tmpfs.cli(['buffer', 'verify', '--db', join(fs, 'outbox.db'), '--json']);
    t.is(verify.code, 0, verify.err);
    const report = JSON.parse(verify.out) as { ok: boolean };
    t.true(report.ok, verify.out);
  } finally {
    await agent?.dispose();
    notify.child.kill();
    await sub.stop();
    await meter.close();
    await broker.dispose();
  }
  rmSync(dir, { recursive: true, force: true });
});

test('the disk-full injector names why it cannot mount', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ln-tmpfs-'));
  try {
    await t.throwsAsync(Tmpfs.mount({ path: join(dir, 'fs'), sizeMiB: 0 }), { message: /^USAGE: .*sizeMiB/ });
    // a regular file where the mount point should be: the namespace is made, the mount refused (not a directory)
    const file = join(dir, 'file');
    writeFileSync(file, 'x');
    const e = await t.throwsAsync(Tmpfs.mount({ path: file, sizeMiB: 1 }), { instanceOf: LightNodeError });
    t.is(e?.code, 'IO_ERROR');
    t.regex(e?.message ?? '', /^IO_ERROR: disk-full: cannot mount a 1 MiB tmpfs on .*file in its namespace: .+/);
    t.is(e?.context.stage, 'mount');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
