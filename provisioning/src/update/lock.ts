/**
 * One exclusive lock for every operation that writes the update state (apply, confirm, rollback, the hooks and the
 * retry tick), so a confirm timer, an OnFailure rollback and an apply never interleave their state and symlink
 * writes. The lock is the file `<sw>/lock`, created with O_EXCL (`wx`) and holding `<pid> <start> <op>`: the
 * holder's PID, its start time (`/proc/<pid>/stat` field 22, so a PID reused after a crash is not mistaken for the
 * holder; `-` where /proc is missing, then a live PID is enough) and the operation. A lock whose holder is gone
 * (kill -9, power loss) is stale: it is renamed away (one of several racing takers wins the rename) and taken anew.
 * Node has no flock(2) without a native module; this needs nothing but the file system.
 *
 * A second apply while one runs is refused at once (`UPDATE_PENDING`); any other wait for the holder to finish,
 * polling, up to `waitMs` (then `IO_ERROR` naming the lock and its holder).
 */
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { LightNodeError } from '@lightnode/protocols';

export type LockOp = 'apply' | 'confirm' | 'rollback' | 'hook';

export interface LockDeps {
  now(): number;
  /** Blocks for `ms` (the CLI: Atomics.wait; tests: a fake that advances their clock). */
  sleep(ms: number): void;
  pid?: number;
  /** The start time of a live process, null when it is not running ('-' when unknown but running). */
  startOf?(pid: number): string | null;
}

export interface Lock {
  file: string;
  release(): void;
}

export const LOCK_POLL_MS = 100;

/** The start time of `pid` from /proc (field 22 of stat), '-' when /proc says nothing but the PID is alive, or null. */
export function procStartOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? '-';
  } catch {
    try {
      process.kill(pid, 0);
      return '-';
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EPERM' ? '-' : null;
    }
  }
}

/** A blocking sleep for synchronous callers (no busy loop). */
export const sleepSync = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

interface Holder {
  pid: number;
  start: string;
  op: string;
  text: string;
}

function readHolder(file: string): Holder | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const [pid, start, op] = text.trim().split(' ');
  return { pid: Number(pid), start: start ?? '', op: op ?? '?', text };
}

/** Takes the lock of `swDir` for `op`; see the module comment for waiting and refusal. */
export function acquireLock(swDir: string, op: LockOp, waitMs: number, deps: LockDeps): Lock {
  const file = join(swDir, 'lock');
  const pid = deps.pid ?? process.pid;
  const startOf = (p: number): string | null => (deps.startOf ? deps.startOf(p) : procStartOf(p));
  const mine = `${pid} ${startOf(pid) ?? '-'} ${op}\n`;
  mkdirSync(swDir, { recursive: true });
  const deadline = deps.now() + waitMs;
  for (;;) {
    try {
      const fd = openSync(file, 'wx', 0o644);
      try {
        writeSync(fd, mine);
      } finally {
        closeSync(fd);
      }
      return {
        file,
        release: () => {
          if (readHolder(file)?.text === mine) rmSync(file, { force: true });
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new LightNodeError('IO_ERROR', `${file}: cannot create the update lock (${(e as Error).message})`, {
          file,
        });
      }
    }
    const h = readHolder(file);
    if (!h) continue; // released between our open and read
    const alive = Number.isSafeInteger(h.pid) && h.pid > 0 ? startOf(h.pid) : null;
    const stale = alive === null || (alive !== '-' && h.start !== '-' && alive !== h.start);
    if (stale) {
      // rename, not unlink: of two processes that found the same stale lock only one moves it; the other's
      // rename fails (ENOENT) or moves a fresh lock, which it then puts back
      const aside = `${file}.stale.${pid}`;
      try {
        renameSync(file, aside);
        const moved = readHolder(aside);
        if (moved && moved.text !== h.text) {
          try {
            linkSync(aside, file);
          } catch {
            // a third process holds it now
          }
        }
        rmSync(aside, { force: true });
      } catch {
        // someone else took it over first
      }
      continue;
    }
    if (op === 'apply' && h.op === 'apply')
      throw new LightNodeError(
        'UPDATE_PENDING',
        `${file}: another update apply (PID ${h.pid}) is running; refused (try again when it has finished)`,
        { file, pid: h.pid },
      );
    if (deps.now() >= deadline)
      throw new LightNodeError(
        'IO_ERROR',
        `${file}: the update lock is held by PID ${h.pid} (${h.op}) for more than ${waitMs / 1000} s`,
        { file, pid: h.pid, op: h.op },
      );
    deps.sleep(LOCK_POLL_MS);
  }
}
