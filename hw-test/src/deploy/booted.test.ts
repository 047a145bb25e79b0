// The units under a real systemd: the image's root (Debian bookworm + the lightnode package) booted with
// systemd-nspawn, Mosquitto and a simulated meter on the host's loopback (the container shares it). A probe boots a
// minimal root first: when nspawn cannot boot here, every test below registers as skipped with the reason in its
// title (never a silent pass). One boot serves the whole file; the tests run in order (serial).
//
// Figures (boot, time to READY, the agent's RSS, the booted security score, each scenario) go to t.log and to
// out/test/deploy-figures.json (key "booted") for bench/RESULTS.md.
import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtinProfiles, systemClock } from '@lightnode/protocols';
import { MeterSimulator, serveTcp, startMosquitto, type Mosquitto } from '../index.js';
import { ROOT as REPO, Subscriber } from '../hil/harness.js';
import { ensureImage } from './artifacts.js';
import { BootedContainer, copyRoot, mountImageRoot, probeNspawn, run, waitUntil, type RunResult } from './nspawn.js';

const CACHE = join(REPO, 'out', 'cache');
const FIGURES = join(REPO, 'out', 'test', 'deploy-figures.json');
const AGENT = 'lightnode-agent.service';
const BIN = join(REPO, 'bin', 'lightnode.mjs');

// ---- the probe: root, the tools, and one boot of a minimal root (its reason becomes the skip title) -------------
const probed = await probeNspawn(CACHE);
const booted = (title: string, fn: (t: ExecutionContext) => Promise<void>): void => {
  if (probed.ok) test.serial(title, fn);
  else test.skip(`${title} — skipped: ${probed.reason}`, () => undefined);
};

// ---- shared state of the one boot ---------------------------------------------------------------------------------
interface World {
  c: BootedContainer;
  broker: Mosquitto;
  meter: { port: number; close(): Promise<void> };
  sub: Subscriber;
  cleanup: (() => Promise<void> | void)[];
}
let world: World | undefined;
const figures: Record<string, unknown> = {};

function w(): World {
  if (!world) throw new Error('the container did not boot (see the before hook)');
  return world;
}

function saveFigures(): void {
  mkdirSync(join(REPO, 'out', 'test'), { recursive: true });
  let all: Record<string, unknown> = {};
  try {
    all = JSON.parse(readFileSync(FIGURES, 'utf8')) as Record<string, unknown>;
  } catch {
    /* first writer */
  }
  all.booted = { ...figures, atMs: Date.now() };
  writeFileSync(FIGURES, JSON.stringify(all, null, 2) + '\n');
}

/**
 * The booted root: the root partition of the `--board none` image (`ensureImage`: mmdebstrap bookworm with the amd64
 * package installed, postinst included), from a copy of the image mounted through `losetup --offset --sizelimit`.
 * `LN_BOOTED_ROOT=DIR` boots a copy of DIR instead (a root prepared by hand, for debugging this file).
 */
async function packageRoot(): Promise<{ root: string; cleanup: () => Promise<void> | void }> {
  const given = process.env.LN_BOOTED_ROOT;
  if (given) {
    const root = copyRoot(given);
    return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
  }
  return mountImageRoot(ensureImage('none'));
}

async function inside(cmd: string[], o: { timeoutMs?: number } = {}): Promise<RunResult> {
  return w().c.exec(cmd, o);
}

async function agentProps(): Promise<Record<string, string>> {
  return w().c.show(AGENT, [
    'ActiveState',
    'SubState',
    'Result',
    'MainPID',
    'NRestarts',
    'ExecMainStartTimestampMonotonic',
    'ActiveEnterTimestampMonotonic',
  ]);
}

async function journal(unit = AGENT, lines = 60): Promise<string> {
  return (await inside(['journalctl', '-u', unit, '-n', String(lines), '--no-pager', '-o', 'cat'])).out;
}

