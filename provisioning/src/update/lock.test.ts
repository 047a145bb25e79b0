import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireLock, procStartOf, type LockDeps } from './lock.js';

function setup(t: { teardown(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'ln-update-lock-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // a manual clock: the lock's waits are synchronous, time moves only when it sleeps
  const clock = { t: 0, now: () => clock.t };
  const sleeps: number[] = [];
  const deps = (pid: number, onSleep?: () => void): LockDeps => ({
    now: () => clock.now(),
    sleep: (ms) => {
      sleeps.push(ms);
      clock.t += ms;
      onSleep?.();
    },
    pid,
    // PIDs 1000+ are "running", started at 's<pid>'
    startOf: (p) => (p >= 1000 ? `s${p}` : null),
  });
  return { dir, clock, sleeps, deps };
}

test('one holder at a time; released, the lock can be taken again', (t) => {
  const { dir, deps } = setup(t);
  const a = acquireLock(dir, 'apply', 0, deps(1001));
  t.is(readFileSync(join(dir, 'lock'), 'utf8'), '1001 s1001 apply\n');
  const e = t.throws(() => acquireLock(dir, 'apply', 0, deps(1002)));
  t.is((e as { code?: string }).code, 'UPDATE_PENDING');
  t.regex(e.message, /lock: another update apply \(PID 1001\) is running/);
  t.throws(() => acquireLock(dir, 'confirm', 0, deps(1002)), { message: /held by PID 1001 \(apply\)/ });
  a.release();
  t.false(existsSync(join(dir, 'lock')));
  acquireLock(dir, 'confirm', 0, deps(1002)).release();
});

test('a waiting operation polls until the holder releases (no real sleep)', (t) => {
  const { dir, deps, sleeps } = setup(t);
  const a = acquireLock(dir, 'apply', 0, deps(1001));
  let n = 0;
  const b = acquireLock(
    dir,
    'hook',
    60_000,
    deps(1002, () => {
      if (++n === 3) a.release();
    }),
  );
  t.deepEqual(sleeps, [100, 100, 100]);
  t.is(readFileSync(b.file, 'utf8'), '1002 s1002 hook\n');
  b.release();
});

test('waiting gives up after waitMs with IO_ERROR naming the holder', (t) => {
  const { dir, deps, sleeps } = setup(t);
  acquireLock(dir, 'rollback', 0, deps(1001));
  const e = t.throws(() => acquireLock(dir, 'apply', 1000, deps(1002)));
  t.is((e as { code?: string }).code, 'IO_ERROR');
  t.regex(e.message, /held by PID 1001 \(rollback\) for more than 1 s/);
  t.is(sleeps.length, 10);
});

test('a stale lock (dead PID, or a reused PID with another start time) is taken over', (t) => {
  const { dir, deps } = setup(t);
  writeFileSync(join(dir, 'lock'), '42 s42 apply\n'); // PID 42 is not running
  acquireLock(dir, 'apply', 0, deps(1001)).release();
  writeFileSync(join(dir, 'lock'), '1005 old-start apply\n'); // 1005 runs, but started at s1005: not the holder
  const l = acquireLock(dir, 'apply', 0, deps(1001));
  t.is(readFileSync(l.file, 'utf8'), '1001 s1001 apply\n');
  t.deepEqual(
    spawnSync('ls', ['-A', dir], { encoding: 'utf8' }).stdout.trim().split('\n'),
    ['lock'],
    'nothing left aside',
  );
  l.release();
});

test('a release does not remove a lock that is not its own', (t) => {
  const { dir, deps } = setup(t);
  const a = acquireLock(dir, 'apply', 0, deps(1001));
  writeFileSync(join(dir, 'lock'), '1002 s1002 confirm\n');
  a.release();
  t.is(readFileSync(join(dir, 'lock'), 'utf8'), '1002 s1002 confirm\n');
});

test('procStartOf: this process has a start time, an exited child none', (t) => {
  t.truthy(procStartOf(process.pid));
  const c = spawnSync('true');
  t.is(procStartOf(c.pid), null);
});
