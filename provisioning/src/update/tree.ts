/**
 * Release trees on disk: a canonical file list (path, type, mode, sha256 / link target) and its digest, and the
 * crash-safe writer that materialises a tree from bundle entries (files and directories fsynced, written under a
 * temporary directory that the caller renames into place).
 */
import { createHash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  fsyncSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import type { TarEntry, TarHeader, TarSink } from './tar.js';

/** One entry of a release tree; `mode` is the permission bits (0o7777). */
export type TreeItem =
  | { type: 'file'; path: string; mode: number; sha256: string; size: number }
  | { type: 'dir'; path: string; mode: number }
  | { type: 'symlink'; path: string; target: string };

export const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** The canonical form of an item: two items are the same content when these strings are equal. */
export function itemKey(i: TreeItem): string {
  if (i.type === 'file') return JSON.stringify([i.path, 'f', i.mode, i.sha256]);
  if (i.type === 'dir') return JSON.stringify([i.path, 'd', i.mode]);
  return JSON.stringify([i.path, 'l', i.target]);
}

/**
 * The digest of a tree: sha256 (hex) of its items' canonical forms sorted by path, one per line. A delta bundle's
 * `baseSha256` is this digest of its base's tree, so a device checks it against the tree it has installed.
 */
export function treeDigest(items: readonly TreeItem[]): string {
  const lines = [...items].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)).map(itemKey);
  return sha256Hex(Buffer.from(lines.join('\n'), 'utf8'));
}

/** The items of tar entries (what a tree extracted from them holds). */
export function itemsOfEntries(entries: readonly TarEntry[]): TreeItem[] {
  return entries.map((e) =>
    e.type === 'file'
      ? { type: 'file', path: e.path, mode: e.mode & 0o7777, sha256: sha256Hex(e.data), size: e.data.length }
      : e.type === 'dir'
        ? { type: 'dir', path: e.path, mode: e.mode & 0o7777 }
        : { type: 'symlink', path: e.path, target: e.target },
  );
}