if (probed.ok)
  test.serial.before(async (t) => {
    figures.probeBootMs = probed.bootMs;
    const cleanup: World['cleanup'] = [];
    try {
      const { root, cleanup: rootCleanup } = await packageRoot();
      cleanup.push(rootCleanup);
      const c = await BootedContainer.boot(root, { timeoutMs: 90_000 });
      cleanup.push(() => c.poweroff());
      figures.bootMs = c.bootMs;
      t.log(`booted the image root in ${c.bootMs} ms (probe root: ${probed.bootMs} ms)`);
      const broker = await startMosquitto();
      cleanup.push(() => broker.dispose());
      const sim = new MeterSimulator({
        profile: builtinProfiles().get('eastron/sdm630'),
        unit: 1,
        clock: systemClock,
        load: { seed: 14 },
      });
      const server = await serveTcp([sim], { host: '127.0.0.1' });
      cleanup.push(() => server.close());
      const meter = { port: server.port!, close: () => server.close() };
      const sub = new Subscriber(broker.url);
      await sub.start();
      cleanup.push(() => sub.stop());
      world = { c, broker, meter, sub, cleanup };
    } catch (e) {
      for (const f of cleanup.reverse()) await f();
      throw e;
    }
  });

test.after.always(async () => {
  if (!world) return;
  saveFigures();
  for (const f of world.cleanup.reverse()) {
    try {
      await f();
    } catch {
      /* keep cleaning */
    }
  }
  world = undefined;
});

// ---- the tests ---------------------------------------------------------------------------------------------------
booted(
  'systemd-analyze verify --root of every unit in deploy/systemd (as installed): rc 0, empty stderr',
  async (t) => {
    const { c } = w();
    const units = readdirSync(join(REPO, 'deploy', 'systemd')).sort();
    for (const u of units)
      t.is(
        readFileSync(c.hostPath(`/lib/systemd/system/${u}`), 'utf8'),
        readFileSync(join(REPO, 'deploy', 'systemd', u), 'utf8'),
        `${u} installed as shipped`,
      );
    const r = await run('systemd-analyze', [
      'verify',
      `--root=${c.root}`,
      ...units.map((u) => `/lib/systemd/system/${u}`),
    ]);
    t.is(r.code, 0, r.err);
    t.is(r.err, '', `verify of ${units.join(' ')}`);
    t.log(`verified ${units.length} units: ${units.join(', ')}`);
  },
);

booted('first boot: lightnode-keygen made a 0600 device key owned by lightnode, in a 0750 state dir', async (t) => {
  const { c } = w();
  const st = await waitUntil(
    async () => {
      const r = await c.exec(['stat', '-c', '%a %U %G', '/var/lib/lightnode/device.key', '/var/lib/lightnode']);
      return r.code === 0 ? r.out.trim().split('\n') : undefined;
    },
    20_000,
    'the device key',
  );
  t.deepEqual(st, ['600 lightnode lightnode', '750 lightnode lightnode']);
  t.is((await c.show('lightnode-keygen.service', ['Result'])).Result, 'success');
  t.regex(await c.sh('id lightnode'), /\(dialout\)/);
});

