/**
 * Update bundles. A bundle is one ustar file holding, in this order:
 * 1. `manifest.json` — `{format: "lightnode-bundle/1", release: <release.json>, payload: {name, sha256, bytes,
 *    compression: "gzip"}, files: N (entries in the payload), tree: {sha256, entries} (the digest of the release tree
 *    the device must end up with, see `treeDigest`), delta?: {baseVersion, baseSeq, baseSha256, removed: [paths]}}`;
 * 2. `payload.tar.gz` — a gzip'd deterministic ustar of release-tree entries (modes and symlinks kept).
 * Its signature `BUNDLE.minisig` (minisign, prehashed) lies beside it, trusted comment `lightnode <version> <arch>
 * seq=<seq>`.
 *
 * Delta (file level): the payload carries only the entries of the new tree whose canonical form (path, type, mode,
 * sha256 or link target) is not in the base's tree — changed and new files whole —, and `delta.removed` lists the
 * base's paths that the new tree no longer has. Every other entry is taken from the base's installed tree. The base
 * is named by `baseSeq` and `baseSha256` = the tree digest of the base release (its full bundle's `tree.sha256`), so
 * the device applies a delta only onto the installed release whose files hash to exactly that digest
 * (`UPDATE_BASE_MISMATCH` otherwise), and checks the tree it built against `tree.sha256` before switching to it.
 * A patch release (one source file and release.json changed) is a few kB against tens of MB in full.
 *
 * Parsing and checks are pure (Buffers in); `packBundle` reads a release tree from disk.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { LightNodeError } from '@lightnode/protocols';
import { readTar, writeTar, type TarEntry } from './tar.js';
import { itemKey, itemsOfEntries, pathProblem, scanTree, sha256Hex, treeDigest, type TreeItem } from './tree.js';

export const BUNDLE_FORMAT = 'lightnode-bundle/1';
export const PAYLOAD_NAME = 'payload.tar.gz';

/** `release.json` of a release tree. */
export interface ReleaseInfo {
  name: 'lightnode';
  version: string;
  arch: 'amd64' | 'arm64';
  /** Monotonic release number: an update must carry a higher one than the installed release. */
  seq: number;
  node?: string;
  [k: string]: unknown;
}

export interface BundleManifest {
  format: typeof BUNDLE_FORMAT;
  release: ReleaseInfo;
  payload: { name: string; sha256: string; bytes: number; compression: 'gzip' };
  files: number;
  tree: { sha256: string; entries: number };
  delta?: { baseVersion: string; baseSeq: number; baseSha256: string; removed: string[] };
}

/** A release.json's problem, or null. Versions are directory names: `[0-9A-Za-z._+~-]`, not `.`/`..`. */
export function releaseProblem(r: unknown): string | null {
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return 'not a JSON object';
  const o = r as Record<string, unknown>;
  if (o.name !== 'lightnode') return `name: expected "lightnode", received ${JSON.stringify(o.name)}`;
  if (typeof o.version !== 'string' || !/^[0-9A-Za-z._+~-]{1,64}$/.test(o.version) || /^\.+$/.test(o.version))
    return `version: expected a version string ([0-9A-Za-z._+~-]), received ${JSON.stringify(o.version)}`;
  if (o.version.endsWith('.tmp')) return `version: must not end in .tmp, received ${JSON.stringify(o.version)}`;
  if (o.arch !== 'amd64' && o.arch !== 'arm64')
    return `arch: expected "amd64" or "arm64", received ${JSON.stringify(o.arch)}`;
  if (!Number.isSafeInteger(o.seq) || (o.seq as number) < 0)
    return `seq: expected an integer ≥ 0, received ${JSON.stringify(o.seq)}`;
  return null;
}

/** The trusted comment a bundle's signature must carry. */
export const trustedCommentOf = (r: ReleaseInfo): string => `lightnode ${r.version} ${r.arch} seq=${r.seq}`;

export function manifestProblem(m: unknown): string | null {
  if (typeof m !== 'object' || m === null) return 'manifest is not a JSON object';
  const o = m as Record<string, unknown>;
  if (o.format !== BUNDLE_FORMAT) return `format: expected ${BUNDLE_FORMAT}, received ${JSON.stringify(o.format)}`;
  const rp = releaseProblem(o.release);
  if (rp) return `release.${rp}`;
  const p = o.payload as Record<string, unknown> | undefined;
  if (!p || typeof p.sha256 !== 'string' || !Number.isSafeInteger(p.bytes) || p.compression !== 'gzip')
    return 'payload: expected {name, sha256, bytes, compression: "gzip"}';
  const t = o.tree as Record<string, unknown> | undefined;
  if (!t || typeof t.sha256 !== 'string' || !Number.isSafeInteger(t.entries)) return 'tree: expected {sha256, entries}';
  if (!Number.isSafeInteger(o.files)) return 'files: expected an integer';
  if (o.delta !== undefined) {
    const d = o.delta as Record<string, unknown>;
    if (
      typeof d.baseVersion !== 'string' ||
      !Number.isSafeInteger(d.baseSeq) ||
      typeof d.baseSha256 !== 'string' ||
      !Array.isArray(d.removed) ||
      !d.removed.every((x) => typeof x === 'string')
    )
      return 'delta: expected {baseVersion, baseSeq, baseSha256, removed: [paths]}';
  }
  return null;
}

