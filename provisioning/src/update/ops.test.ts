import test from 'ava';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeClock } from '@lightnode/protocols/testing';
import { FakeSystemctl } from '../testing/index.js';
import { packBundle } from './bundle.js';
import { parseSecretKey, signDetached } from './minisign.js';
import { applyFile, hookOp, rollbackOp, status, type UpdateEnv } from './ops.js';
import { procStartOf } from './lock.js';
import { layout } from './store.js';
import { pathProblem, scanTree, treeDigest } from './tree.js';

// the TEST key (fixtures/update/README.md)
const fx = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/update');
const sk = parseSecretKey(readFileSync(join(fx, 'test-only-minisign.key'), 'utf8'));

function release(dir: string, version: string, seq: number, src = 'one'): void {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  mkdirSync(join(dir, 'app/lib'), { recursive: true });
  writeFileSync(join(dir, 'release.json'), JSON.stringify({ name: 'lightnode', version, arch: 'amd64', seq }) + '\n');
  writeFileSync(join(dir, 'bin/lightnode'), `#!/bin/sh\necho ${version}\n`);
  chmodSync(join(dir, 'bin/lightnode'), 0o755);
  writeFileSync(join(dir, 'app/lib/main.js'), `export const v = '${src}';\n`);
  writeFileSync(join(dir, 'app/lib/dep.js'), 'x'.repeat(100_000));
}

function setup(t: { teardown(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'ln-update-ops-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const root = join(dir, 'root');
  release(join(root, 'usr/lib/lightnode/releases/1.0.0'), '1.0.0', 1);
  mkdirSync(join(root, 'etc/lightnode'), { recursive: true });
  writeFileSync(join(root, 'etc/lightnode/update-keys.pub'), readFileSync(join(fx, 'test-only-minisign.pub')));
  const systemctl = new FakeSystemctl();
  const clock = new FakeClock();
  const env: UpdateEnv = { layout: layout(root), clock, systemctl, log: () => undefined };
  const bundle = (name: string, version: string, seq: number, src: string, base?: string): string => {
    const r = join(dir, `rel-${name}`);
    release(r, version, seq, src);
    const file = join(dir, name);
    const b = packBundle(r, base ? { bytes: readFileSync(base), file: base } : undefined);
    writeFileSync(file, b.bundle);
    writeFileSync(`${file}.minisig`, signDetached(b.bundle, sk, `lightnode ${version} amd64 seq=${seq}`));
    return file;
  };
  return { dir, root, env, systemctl, clock, bundle };
}

test('apply without --root restarts the agent through the seam; OnFailure rollback resets and starts it', async (t) => {
  const { env, systemctl, bundle, root } = setup(t);
  const full = bundle('full', '1.0.0', 1, 'one');
  const delta = bundle('d2', '1.0.1', 2, 'two', full);
  // a leftover of a killed apply is removed by the next one
  mkdirSync(join(root, 'var/lib/lightnode-sw/releases/9.9.9.tmp'), { recursive: true });
  const r = await applyFile(env, delta);
  t.like(r, { applied: { version: '1.0.1', kind: 'delta' }, cleaned: ['9.9.9.tmp'] });
  t.deepEqual(systemctl.calls, ['restart lightnode-agent.service']);
  t.is(readlinkSync(join(root, 'var/lib/lightnode-sw/current')), 'releases/1.0.1');
  t.like(status(env), { current: { version: '1.0.1', source: 'ota', confirmed: false }, pending: { starts: 0 } });
  hookOp(env, 'start');
  const s = rollbackOp(env, { auto: true });
  t.like(s, { current: { version: '1.0.0', source: 'factory' }, last: { reason: 'no-ready' } });
  t.deepEqual(systemctl.calls.slice(1), ['reset-failed lightnode-agent.service', 'start lightnode-agent.service']);
});

test('the hooks are no-ops without state and never throw', (t) => {
  const { env, root } = setup(t);
  t.is(hookOp(env, 'start'), null);
  mkdirSync(join(root, 'var/lib/lightnode-sw'), { recursive: true });
  writeFileSync(join(root, 'var/lib/lightnode-sw/state.json'), '{not json');
  const lines: string[] = [];
  t.is(hookOp({ ...env, log: (l) => lines.push(l) }, 'stop', 'watchdog'), null);
  t.regex(lines[0]!, /not a state document/);
});

test('a delta applies onto its base only and yields the full tree', async (t) => {
  const { env, bundle, root } = setup(t);
  const full = bundle('full', '1.0.0', 1, 'one');
  const other = bundle('other', '1.0.0', 1, 'changed');
  const d = bundle('d2', '1.0.1', 2, 'two', other);
  await t.throwsAsync(() => applyFile(env, d), { message: /UPDATE_BASE_MISMATCH/ });
  const ok = bundle('d3', '1.0.1', 2, 'two', full);
  await applyFile(env, ok);
  const cur = join(root, 'var/lib/lightnode-sw/current');
  t.is(readFileSync(join(cur, 'app/lib/main.js'), 'utf8'), "export const v = 'two';\n");
  const fresh = join(env.layout.root, '..', 'fresh');
  release(fresh, '1.0.1', 2, 'two');
  t.is(treeDigest(scanTree(cur)), treeDigest(scanTree(fresh)));
});

test('unsafe payload paths are refused', (t) => {
  t.regex(pathProblem([{ path: '../etc/passwd', type: 'file' }])!, /unsafe/);
  t.regex(pathProblem([{ path: '/etc/passwd', type: 'file' }])!, /unsafe/);
  t.regex(
    pathProblem([
      { path: 'a', type: 'symlink' },
      { path: 'a/b', type: 'file' },
    ])!,
    /below a symlink/,
  );
  t.regex(
    pathProblem([
      { path: 'a', type: 'file' },
      { path: 'a', type: 'file' },
    ])!,
    /duplicate/,
  );
  t.is(pathProblem([{ path: 'a/b', type: 'file' }]), null);
});

test('the update lock: a second apply is refused at once; a hook waits for the holder', async (t) => {
  const { env, root, bundle } = setup(t);
  const full = bundle('full', '1.0.0', 1, 'one');
  const delta = bundle('d2', '1.0.1', 2, 'two', full);
  const lock = join(root, 'var/lib/lightnode-sw/lock');
  mkdirSync(dirname(lock), { recursive: true });
  // another apply is running (this very process stands in for it: alive, same start time)
  writeFileSync(lock, `${process.pid} ${procStartOf(process.pid)} apply\n`);
  await t.throwsAsync(() => applyFile(env, delta), { message: /UPDATE_PENDING: .*lock: another update apply/ });
  t.false(existsSync(join(root, 'var/lib/lightnode-sw/state.json')), 'nothing recorded by the refused apply');
  rmSync(lock);
  await applyFile(env, delta);
  // a hook start while a confirm holds the lock: it waits (fake sleep), then counts the start
  writeFileSync(lock, `${process.pid} ${procStartOf(process.pid)} confirm\n`);
  let waits = 0;
  const waiting: UpdateEnv = { ...env, sleep: () => (++waits === 2 ? rmSync(lock) : undefined) };
  t.like(hookOp(waiting, 'start'), { pending: { starts: 1 } });
  t.is(waits, 2);
  t.false(existsSync(lock), 'released');
});