booted('the agent reaches READY under systemd (Type=notify): time from systemctl start to active, RSS', async (t) => {
  const { c, broker, meter, sub } = w();
  c.writeFile(
    '/etc/lightnode/agent.json',
    JSON.stringify({
      podId: 'IT002E61899978',
      stateDir: '/var/lib/lightnode',
      batch: { windowMs: 1000 },
      uplink: { url: broker.url, keepaliveS: 10, reconnectBaseMs: 200, reconnectMaxMs: 2000 },
      lines: [
        {
          name: 'l1',
          transport: { tcp: { host: '127.0.0.1', port: meter.port } },
          meters: [{ id: 'main', profile: 'eastron/sdm630', pollMs: 200 }],
        },
      ],
    }),
  );
  c.writeFile(
    `/etc/systemd/system/${AGENT}.d/50-test.conf`,
    '[Service]\nWatchdogSec=3\nRestartSec=1\nTimeoutStartSec=10\n',
  );
  c.writeFile('/etc/lightnode/update.json', JSON.stringify({ confirmAfterS: 4 }) + '\n');
  // the confirm timer every 2 s instead of every minute (an empty OnBootSec= resets every monotonic timer)
  c.writeFile(
    '/etc/systemd/system/lightnode-update-confirm.timer.d/50-test.conf',
    '[Timer]\nOnBootSec=\nOnBootSec=2s\nOnUnitActiveSec=2s\nAccuracySec=100ms\n',
  );
  await c.sh('systemctl daemon-reload && systemctl restart lightnode-update-confirm.timer');
  const t0 = Date.now();
  const start = await c.exec(['systemctl', 'start', AGENT], { timeoutMs: 30_000 });
  const startMs = Date.now() - t0;
  t.is(start.code, 0, `${start.err}\n${await journal()}`);
  const p = await agentProps();
  t.is(p.ActiveState, 'active');
  t.is(p.SubState, 'running');
  const execToReadyMs = (Number(p.ActiveEnterTimestampMonotonic) - Number(p.ExecMainStartTimestampMonotonic)) / 1000;
  const status = await c.sh(`cat /proc/${p.MainPID}/status`);
  const rssKb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]);
  const exe = (await c.sh(`readlink /proc/${p.MainPID}/exe`)).trim();
  t.regex(exe, /\/node\/bin\/node$/, 'the main PID is Node (the wrappers exec)');
  t.true(rssKb > 0, `VmRSS of ${p.MainPID}: ${status}`); // recorded for bench/RESULTS.md, not a gate here
  const sock = (await c.sh('stat -c "%a %U %G" /var/lib/lightnode/agent.sock')).trim();
  t.is(sock, '660 lightnode lightnode');
  const st = await c.exec(['lightnode', 'status', '--config', '/etc/lightnode/agent.json', '--json']);
  t.is(st.code, 0, st.err);
  Object.assign(figures, { startToActiveMs: startMs, execToReadyMs, agentRssKb: rssKb, agentExe: exe });
  t.log(
    `systemctl start → active (READY): ${startMs} ms (exec → READY ${execToReadyMs.toFixed(0)} ms); RSS ${rssKb} kB`,
  );
  await waitUntil(() => sub.batches >= 2, 20_000, 'batches at the subscriber');
});

booted('systemd-analyze security inside the booted container: ≤ 2.5 for the agent unit', async (t) => {
  const r = await inside(['systemd-analyze', 'security', '--no-pager', AGENT]);
  const score = Number(/Overall exposure level for \S+: ([\d.]+)/.exec(r.out)?.[1]);
  figures.bootedSecurity = score;
  t.log(`booted security score ${score}`);
  t.true(score <= 2.5, r.out.slice(-3000));
});

booted('samples reach Mosquitto: signed batches verified by an independent subscriber', async (t) => {
  const { sub } = w();
  const before = sub.batches;
  await waitUntil(() => sub.batches >= before + 2, 20_000, 'two more batches');
  t.deepEqual(sub.bad, []);
  t.true(sub.seqs.size > 0);
});

booted('a SIGSTOPped agent is killed by the watchdog (WatchdogSec=3) and restarted to READY', async (t) => {
  const { c } = w();
  const p0 = await agentProps();
  const t0 = Date.now();
  await c.sh(`kill -STOP ${p0.MainPID}`);
  const p1 = await waitUntil(
    async () => {
      const p = await agentProps();
      return p.ActiveState === 'active' && Number(p.NRestarts) > Number(p0.NRestarts) && p.MainPID !== p0.MainPID
        ? p
        : undefined;
    },
    30_000,
    'the agent back after a watchdog kill',
  );
  const ms = Date.now() - t0;
  figures.watchdogRecoveryMs = ms;
  t.log(`SIGSTOP → watchdog kill → READY again in ${ms} ms (NRestarts ${p0.NRestarts} → ${p1.NRestarts})`);
  t.regex(await journal(AGENT, 200), /Watchdog timeout/);
});