export interface ParsedBundle {
  manifest: BundleManifest;
  payload: Buffer;
}

export const invalid = (file: string, why: string, ctx: Record<string, unknown> = {}): LightNodeError =>
  new LightNodeError('UPDATE_BUNDLE_INVALID', `${file}: ${why}`, { file, ...ctx });

/**
 * Reads a bundle's structure: outer tar, manifest, payload size and sha256. Throws `UPDATE_BUNDLE_INVALID` naming
 * `file` (truncated, not a bundle, hash mismatch). Does not decompress the payload.
 */
export function parseBundle(buf: Buffer, file: string): ParsedBundle {
  const outer = readTar(buf);
  if (!outer.ok) throw invalid(file, `not a complete bundle (${outer.reason})`);
  const [m, p] = outer.entries;
  if (outer.entries.length !== 2 || m?.type !== 'file' || m.path !== 'manifest.json' || p?.type !== 'file')
    throw invalid(file, 'expected exactly manifest.json then the payload');
  let manifest: unknown;
  try {
    manifest = JSON.parse(m.data.toString('utf8'));
  } catch (e) {
    throw invalid(file, `manifest.json is not JSON (${(e as Error).message})`);
  }
  const mp = manifestProblem(manifest);
  if (mp) throw invalid(file, `manifest.json: ${mp}`);
  const man = manifest as BundleManifest;
  if (p.path !== man.payload.name) throw invalid(file, `payload entry ${p.path} is not ${man.payload.name}`);
  if (p.data.length !== man.payload.bytes)
    throw invalid(file, `payload is ${p.data.length} bytes, the manifest says ${man.payload.bytes} (truncated?)`);
  const sha = sha256Hex(p.data);
  if (sha !== man.payload.sha256)
    throw invalid(file, `payload sha256 ${sha} does not match the manifest's ${man.payload.sha256}`);
  return { manifest: man, payload: p.data };
}

/** Decompresses and reads the payload's entries; checks their count and paths. */
export function payloadEntries(b: ParsedBundle, file: string): TarEntry[] {
  let raw: Buffer;
  try {
    raw = gunzipSync(b.payload);
  } catch (e) {
    throw invalid(file, `payload does not decompress (${(e as Error).message})`);
  }
  const r = readTar(raw);
  if (!r.ok) throw invalid(file, `payload: ${r.reason}`);
  if (r.entries.length !== b.manifest.files)
    throw invalid(file, `payload has ${r.entries.length} entries, the manifest says ${b.manifest.files}`);
  const pp = pathProblem(r.entries);
  if (pp) throw invalid(file, `payload: ${pp}`);
  return r.entries;
}

/**
 * The items of the tree a bundle produces (for a delta: `base` minus removed, plus the payload), checked: safe paths,
 * `release.json` equal to the manifest's, an executable `bin/lightnode`, and the digest equal to `tree.sha256`.
 */
export function resultTree(b: ParsedBundle, entries: readonly TarEntry[], file: string, base?: readonly TreeItem[]) {
  const rel = entries.find((e) => e.path === 'release.json');
  return checkResultTree(b.manifest, itemsOfEntries(entries), rel?.type === 'file' ? rel.data : undefined, file, base);
}

