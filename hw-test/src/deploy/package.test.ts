// The Debian package (issue 14, item 3): what `npm run package:deb` puts in the .deb, its control fields, lintian,
// the packaged dispatcher run with its own Node 24, and the arm64 package's native addons loaded in an arm64 root
// under qemu-user. Needs root and Debian's dpkg-dev, lintian, mmdebstrap, qemu-user-static, binfmt-support,
// g++-aarch64-linux-gnu: a missing one fails the test, never skips it.
import test from 'ava';
import { execFile } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheDir, ensureDeb, lightnodeVersion, type DebArch } from './artifacts.js';
import { copyRoot, ensureBaseRoot } from './nspawn.js';

const NODE_VERSION = '24.22.3';
const version = lightnodeVersion();
const releaseDir = `usr/lib/lightnode/releases/${version}`;

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}
function sh(cmd: string, args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { cwd: opts.cwd, timeout: opts.timeoutMs ?? 600_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (e, stdout, stderr) => {
        if (e && typeof e.code !== 'number') reject(new Error(`${cmd}: ${e.message} (is it installed?)`));
        else resolve({ code: e ? (e.code as number) : 0, stdout, stderr });
      },
    );
  });
}

/** The package extracted (dpkg-deb -x) into a fresh temporary directory, removed at teardown. */
async function extracted(t: { teardown(fn: () => void): void }, arch: DebArch): Promise<string> {
  const deb = ensureDeb(arch);
  const dir = mkdtempSync(join(tmpdir(), `lightnode-deb-${arch}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const r = await sh('dpkg-deb', ['-x', deb, dir]);
  if (r.code !== 0) throw new Error(`dpkg-deb -x ${deb}: ${r.stderr}`);
  return dir;
}

/** Every directory name under `dir` (recursively), relative to it. */
function dirsUnder(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const r = rel ? `${rel}/${e.name}` : e.name;
    out.push(r, ...dirsUnder(dir, r));
  }
  return out;
}

test('amd64 package: the factory release carries Node 24, the three workspaces and production dependencies only', async (t) => {
  const root = await extracted(t, 'amd64');
  const rel = join(root, releaseDir);
  const release = JSON.parse(readFileSync(join(rel, 'release.json'), 'utf8')) as { seq: unknown };
  t.true(Number.isInteger(release.seq) && (release.seq as number) > 0, `seq ${String(release.seq)}`);
  t.deepEqual(release, { name: 'lightnode', version, arch: 'amd64', seq: release.seq, node: NODE_VERSION });
  t.true(statSync(join(rel, 'bin', 'lightnode')).mode & 0o111 ? true : false, 'bin/lightnode is executable');
  const v = await sh(join(rel, 'node', 'bin', 'node'), ['-v']);
  t.is(v.stdout.trim(), `v${NODE_VERSION}`, v.stderr);
  // stripped: the issue measured 127 MB unstripped, 109 MB stripped
  t.true(statSync(join(rel, 'node', 'bin', 'node')).size < 115e6);
  const file = await sh('file', ['-b', join(rel, 'node', 'bin', 'node')]);
  t.regex(file.stdout, /stripped/);
  t.notRegex(file.stdout, /not stripped/);

  const nm = join(rel, 'app', 'node_modules');
  t.deepEqual(readdirSync(join(nm, '@lightnode')).sort(), ['edge', 'protocols', 'provisioning']);
  const dirs = dirsUnder(nm);
  const forbidden = /(^|\/)(cloud|hw-test|bench|aedes|pg|solc|ethers|ava|typescript|@foundry-rs|anvil[^/]*|hardhat)$/;
  t.deepEqual(
    dirs.filter((d) => forbidden.test(d)),
    [],
    'no cloud, hw-test, bench, dev tools or their dependencies in app/',
  );
  for (const ws of ['protocols', 'edge', 'provisioning']) {
    const d = join(nm, '@lightnode', ws, 'dist');
    t.true(existsSync(join(d, 'cli.js')), `${ws}/dist/cli.js`);
    t.false(existsSync(join(d, 'testing')), `${ws}/dist/testing is left out`);
    const tests = dirsUnder(d)
      .concat([''])
      .flatMap((sub) => readdirSync(join(d, sub)).filter((f) => f.endsWith('.test.js')));
    t.deepEqual(tests, [], `${ws}: no *.test.js`);
  }
  t.deepEqual(readdirSync(join(nm, '@serialport', 'bindings-cpp', 'prebuilds')), ['linux-x64']);
  t.true(existsSync(join(nm, 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node')));
  t.true(existsSync(join(nm, 'unix-dgram', 'build', 'Release', 'unix_dgram.node')));

  // the system side
  for (const f of [
    'usr/bin/lightnode',
    'lib/systemd/system/lightnode-agent.service',
    'usr/lib/sysusers.d/lightnode.conf',
    'etc/lightnode/update.json',
    'etc/lightnode/update-keys.pub',
    'usr/share/doc/lightnode/copyright',
    'usr/share/doc/lightnode/changelog.gz',
    'usr/share/lintian/overrides/lightnode',
  ])
    t.true(existsSync(join(root, f)), f);
  t.deepEqual(JSON.parse(readFileSync(join(root, 'etc/lightnode/update.json'), 'utf8')), { confirmAfterS: 300 });
  t.false(existsSync(join(root, 'etc/lightnode/agent.json')), 'no agent.json: commissioning writes it');
  t.true(readdirSync(join(root, 'lib/udev/rules.d')).length > 0);
});

test('amd64 package: control fields, conffiles and maintainer scripts', async (t) => {
  const deb = ensureDeb('amd64');
  const info = await sh('dpkg-deb', ['-I', deb]);
  t.is(info.code, 0, info.stderr);
  const field = (name: string): string => new RegExp(`^ ${name}: (.*)$`, 'm').exec(info.stdout)?.[1] ?? '';
  t.is(field('Package'), 'lightnode');
  t.is(field('Version'), version);
  t.is(field('Architecture'), 'amd64');
  const depends = field('Depends').split(/,\s*/);
  t.true(depends.includes('systemd') && depends.includes('udev'), field('Depends'));
  t.true(
    depends.some((d) => /^libc6 \(>= 2\.\d+\)$/.test(d)),
    field('Depends'),
  );
  t.false(/nodejs/.test(field('Depends')), 'never nodejs');
  const ctl = mkdtempSync(join(tmpdir(), 'lightnode-ctl-'));
  t.teardown(() => rmSync(ctl, { recursive: true, force: true }));
  t.is((await sh('dpkg-deb', ['-e', deb, ctl])).code, 0);
  t.deepEqual(readFileSync(join(ctl, 'conffiles'), 'utf8').trim().split('\n').sort(), [
    '/etc/lightnode/update-keys.pub',
    '/etc/lightnode/update.json',
  ]);
  for (const s of ['postinst', 'prerm', 'postrm']) {
    const n = await sh('sh', ['-n', join(ctl, s)]);
    t.is(n.code, 0, `${s}: ${n.stderr}`);
    t.notRegex(readFileSync(join(ctl, s), 'utf8'), /@[A-Z_]+@/, `${s}: every placeholder filled`);
  }
  t.regex(readFileSync(join(ctl, 'postinst'), 'utf8'), /deb-systemd-helper enable "\$unit"/);
  t.regex(readFileSync(join(ctl, 'postinst'), 'utf8'), /UNITS="[^"]*lightnode-agent\.service/);
});

test('amd64 package: lintian reports no error', async (t) => {
  const r = await sh('lintian', ['--no-tag-display-limit', ensureDeb('amd64')]);
  t.log(`lintian: ${r.stdout.split('\n').filter((l) => /^[EWI]:/.test(l)).length} tags`);
  const errors = r.stdout.split('\n').filter((l) => l.startsWith('E:'));
  t.deepEqual(errors, [], r.stdout);
  t.true(r.code === 0 || r.code === 1 || r.code === 2, `lintian ran (exit ${r.code}): ${r.stderr}`);
});

test('the packaged dispatcher, on its own Node 24, lists only installed commands; others exit 2', async (t) => {
  const root = await extracted(t, 'amd64');
  const bin = join(root, releaseDir, 'bin', 'lightnode');
  const help = await sh(bin, ['--help']);
  t.is(help.code, 0, help.stderr);
  const listed = [...help.stdout.matchAll(/^ {2}(\S+)/gm)].map((m) => m[1]);
  for (const c of ['protocol', 'agent', 'status', 'buffer', 'update', 'image']) t.true(listed.includes(c), c);
  for (const c of ['cloud', 'proof', 'setpoint', 'market', 'dsotp', 'demo', 'sim']) t.false(listed.includes(c), c);
  const cloud = await sh(bin, ['cloud']);
  t.is(cloud.code, 2);
  t.regex(cloud.stderr, /lightnode cloud: not installed in this build/);
  const demo = await sh(bin, ['demo', '--help']);
  t.is(demo.code, 2);
  // an installed command works, through every lazily loaded module of its tree
  const proto = await sh(bin, ['protocol', '--help']);
  t.is(proto.code, 0, proto.stderr);
  const agent = await sh(bin, ['agent', '--help']);
  t.is(agent.code, 0, agent.stderr);
  // every module reachable from the three public surfaces loads without what was left out (tests, testing/, dev deps)
  const app = join(root, releaseDir, 'app');
  const load = await sh(
    join(root, releaseDir, 'node', 'bin', 'node'),
    [
      '--input-type=module',
      '-e',
      "for (const p of ['protocols', 'edge', 'provisioning']) { await import(`@lightnode/${p}`); await import(`@lightnode/${p}/cli`); }",
    ],
    { cwd: app },
  );
  t.is(load.code, 0, load.stderr);
});

/** Makes sure the kernel runs aarch64 binaries through qemu-user-static (binfmt_misc mounted, entry enabled). */
async function ensureBinfmt(): Promise<void> {
  const entry = '/proc/sys/fs/binfmt_misc/qemu-aarch64';
  if (existsSync(entry) && readFileSync(entry, 'utf8').startsWith('enabled')) return;
  if (!existsSync('/proc/sys/fs/binfmt_misc/register')) {
    const m = await sh('mount', ['-t', 'binfmt_misc', 'binfmt_misc', '/proc/sys/fs/binfmt_misc']);
    if (m.code !== 0) throw new Error(`mount binfmt_misc: ${m.stderr}`);
  }
  const u = await sh('update-binfmts', ['--enable', 'qemu-aarch64']);
  if (u.code !== 0) throw new Error(`update-binfmts --enable qemu-aarch64 (qemu-user-static): ${u.stderr}`);
}

/**
 * A minimal arm64 Debian root: libc6, libgcc-s1 and libstdc++6 (what Node and the addons link), unpacked by mmdebstrap's
 * `extract` variant (no maintainer scripts run under qemu: seconds instead of minutes), cached in out/cache/.
 */
async function arm64Root(): Promise<string> {
  const dir = join(cacheDir, 'qemu-root-arm64');
  if (
    existsSync(join(dir, 'lib', 'ld-linux-aarch64.so.1')) &&
    existsSync(join(dir, 'usr/lib/aarch64-linux-gnu/libstdc++.so.6'))
  )
    return dir;
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  const r = await sh(
    'mmdebstrap',
    ['--arch=arm64', '--variant=extract', '--include=libc6,libgcc-s1,libstdc++6', '--mode=root', 'bookworm', tmp],
    { timeoutMs: 900_000 },
  );
  if (r.code !== 0) throw new Error(`mmdebstrap arm64: ${r.stderr.split('\n').slice(-20).join('\n')}`);
  renameSync(tmp, dir);
  return dir;
}

test('arm64 package: better-sqlite3, unix-dgram and serialport load in an arm64 root under qemu-user', async (t) => {
  await ensureBinfmt();
  const root = await arm64Root();
  // a fresh copy of the factory release in the cached root (not `dpkg-deb -x` into it: tar would replace the
  // merged-/usr symlink /lib by the package's lib/ directory)
  const x = await extracted(t, 'arm64');
  rmSync(join(root, 'usr', 'lib', 'lightnode'), { recursive: true, force: true });
  cpSync(join(x, 'usr', 'lib', 'lightnode'), join(root, 'usr', 'lib', 'lightnode'), { recursive: true });
  t.teardown(() => rmSync(join(root, 'usr', 'lib', 'lightnode'), { recursive: true, force: true }));
  const rel = `/${releaseDir}`;
  t.is(JSON.parse(readFileSync(join(root, rel, 'release.json'), 'utf8')).arch, 'arm64');
  t.deepEqual(readdirSync(join(root, rel, 'app/node_modules/@serialport/bindings-cpp/prebuilds')), ['linux-arm64']);
  const script = `
    const { createRequire } = require('node:module');
    const req = createRequire('${rel}/app/node_modules/@lightnode/edge/package.json');
    const Database = req('better-sqlite3');
    const db = new Database(':memory:');
    db.exec('create table t (x integer)');
    db.prepare('insert into t values (?)').run(42);
    const sum = db.prepare('select sum(x) as s, sqlite_version() as v from t').get();
    const dgram = req('unix-dgram');
    const sock = dgram.createSocket('unix_dgram');
    sock.close();
    const { autoDetect } = req('@serialport/bindings-cpp');
    autoDetect()
      .open({ path: '/dev/lightnode-no-such-port', baudRate: 9600 })
      .then(() => ({ opened: true }), (e) => ({ error: String(e.message) }))
      .then((open) => console.log(JSON.stringify({ arch: process.arch, node: process.version, sum: sum.s, sqlite: sum.v, open })));
  `;
  const r = await sh('chroot', [root, `${rel}/node/bin/node`, '-e', script], { timeoutMs: 300_000 });
  t.is(r.code, 0, r.stderr);
  const got = JSON.parse(r.stdout.trim()) as { arch: string; node: string; sum: number; sqlite: string; open: unknown };
  t.log(`under qemu-aarch64: ${r.stdout.trim()}`);
  t.is(got.arch, 'arm64');
  t.is(got.node, `v${NODE_VERSION}`);
  t.is(got.sum, 42);
  // the serialport addon ran its native open(): ENOENT for a port that does not exist
  t.regex(JSON.stringify(got.open), /ENOENT|No such file/);
});

test('amd64 package installs offline in a chroot (user, current, units enabled); purge keeps the device state', async (t) => {
  const deb = ensureDeb('amd64');
  // a throw-away copy of the suite's cached Debian root (systemd, udev: what the package depends on)
  const root = copyRoot(await ensureBaseRoot(cacheDir));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const inRoot = (args: string[]): Promise<Ran> => sh('chroot', [root, ...args]);
  const purge = async (): Promise<void> => {
    await inRoot(['dpkg', '--purge', 'lightnode']);
    rmSync(join(root, 'var/lib/lightnode'), { recursive: true, force: true });
    rmSync(join(root, 'tmp/lightnode.deb'), { force: true });
  };
  await purge();
  t.teardown(purge);
  copyFileSync(deb, join(root, 'tmp/lightnode.deb'));
  const i = await inRoot(['dpkg', '-i', '/tmp/lightnode.deb']);
  t.is(i.code, 0, i.stdout + i.stderr);
  t.regex(readFileSync(join(root, 'etc/passwd'), 'utf8'), /^lightnode:x:\d+:\d+:[^:]*:\/var\/lib\/lightnode:/m);
  t.regex(readFileSync(join(root, 'etc/group'), 'utf8'), /^dialout:x:\d+:.*\blightnode\b/m);
  t.is(readlinkSync(join(root, 'var/lib/lightnode-sw/current')), `/${releaseDir}`);
  t.true(lstatSync(join(root, 'etc/systemd/system/multi-user.target.wants/lightnode-agent.service')).isSymbolicLink());
  const help = await inRoot(['/usr/bin/lightnode', '--help']);
  t.is(help.code, 0, help.stderr);
  t.regex(help.stdout, /^ {2}agent /m);
  const update = await inRoot(['/usr/bin/lightnode', 'update', '--help']);
  t.is(update.code, 0, update.stderr);

  // the agent's state (its device key) survives a purge; the OTA tree and the enable links go
  mkdirSync(join(root, 'var/lib/lightnode'), { recursive: true });
  writeFileSync(join(root, 'var/lib/lightnode/device.key'), 'not a real key\n');
  const p = await inRoot(['dpkg', '--purge', 'lightnode']);
  t.is(p.code, 0, p.stdout + p.stderr);
  t.true(existsSync(join(root, 'var/lib/lightnode/device.key')), 'device key kept');
  t.false(existsSync(join(root, 'var/lib/lightnode-sw')), 'OTA state removed');
  t.false(existsSync(join(root, 'etc/lightnode/update.json')), 'conffiles purged');
  t.false(existsSync(join(root, 'etc/systemd/system/multi-user.target.wants/lightnode-agent.service')));
});