/** sha256 (hex) of a file, read in 1 MiB chunks (a release's node binary is never held in memory whole). */
export function sha256OfFile(file: string): string {
  const h = createHash('sha256');
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

/** Scans a directory into its items, sorted by path (the root itself is not an item). */
export function scanTree(root: string): TreeItem[] {
  const out: TreeItem[] = [];
  const walk = (rel: string): void => {
    const names = readdirSync(rel ? join(root, rel) : root).sort();
    for (const n of names) {
      const p = rel ? `${rel}/${n}` : n;
      const abs = join(root, p);
      const st = lstatSync(abs);
      if (st.isSymbolicLink()) out.push({ type: 'symlink', path: p, target: readlinkSync(abs) });
      else if (st.isDirectory()) {
        out.push({ type: 'dir', path: p, mode: st.mode & 0o7777 });
        walk(p);
      } else if (st.isFile()) {
        out.push({
          type: 'file',
          path: p,
          mode: st.mode & 0o7777,
          sha256: sha256OfFile(abs),
          size: st.size,
        });
      }
      // sockets, fifos, devices: not part of a release tree
    }
  };
  walk('');
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * Why a set of paths cannot be a release tree, or null: absolute paths, `..` or empty components, duplicates, and
 * any path below a symlink (extraction must never write through a link out of the tree).
 */
export function pathProblem(paths: readonly { path: string; type: string }[]): string | null {
  const seen = new Set<string>();
  const links = new Set<string>();
  for (const e of paths) {
    const parts = e.path.split('/');
    if (e.path === '' || e.path.startsWith('/') || parts.some((x) => x === '' || x === '.' || x === '..'))
      return `unsafe path ${JSON.stringify(e.path)}`;
    if (seen.has(e.path)) return `duplicate path ${JSON.stringify(e.path)}`;
    for (let i = 1; i < parts.length; i++)
      if (links.has(parts.slice(0, i).join('/'))) return `path ${JSON.stringify(e.path)} is below a symlink`;
    seen.add(e.path);
    if (e.type === 'symlink') links.add(e.path);
  }
  return null;
}

function fsyncPath(p: string): void {
  const fd = openSync(p, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes a tree into `dir` (created; must not exist): first the `keep` items hard-linked (else copied) from `baseDir`,
 * then `entries` (files replace, never write into, a linked file). Every written file is fsynced; then directory
 * modes are set and every directory fsynced, deepest first, `dir` last.
 */
export function materializeTree(
  dir: string,
  entries: readonly TarEntry[],
  base?: { dir: string; keep: readonly TreeItem[] },
): void {
  mkdirSync(dir, { recursive: false, mode: 0o755 });
  const dirs = new Map<string, number>([['', 0o755]]);
  const ensureParent = (p: string): void => {
    const d = dirname(p);
    if (d !== '.') {
      mkdirSync(join(dir, d), { recursive: true, mode: 0o755 });
      for (let q = d; q !== '.'; q = dirname(q)) if (!dirs.has(q)) dirs.set(q, 0o755);
    }
  };
  for (const i of base?.keep ?? []) {
    const to = join(dir, i.path);
    if (i.type === 'dir') {
      mkdirSync(to, { recursive: true, mode: 0o755 });
      dirs.set(i.path, i.mode);
      continue;
    }
    ensureParent(i.path);
    if (i.type === 'symlink') symlinkSync(i.target, to);
    else {
      const from = join(base!.dir, i.path);
      try {
        linkSync(from, to);
      } catch {
        copyFileSync(from, to);
        chmodSync(to, i.mode);
        fsyncPath(to);
      }
    }
  }
  for (const e of entries) {
    const to = join(dir, e.path);
    if (e.type === 'dir') {
      mkdirSync(to, { recursive: true, mode: 0o755 });
      dirs.set(e.path, e.mode & 0o7777);
      continue;
    }
    ensureParent(e.path);
    rmSync(to, { force: true });
    if (e.type === 'symlink') symlinkSync(e.target, to);
    else {
      const fd = openSync(to, 'wx', 0o600);
      try {
        for (let off = 0; off < e.data.length;) off += writeSync(fd, e.data, off, e.data.length - off);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      chmodSync(to, e.mode & 0o7777);
    }
  }
  const depth = (d: string): number => (d === '' ? 0 : d.split('/').length);
  const order = [...dirs.keys()].sort((a, b) => depth(b) - depth(a) || (a < b ? 1 : -1));
  for (const d of order) {
    const abs = d ? join(dir, d) : dir;
    chmodSync(abs, dirs.get(d)!);
    fsyncPath(abs);
  }
}

export { fsyncPath };

/**
 * Checks each entry's path as it comes (the incremental `pathProblem`): safe, not a duplicate, not below a symlink
 * met before. Throws an `Error` naming the path.
 */
export class PathGuard {
  private readonly seen = new Set<string>();
  private readonly links = new Set<string>();
  check(e: { path: string; type: string }): void {
    const parts = e.path.split('/');
    if (e.path === '' || e.path.startsWith('/') || parts.some((x) => x === '' || x === '.' || x === '..'))
      throw new Error(`unsafe path ${JSON.stringify(e.path)}`);
    if (this.seen.has(e.path)) throw new Error(`duplicate path ${JSON.stringify(e.path)}`);
    for (let i = 1; i < parts.length; i++)
      if (this.links.has(parts.slice(0, i).join('/')))
        throw new Error(`path ${JSON.stringify(e.path)} is below a symlink`);
    this.seen.add(e.path);
    if (e.type === 'symlink') this.links.add(e.path);
  }
}

/**
 * A tar sink that collects the tree items of the entries (each file's sha256 computed on the way), and keeps
 * `release.json` (small) for the manifest check. With `dir`, it also writes the tree there (created; must not
 * exist) as `materializeTree` does, streaming: each file written as its data comes and fsynced at its end. Call
 * `linkKeep` (deltas) then `finish` (directory modes, fsync of every directory deepest first).
 */
export class TreeSink implements TarSink {
  readonly items: TreeItem[] = [];
  releaseJson: Buffer | undefined;
  private readonly guard = new PathGuard();
  private readonly dirs = new Map<string, number>([['', 0o755]]);
  private cur: {
    item: { path: string; mode: number; size: number };
    hash: ReturnType<typeof createHash>;
    fd: number | null;
    rel: Buffer[] | null;
  } | null = null;

  constructor(private readonly dir?: string) {
    if (dir) mkdirSync(dir, { recursive: false, mode: 0o755 });
  }

  private ensureParent(p: string): void {
    const d = dirname(p);
    if (d !== '.' && this.dir) {
      mkdirSync(join(this.dir, d), { recursive: true, mode: 0o755 });
      for (let q = d; q !== '.'; q = dirname(q)) if (!this.dirs.has(q)) this.dirs.set(q, 0o755);
    }
  }

  entry(h: TarHeader): void {
    this.guard.check(h);
    const to = this.dir ? join(this.dir, h.path) : '';
    if (h.type === 'dir') {
      this.items.push({ type: 'dir', path: h.path, mode: h.mode & 0o7777 });
      if (this.dir) mkdirSync(to, { recursive: true, mode: 0o755 });
      this.dirs.set(h.path, h.mode & 0o7777);
      return;
    }
    this.ensureParent(h.path);
    if (h.type === 'symlink') {
      this.items.push({ type: 'symlink', path: h.path, target: h.target });
      if (this.dir) {
        rmSync(to, { force: true });
        symlinkSync(h.target, to);
      }
      return;
    }
    let fd: number | null = null;
    if (this.dir) {
      rmSync(to, { force: true });
      fd = openSync(to, 'wx', 0o600);
    }
    this.cur = {
      item: { path: h.path, mode: h.mode & 0o7777, size: h.size },
      hash: createHash('sha256'),
      fd,
      rel: h.path === 'release.json' && h.size <= 1 << 20 ? [] : null,
    };
  }

  data(chunk: Buffer): void {
    const c = this.cur!;
    c.hash.update(chunk);
    c.rel?.push(Buffer.from(chunk));
    if (c.fd !== null) for (let off = 0; off < chunk.length;) off += writeSync(c.fd, chunk, off, chunk.length - off);
  }

  entryEnd(): void {
    const c = this.cur!;
    this.cur = null;
    if (c.fd !== null) {
      try {
        fsyncSync(c.fd);
      } finally {
        closeSync(c.fd);
      }
      chmodSync(join(this.dir!, c.item.path), c.item.mode);
    }
    if (c.rel) this.releaseJson = Buffer.concat(c.rel);
    this.items.push({ type: 'file', ...c.item, sha256: c.hash.digest('hex') });
  }

  /** Closes a file left open by a failed stream. */
  abort(): void {
    if (this.cur?.fd != null) closeSync(this.cur.fd);
    this.cur = null;
  }

  /** Hard-links (else copies) the kept items of a delta's base; the caller has checked their paths. */
  linkKeep(baseDir: string, keep: readonly TreeItem[]): void {
    const dir = this.dir!;
    for (const i of keep) {
      const to = join(dir, i.path);
      if (i.type === 'dir') {
        mkdirSync(to, { recursive: true, mode: 0o755 });
        this.dirs.set(i.path, i.mode);
        continue;
      }
      this.ensureParent(i.path);
      if (i.type === 'symlink') symlinkSync(i.target, to);
      else {
        const from = join(baseDir, i.path);
        try {
          linkSync(from, to);
        } catch {
          copyFileSync(from, to);
          chmodSync(to, i.mode);
          fsyncPath(to);
        }
      }
    }
  }

  finish(): void {
    const dir = this.dir!;
    const depth = (d: string): number => (d === '' ? 0 : d.split('/').length);
    const order = [...this.dirs.keys()].sort((a, b) => depth(b) - depth(a) || (a < b ? 1 : -1));
    for (const d of order) {
      const abs = d ? join(dir, d) : dir;
      chmodSync(abs, this.dirs.get(d)!);
      fsyncPath(abs);
    }
  }
}