// ---- signed bundles: three bad releases rolled back, a good one confirmed -----------------------------------------
interface UpdateStatus {
  current: { version: string; seq: number; source: string; confirmed: boolean };
  previous: { version: string } | null;
  factory: { version: string; seq: number };
  pending: { version: string; starts?: number } | null;
  last: { action: string; result: string; reason?: string | null; atMs: number } | null;
  retry?: unknown;
}

let keys: { dir: string; pub: string; sec: string } | undefined;
let nextSeq = 0;

function hostCli(args: string[]): Promise<RunResult> {
  return run(process.execPath, [BIN, ...args], { timeoutMs: 300_000 });
}

async function updateStatus(): Promise<UpdateStatus> {
  const r = await inside(['lightnode', 'update', 'status', '--json']);
  if (r.code !== 0) throw new Error(`update status: exit ${r.code}: ${r.err}`);
  return JSON.parse(r.out) as UpdateStatus;
}

/** The test key (made now, never committed) installed as the container's trusted update key. */
async function trust(): Promise<{ dir: string; pub: string; sec: string }> {
  if (keys) return keys;
  const dir = mkdtempSync(join(tmpdir(), 'ln-minisign-'));
  const k = { dir, pub: join(dir, 'test.pub'), sec: join(dir, 'test.key') };
  const g = await run('minisign', ['-G', '-W', '-p', k.pub, '-s', k.sec]);
  if (g.code !== 0) throw new Error(`minisign -G -W: ${g.err}`);
  w().cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  w().c.writeFile('/etc/lightnode/update-keys.pub', readFileSync(k.pub));
  keys = k;
  return k;
}

/** The factory release tree inside the container (the newest under /usr/lib/lightnode/releases). */
let factoryCopy: { dir: string; release: Record<string, unknown> } | undefined;
/**
 * The factory release, copied once from the booted root (an ext4 on a loop device) to the host's temp dir, so that
 * each bundle's tree can be a hard-linked copy of it (hard links cannot cross file systems).
 */
function factoryTree(): { dir: string; release: Record<string, unknown> } {
  if (factoryCopy) return factoryCopy;
  const base = w().c.hostPath('/usr/lib/lightnode/releases');
  const rows = spawnSync('ls', ['-1', base]).stdout.toString().trim().split('\n').filter(Boolean);
  const v = rows.sort().at(-1);
  if (!v) throw new Error(`no factory release under ${base}`);
  const work = mkdtempSync(join(tmpdir(), 'ln-factory-'));
  w().cleanup.push(() => rmSync(work, { recursive: true, force: true }));
  const dir = join(work, v);
  const cp = spawnSync('cp', ['-a', join(base, v), dir]);
  if (cp.status !== 0) throw new Error(`cp -a ${join(base, v)} ${dir}: ${cp.stderr.toString()}`);
  factoryCopy = {
    dir,
    release: JSON.parse(readFileSync(join(dir, 'release.json'), 'utf8')) as Record<string, unknown>,
  };
  return factoryCopy;
}