/** `resultTree` on the payload's items (as a streaming reader collects them) and its release.json bytes. */
export function checkResultTree(
  manifest: BundleManifest,
  mine: readonly TreeItem[],
  releaseJson: Buffer | undefined,
  file: string,
  base?: readonly TreeItem[],
) {
  const replaced = new Set(mine.map((i) => i.path));
  const removed = new Set(manifest.delta?.removed ?? []);
  const keep = (base ?? []).filter((i) => !removed.has(i.path) && !replaced.has(i.path));
  const items = [...keep, ...mine].sort((a, c) => (a.path < c.path ? -1 : a.path > c.path ? 1 : 0));
  const pp = pathProblem(items);
  if (pp) throw invalid(file, pp);
  if (!releaseJson || !mine.some((i) => i.path === 'release.json' && i.type === 'file'))
    throw invalid(file, 'the payload has no release.json');
  let relJson: unknown;
  try {
    relJson = JSON.parse(releaseJson.toString('utf8'));
  } catch {
    relJson = null;
  }
  if (JSON.stringify(relJson) !== JSON.stringify(manifest.release))
    throw invalid(file, "the payload's release.json differs from the manifest's release");
  const bin = items.find((i) => i.path === 'bin/lightnode');
  if (!bin || bin.type !== 'file' || (bin.mode & 0o111) === 0)
    throw invalid(file, 'the release has no executable bin/lightnode');
  const digest = treeDigest(items);
  if (digest !== manifest.tree.sha256 || items.length !== manifest.tree.entries)
    throw invalid(file, `the resulting tree's digest ${digest} is not the manifest's ${manifest.tree.sha256}`);
  return { items, keep };
}

/** Reads and checks a release tree's release.json and bin/lightnode; throws `INPUT_INVALID` naming the file. */
export function readReleaseTree(dir: string): ReleaseInfo {
  const f = join(dir, 'release.json');
  let r: unknown;
  try {
    r = JSON.parse(readFileSync(f, 'utf8'));
  } catch (e) {
    throw new LightNodeError('INPUT_INVALID', `${f}: cannot read release.json (${(e as Error).message})`, { file: f });
  }
  const p = releaseProblem(r);
  if (p) throw new LightNodeError('INPUT_INVALID', `${f}: ${p}`, { file: f });
  const bin = join(dir, 'bin/lightnode');
  let ok = false;
  try {
    const st = lstatSync(bin);
    ok = st.isFile() && (st.mode & 0o111) !== 0;
  } catch {
    ok = false;
  }
  if (!ok) throw new LightNodeError('INPUT_INVALID', `${bin}: missing or not executable`, { file: bin });
  return r as ReleaseInfo;
}

function entryOfItem(dir: string, i: TreeItem): TarEntry {
  if (i.type === 'dir') return { type: 'dir', path: i.path, mode: i.mode };
  if (i.type === 'symlink') return { type: 'symlink', path: i.path, target: readlinkSync(join(dir, i.path)) };
  return { type: 'file', path: i.path, mode: i.mode, data: readFileSync(join(dir, i.path)) };
}

/** Builds the bundle tar of a manifest and a payload. */
export function bundleOf(manifest: BundleManifest, payload: Buffer): Buffer {
  return writeTar([
    { type: 'file', path: 'manifest.json', mode: 0o644, data: Buffer.from(JSON.stringify(manifest, null, 1) + '\n') },
    { type: 'file', path: manifest.payload.name, mode: 0o644, data: payload },
  ]);
}

/**
 * Packs a release tree into a bundle: full, or a delta against `base` (a full bundle's bytes). Deterministic: the same
 * tree (and base) gives the same bytes.
 */
export function packBundle(
  releaseDir: string,
  base?: { bytes: Buffer; file: string },
): { bundle: Buffer; manifest: BundleManifest } {
  const release = readReleaseTree(releaseDir);
  const items = scanTree(releaseDir);
  let carried = items;
  let delta: BundleManifest['delta'];
  if (base) {
    const b = parseBundle(base.bytes, base.file);
    if (b.manifest.delta) throw invalid(base.file, 'the base of a delta must be a full bundle');
    const baseItems = itemsOfEntries(payloadEntries(b, base.file));
    if (treeDigest(baseItems) !== b.manifest.tree.sha256) throw invalid(base.file, 'tree digest mismatch');
    if (b.manifest.release.arch !== release.arch)
      throw new LightNodeError(
        'UPDATE_ARCH_MISMATCH',
        `${base.file}: base is ${b.manifest.release.arch}, the release ${release.arch}`,
        {
          file: base.file,
        },
      );
    const baseKeys = new Set(baseItems.map(itemKey));
    const paths = new Set(items.map((i) => i.path));
    carried = items.filter((i) => !baseKeys.has(itemKey(i)));
    delta = {
      baseVersion: b.manifest.release.version,
      baseSeq: b.manifest.release.seq,
      baseSha256: b.manifest.tree.sha256,
      removed: baseItems.filter((i) => !paths.has(i.path)).map((i) => i.path),
    };
  }
  const payload = gzipSync(writeTar(carried.map((i) => entryOfItem(releaseDir, i))), { level: 9 });
  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    release,
    payload: { name: PAYLOAD_NAME, sha256: sha256Hex(payload), bytes: payload.length, compression: 'gzip' },
    files: carried.length,
    tree: { sha256: treeDigest(items), entries: items.length },
    ...(delta ? { delta } : {}),
  };
  return { bundle: bundleOf(manifest, payload), manifest };
}
