/**
 * Gathers the facts `decideTarget` needs about a flash target from the running system: what the path is, its size,
 * and every block device the write would replace (sysfs: `/sys/dev/block/MAJ:MIN`, its partitions, `holders/`,
 * loop devices' `loop/backing_file`), plus where each active swap area lives.
 */
import { existsSync, readFileSync, readdirSync, realpathSync, statSync, type BigIntStats } from 'node:fs';
import { basename, join } from 'node:path';
import type { TargetDev, TargetFacts } from './target.js';

const SYS_BLOCK = '/sys/class/block';

/** glibc's gnu_dev_major / gnu_dev_minor over a 64-bit dev_t. */
export function majMinOf(dev: bigint): string {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function statOf(path: string): BigIntStats | undefined {
  try {
    return statSync(path, { bigint: true });
  } catch {
    return undefined;
  }
}

/** The sysfs directory of a block device by its `MAJ:MIN` (a partition's lies inside its disk's). */
function sysDir(majMin: string): string | undefined {
  try {
    return realpathSync(`/sys/dev/block/${majMin}`);
  } catch {
    return undefined;
  }
}

/** A device, its partitions and (recursively) their holders: everything its content feeds. */
function devTree(majMin: string, seen = new Map<string, TargetDev>()): Map<string, TargetDev> {
  if (seen.has(majMin)) return seen;
  const dir = sysDir(majMin);
  seen.set(majMin, { majMin, path: dir ? `/dev/${basename(dir)}` : `/dev/block/${majMin}` });
  if (!dir) return seen;
  const children: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory() && existsSync(join(dir, e.name, 'partition'))) {
      const d = read(join(dir, e.name, 'dev'));
      if (d) children.push(d);
    }
  }
  try {
    for (const h of readdirSync(join(dir, 'holders'))) {
      const d = read(join(SYS_BLOCK, h, 'dev'));
      if (d) children.push(d);
    }
  } catch {
    // no holders directory
  }
  for (const c of children) devTree(c, seen);
  return seen;
}

/** Loop devices whose backing file is `file` (resolved), as `MAJ:MIN`. */
function loopsBackedBy(file: string): string[] {
  let real: string;
  try {
    real = realpathSync(file);
  } catch {
    return [];
  }
  const out: string[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(SYS_BLOCK).filter((n) => n.startsWith('loop'));
  } catch {
    return [];
  }
  for (const n of names) {
    const backing = read(join(SYS_BLOCK, n, 'loop', 'backing_file'));
    // the kernel shows a deleted backing file with a " (deleted)" suffix
    if (backing === real) {
      const d = read(join(SYS_BLOCK, n, 'dev'));
      if (d) out.push(d);
    }
  }
  return out;
}

/** Probes `path` (following symlinks such as /dev/disk/by-id/…). */
export function probeTarget(path: string): TargetFacts {
  const st = statOf(path);
  if (!st) return { path, kind: 'missing', devs: [] };
  if (st.isBlockDevice()) {
    const majMin = majMinOf(st.rdev);
    const tree = devTree(majMin);
    const dir = sysDir(majMin);
    const sectors = dir ? Number(read(join(dir, 'size'))) : NaN;
    return {
      path,
      kind: 'block',
      sizeBytes: Number.isFinite(sectors) ? sectors * 512 : undefined,
      devs: [...tree.values()],
    };
  }
  if (st.isFile()) {
    const tree = new Map<string, TargetDev>();
    for (const l of loopsBackedBy(path)) devTree(l, tree);
    return { path, kind: 'file', devs: [...tree.values()] };
  }
  return { path, kind: 'other', devs: [] };
}

/** For each active swap area, the `MAJ:MIN` it lives on (a partition's own, a swap file's file system's). */
export function swapDevices(paths: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of paths) {
    const st = statOf(p);
    if (st) out[p] = majMinOf(st.isBlockDevice() ? st.rdev : st.dev);
  }
  return out;
}