const RELEASE_DIR = 'R=$(dirname "$(dirname "$(readlink -f "$0")")")\nexport LIGHTNODE_RELEASE="$R"\n';
const BAD: Record<string, { launcher: string; extra?: Record<string, string> }> = {
  // the agent exits at once, every start
  crash: { launcher: `#!/bin/sh\n${RELEASE_DIR}echo "test release: the agent crashes at start" >&2\nexit 70\n` },
  // the real agent, whose event loop blocks for good 1 s after it sent READY=1 (so WATCHDOG=1 stops)
  hang: {
    launcher: `#!/bin/sh\n${RELEASE_DIR}exec "$R/node/bin/node" --import "$R/hang.mjs" "$R/app/bin/lightnode.mjs" "$@"\n`,
    extra: {
      'hang.mjs': [
        "import { createRequire } from 'node:module';",
        'const edge = `${process.env.LIGHTNODE_RELEASE}/app/node_modules/@lightnode/edge/dist/agent/notify-socket.js`;',
        "const dgram = createRequire(edge)('unix-dgram');",
        'const create = dgram.createSocket;',
        'dgram.createSocket = (...a) => {',
        '  const s = create(...a);',
        '  const send = s.send.bind(s);',
        '  s.send = (buf, ...rest) => {',
        "    if (buf.toString().includes('READY=1'))",
        '      setTimeout(() => { for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000); }, 1000);',
        '    return send(buf, ...rest);',
        '  };',
        '  return s;',
        '};',
        '',
      ].join('\n'),
    },
  },
  // the real agent without NOTIFY_SOCKET: it runs but never tells systemd READY=1
  noready: {
    launcher: `#!/bin/sh\n${RELEASE_DIR}unset NOTIFY_SOCKET\nexec "$R/node/bin/node" "$R/app/bin/lightnode.mjs" "$@"\n`,
  },
  good: { launcher: `#!/bin/sh\n${RELEASE_DIR}exec "$R/node/bin/node" "$R/app/bin/lightnode.mjs" "$@"\n` },
};

/** A signed bundle of a copy of the factory tree (hard links; changed files replaced, never written through). */
async function bundle(kind: keyof typeof BAD): Promise<{ file: string; version: string; seq: number; packMs: number }> {
  const k = await trust();
  const { dir, release } = factoryTree();
  nextSeq = Math.max(nextSeq, Number(release.seq)) + 1;
  const version = `${String(release.version)}-t${nextSeq}${kind}`;
  const work = mkdtempSync(join(tmpdir(), `ln-bundle-${kind}-`));
  w().cleanup.push(() => rmSync(work, { recursive: true, force: true }));
  const tree = join(work, 'tree');
  const cp = spawnSync('cp', ['-al', dir, tree]);
  if (cp.status !== 0) throw new Error(`cp -al ${dir}: ${cp.stderr.toString()}`);
  for (const f of ['release.json', 'bin/lightnode']) rmSync(join(tree, f));
  writeFileSync(join(tree, 'release.json'), JSON.stringify({ ...release, version, seq: nextSeq }, null, 2) + '\n');
  writeFileSync(join(tree, 'bin', 'lightnode'), BAD[kind]!.launcher);
  chmodSync(join(tree, 'bin', 'lightnode'), 0o755);
  for (const [name, text] of Object.entries(BAD[kind]!.extra ?? {})) writeFileSync(join(tree, name), text);
  const file = join(work, `lightnode-${version}.bundle`);
  const t0 = Date.now();
  const p = await hostCli(['update', 'pack', '--release', tree, '--out', file]);
  if (p.code !== 0) throw new Error(`update pack: exit ${p.code}: ${p.err}`);
  const s = await hostCli(['update', 'sign', file, '--key', k.sec]);
  if (s.code !== 0) throw new Error(`update sign: exit ${s.code}: ${s.err}`);
  if (!existsSync(`${file}.minisig`)) throw new Error(`update sign wrote no ${file}.minisig`);
  return { file, version, seq: nextSeq, packMs: Date.now() - t0 };
}

