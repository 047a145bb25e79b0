/**
 * The on-disk layout of updates (all below `root`, `/` on a device, a test directory with `--root`):
 * - `usr/lib/lightnode/releases/<version>/` — factory releases (the Debian package's);
 * - `var/lib/lightnode-sw/releases/<version>/` — releases applied over the air (root-owned), `<version>.tmp` while
 *   being extracted; symlinks `current` and `previous` (relative targets, switched by rename); `state.json`;
 * - `etc/lightnode/update-keys.pub` (trusted minisign keys) and `etc/lightnode/update.json` (`{confirmAfterS}`).
 * Every write is crash-safe: temp file + fsync + rename + directory fsync.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeSync,
} from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { LightNodeError } from '@lightnode/protocols';
import { releaseProblem, type ReleaseInfo } from './bundle.js';
import { emptyState, type Installed, type ReleaseRef, type Source, type UpdateState } from './state.js';
import { fsyncPath } from './tree.js';

export interface Layout {
  root: string;
  swDir: string;
  releasesDir: string;
  factoryDir: string;
  stateFile: string;
  keysFile: string;
  configFile: string;
}

export function layout(root = '/'): Layout {
  const r = resolve(root);
  const swDir = join(r, 'var/lib/lightnode-sw');
  return {
    root: r,
    swDir,
    releasesDir: join(swDir, 'releases'),
    factoryDir: join(r, 'usr/lib/lightnode/releases'),
    stateFile: join(swDir, 'state.json'),
    keysFile: join(r, 'etc/lightnode/update-keys.pub'),
    configFile: join(r, 'etc/lightnode/update.json'),
  };
}

/** A release directory's release.json when it is a complete release (executable bin/lightnode), else null. */
export function readRelease(dir: string, source: Source): ReleaseRef | null {
  try {
    const r = JSON.parse(readFileSync(join(dir, 'release.json'), 'utf8')) as ReleaseInfo;
    if (releaseProblem(r)) return null;
    const st = statSync(join(dir, 'bin/lightnode'));
    if (!st.isFile() || (st.mode & 0o111) === 0) return null;
    return { version: r.version, seq: r.seq, arch: r.arch, source, dir };
  } catch {
    return null;
  }
}

/** The newest (highest seq) complete factory release, or null. */
export function newestFactory(l: Layout): ReleaseRef | null {
  let names: string[] = [];
  try {
    names = readdirSync(l.factoryDir);
  } catch {
    return null;
  }
  const rs = names
    .map((n) => readRelease(join(l.factoryDir, n), 'factory'))
    .filter((r): r is ReleaseRef => r !== null)
    .sort((a, b) => b.seq - a.seq);
  return rs[0] ?? null;
}

/** Where a symlink in the sw dir points (absolute targets are taken inside `root`), as a complete release, or null. */
export function readLink(l: Layout, name: 'current' | 'previous'): ReleaseRef | null {
  let t: string;
  try {
    t = readlinkSync(join(l.swDir, name));
  } catch {
    return null;
  }
  const abs = isAbsolute(t) ? join(l.root, t) : resolve(l.swDir, t);
  const source: Source = relative(l.factoryDir, abs).startsWith('..') ? 'ota' : 'factory';
  return readRelease(abs, source);
}

/** What is installed; with no (valid) `current`, the newest factory release. */
export function installed(l: Layout): Installed {
  const factory = newestFactory(l);
  const current = readLink(l, 'current') ?? factory;
  if (!current)
    throw new LightNodeError(
      'NOT_FOUND',
      `no release installed: neither ${join(l.swDir, 'current')} nor one in ${l.factoryDir}`,
      {
        root: l.root,
      },
    );
  return { current, previous: readLink(l, 'previous'), factory };
}

/** Writes `data` to `file` crash-safely (temp + fsync + rename + fsync of the directory). */
export function writeFileAtomic(file: string, data: string | Buffer, mode = 0o644): void {
  const dir = resolve(file, '..');
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.new`;
  const fd = openSync(tmp, 'w', mode);
  try {
    const b = typeof data === 'string' ? Buffer.from(data) : data;
    for (let off = 0; off < b.length;) off += writeSync(fd, b, off, b.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  fsyncPath(dir);
}

export function readState(l: Layout): UpdateState {
  let text: string;
  try {
    text = readFileSync(l.stateFile, 'utf8');
  } catch {
    return emptyState();
  }
  try {
    const s = JSON.parse(text) as UpdateState;
    if (s.format !== 1) throw new Error(`format ${String(s.format)}`);
    return { ...emptyState(), ...s };
  } catch (e) {
    throw new LightNodeError('IO_ERROR', `${l.stateFile}: not a state document (${(e as Error).message})`, {
      file: l.stateFile,
    });
  }
}

export function writeState(l: Layout, s: UpdateState): void {
  writeFileAtomic(l.stateFile, JSON.stringify(s, null, 1) + '\n');
}

/** Points `name` at `dir`: a new symlink under a temporary name, renamed over the old one, directory fsynced. */
export function switchLink(l: Layout, name: 'current' | 'previous', dir: string | null): void {
  const link = join(l.swDir, name);
  if (dir === null) {
    rmSync(link, { force: true });
    fsyncPath(l.swDir);
    return;
  }
  mkdirSync(l.swDir, { recursive: true });
  const tmp = join(l.swDir, `.${name}.new`);
  rmSync(tmp, { force: true });
  symlinkSync(relative(l.swDir, dir), tmp);
  renameSync(tmp, link);
  fsyncPath(l.swDir);
}

/** Removes leftovers of interrupted applies (`releases/*.tmp`). */
export function cleanLeftovers(l: Layout): string[] {
  let names: string[] = [];
  try {
    names = readdirSync(l.releasesDir);
  } catch {
    return [];
  }
  const gone = names.filter((n) => n.endsWith('.tmp'));
  for (const n of gone) rmSync(join(l.releasesDir, n), { recursive: true, force: true });
  return gone;
}

/** Removes OTA releases that are neither current nor previous (after a switch). */
export function pruneReleases(l: Layout, keep: readonly (ReleaseRef | null)[]): string[] {
  let names: string[] = [];
  try {
    names = readdirSync(l.releasesDir);
  } catch {
    return [];
  }
  const keepDirs = new Set(keep.filter((r) => r !== null).map((r) => resolve(r.dir)));
  const gone = names.filter((n) => !keepDirs.has(resolve(l.releasesDir, n)));
  for (const n of gone) rmSync(join(l.releasesDir, n), { recursive: true, force: true });
  return gone;
}

/** `etc/lightnode/update.json`'s `confirmAfterS` (default 300). */
export function confirmAfterS(l: Layout): number {
  if (!existsSync(l.configFile)) return 300;
  try {
    const c = JSON.parse(readFileSync(l.configFile, 'utf8')) as { confirmAfterS?: unknown };
    const n = c.confirmAfterS;
    if (typeof n === 'number' && Number.isFinite(n) && n >= 0) return n;
  } catch {
    // fall through
  }
  throw new LightNodeError('CONFIG_INVALID', `${l.configFile}: expected {"confirmAfterS": seconds ≥ 0}`, {
    file: l.configFile,
  });
}

export const isSymlink = (p: string): boolean => {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
};
