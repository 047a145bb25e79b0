/**
 * `update apply --incoming DIR`: what the root-owned `lightnode-update.path` / `lightnode-update.service` run when the
 * agent's update check has put a bundle and its `.minisig` into `<stateDir>/updates/incoming/`.
 */
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { LightNodeError } from '@lightnode/protocols';
import { readBundleHead } from './bundle-file.js';
import { applyFile, type ApplyReport, type UpdateEnv } from './ops.js';

/**
 * `update apply --incoming DIR` (lightnode-update.service): the newest signed bundle there (highest seq among the
 * bundles with a `.minisig`) is applied; every processed bundle and signature is removed (older ones would be
 * refused as downgrades anyway); files without a signature (downloads in progress) are left alone. Null when empty.
 * A bundle refused for good leaves `<name>.refused` (code, message, atMs) so that the agent does not fetch it again.
 */
const REFUSED_FOR_GOOD: ReadonlySet<string> = new Set([
  'UPDATE_SIGNATURE_INVALID',
  'UPDATE_BUNDLE_INVALID',
  'UPDATE_ARCH_MISMATCH',
  'UPDATE_DOWNGRADE',
  'UPDATE_BASE_MISMATCH',
]);

export async function applyIncoming(
  env: UpdateEnv,
  dir: string,
  keysFile = env.layout.keysFile,
): Promise<{ applied: ApplyReport | null; removed: string[]; error: LightNodeError | null }> {
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return { applied: null, removed: [], error: null };
  }
  const bundles = names
    .filter((n) => n.endsWith('.minisig') && names.includes(n.slice(0, -'.minisig'.length)))
    .map((n) => join(dir, n.slice(0, -'.minisig'.length)));
  const seqOf = (f: string): number => {
    try {
      return readBundleHead(f).manifest.release.seq;
    } catch {
      return -1;
    }
  };
  const ranked = bundles.map((f) => ({ f, seq: seqOf(f) })).sort((a, b) => b.seq - a.seq);
  const removed: string[] = [];
  const drop = (f: string): void => {
    for (const x of [f, `${f}.minisig`]) {
      rmSync(x, { force: true });
      removed.push(basename(x));
    }
  };
  const newest = ranked[0];
  if (!newest) return { applied: null, removed, error: null };
  let applied: ApplyReport | null = null;
  let error: LightNodeError | null = null;
  try {
    applied = await applyFile(env, newest.f, keysFile);
  } catch (e) {
    if (!(e instanceof LightNodeError)) throw e;
    error = e;
    // refused for good: a marker tells the agent's update check not to fetch this bundle again (UPDATE_PENDING is
    // not for good: the same bundle may apply once the pending release is confirmed or rolled back)
    if (REFUSED_FOR_GOOD.has(e.code))
      writeFileSync(
        `${newest.f}.refused`,
        JSON.stringify({ code: e.code, message: e.message, atMs: env.clock.now() }) + '\n',
      );
  }
  for (const r of ranked) drop(r.f);
  return { applied, removed, error };
}