/** Apply inside, by `update apply` (through nsenter) or by dropping it in the agent's incoming dir (the path unit). */
async function deliver(b: { file: string }, via: 'apply' | 'incoming'): Promise<void> {
  const { c } = w();
  const name = b.file.split('/').at(-1)!;
  if (via === 'incoming') {
    const inc = '/var/lib/lightnode/updates/incoming';
    await c.sh(`install -d -o lightnode -g lightnode -m 0750 /var/lib/lightnode/updates ${inc}`);
    c.copyIn(b.file, `${inc}/${name}`);
    c.copyIn(`${b.file}.minisig`, `${inc}/.${name}.minisig.part`);
    await c.sh(`mv ${inc}/.${name}.minisig.part ${inc}/${name}.minisig`); // the path unit sees a whole signature
    return;
  }
  c.copyIn(b.file, `/root/bundles/${name}`);
  c.copyIn(`${b.file}.minisig`, `/root/bundles/${name}.minisig`);
  const r = await inside(['lightnode', 'update', 'apply', `/root/bundles/${name}`, '--json'], { timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`update apply: exit ${r.code}: ${r.out}\n${r.err}`);
}

/** Wait for no pending release (the confirm timer), so the next bundle is not refused with UPDATE_PENDING. */
async function settled(timeoutMs = 60_000): Promise<UpdateStatus> {
  const s = await waitUntil(
    async () => {
      const s = await updateStatus();
      const p = await agentProps();
      return s.pending === null && p.ActiveState === 'active' ? s : undefined;
    },
    timeoutMs,
    async () => `no pending release: ${JSON.stringify(await updateStatus().catch((e: Error) => e.message))}`,
  );
  // each scenario starts with a fresh start-limit counter: the test's RestartSec=1 packs the previous scenario's
  // restarts into a few seconds, and StartLimitBurst=5 in 120 s would count them against the next one
  await w().c.sh(`systemctl reset-failed ${AGENT}`);
  return s;
}

function badBundle(kind: 'crash' | 'hang' | 'noready', reason: string, via: 'apply' | 'incoming'): void {
  booted(
    `a bundle whose agent ${kind === 'crash' ? 'crashes at start' : kind === 'hang' ? 'hangs after READY' : 'never sends READY'} is rolled back (reason ${reason}; via ${via === 'apply' ? 'update apply' : 'the incoming dir and lightnode-update.path'})`,
    async (t) => {
      const before = await settled();
      const b = await bundle(kind);
      const t0 = Date.now();
      await deliver(b, via);
      const s = await waitUntil(
        async () => {
          const s = await updateStatus();
          return s.last?.action === 'rollback' && (s.last.atMs ?? 0) >= t0 - 1000 ? s : undefined;
        },
        120_000,
        async () => `a rollback of ${b.version}: ${JSON.stringify(await updateStatus())}\n${await journal(AGENT, 40)}`,
      );
      const rolledBackMs = Date.now() - t0;
      t.is(s.last?.reason, reason, JSON.stringify(s));
      t.is(s.current.version, before.current.version, 'back on the release that ran before');
      const after = await settled(90_000);
      const readyAgainMs = Date.now() - t0;
      t.is(after.current.version, before.current.version);
      figures[`bundle_${kind}`] = { packMs: b.packMs, rolledBackMs, readyAndConfirmedAgainMs: readyAgainMs };
      t.log(
        `${b.version}: packed+signed ${b.packMs} ms; rolled back (${reason}) ${rolledBackMs} ms after delivery; confirmed again after ${readyAgainMs} ms`,
      );
    },
  );
}

badBundle('crash', 'crash-loop', 'incoming');
badBundle('hang', 'watchdog', 'apply');
badBundle('noready', 'no-ready', 'apply');

booted('a good bundle is applied, reaches READY and is confirmed by the confirm timer', async (t) => {
  await settled();
  const b = await bundle('good');
  const t0 = Date.now();
  await deliver(b, 'apply');
  const s = await waitUntil(
    async () => {
      const s = await updateStatus();
      return s.current.version === b.version && s.current.confirmed && s.pending === null ? s : undefined;
    },
    90_000,
    async () => `${b.version} confirmed: ${JSON.stringify(await updateStatus())}`,
  );
  const ms = Date.now() - t0;
  t.is(s.current.source, 'ota');
  t.is(s.current.seq, b.seq);
  t.is((await agentProps()).ActiveState, 'active');
  figures.bundle_good = { packMs: b.packMs, confirmedMs: ms };
  t.log(`${b.version}: packed+signed ${b.packMs} ms; confirmed ${ms} ms after apply`);
});
