/**
 * The update operations with their I/O: verify, apply (file or incoming dir), status, confirm, rollback, the agent
 * unit's hooks and the retry tick. Each reads the installed layout and state.json, runs a pure transition
 * (`state.ts`), writes the state, then carries out the effects (symlinks, systemctl through the `Systemctl` seam).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LightNodeError, type Clock } from '@lightnode/protocols';
import { checkResultTree, trustedCommentOf, type BundleManifest } from './bundle.js';
import { checkPayloadHash, hashBundle, readBundleHead, streamPayload, type BundleHead } from './bundle-file.js';
import { parsePublicKeys, parseSignature, verifyDetached, type MinisignPublicKey } from './minisign.js';
import * as sm from './state.js';
import {
  cleanLeftovers,
  confirmAfterS,
  installed,
  pruneReleases,
  readRelease,
  readState,
  switchLink,
  writeState,
  type Layout,
} from './store.js';
import { acquireLock, sleepSync, type LockOp } from './lock.js';
import { AGENT_UNIT, type Systemctl } from './systemctl.js';
import { fsyncPath, scanTree, treeDigest, TreeSink } from './tree.js';

export interface UpdateEnv {
  layout: Layout;
  clock: Pick<Clock, 'now'>;
  systemctl: Systemctl;
  log(line: string): void;
  /** Blocks while waiting for the update lock (default: a real blocking sleep; tests: a fake clock's). */
  sleep?(ms: number): void;
}

/** How long an operation waits for the update lock's holder (an apply of a full release takes seconds). */
export const LOCK_WAIT_MS = { apply: 120_000, confirm: 120_000, rollback: 120_000, hook: 60_000 } as const;

function withLock<T>(env: UpdateEnv, op: LockOp, fn: () => T): T {
  const lock = acquireLock(env.layout.swDir, op, LOCK_WAIT_MS[op], {
    now: () => env.clock.now(),
    sleep: (ms) => (env.sleep ? env.sleep(ms) : sleepSync(ms)),
  });
  let async = false;
  try {
    const r = fn();
    if (r instanceof Promise) {
      async = true;
      return r.finally(() => lock.release()) as T;
    }
    return r;
  } finally {
    if (!async) lock.release();
  }
}

const sigInvalid = (file: string, why: string, ctx: Record<string, unknown> = {}): LightNodeError =>
  new LightNodeError('UPDATE_SIGNATURE_INVALID', `${file}: ${why}`, { file, ...ctx });

/** Reads a trusted-keys file; a missing or malformed one refuses every bundle (`UPDATE_SIGNATURE_INVALID`). */
export function readTrustedKeys(keysFile: string): MinisignPublicKey[] {
  let text: string;
  try {
    text = readFileSync(keysFile, 'utf8');
  } catch (e) {
    throw sigInvalid(keysFile, `cannot read the trusted keys (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  try {
    return parsePublicKeys(text);
  } catch (e) {
    throw sigInvalid(keysFile, `not a minisign public key file (${(e as Error).message})`);
  }
}

export interface Verified {
  file: string;
  head: BundleHead;
  keyId: string;
  trustedComment: string;
}

/**
 * Structure first (`UPDATE_BUNDLE_INVALID`: truncated, not a bundle, payload hash), then the signature `FILE.minisig`
 * (`UPDATE_SIGNATURE_INVALID`: missing, malformed, untrusted key, bad, trusted comment not the manifest's). The file
 * is read in chunks (one pass for both hashes), never whole.
 */
export function verifySigned(file: string, keys: readonly MinisignPublicKey[], sigFile = `${file}.minisig`): Verified {
  const head = readBundleHead(file);
  const h = hashBundle(head);
  checkPayloadHash(head, h.payloadSha256);
  let sigText: string;
  try {
    sigText = readFileSync(sigFile, 'utf8');
  } catch {
    throw sigInvalid(sigFile, `missing signature for ${file}`);
  }
  // a legacy (not prehashed, `Ed`) signature covers the raw bytes: only then is the file read whole
  let legacy = false;
  try {
    legacy = parseSignature(sigText).algorithm === 'Ed';
  } catch {
    // verifyDetached reports it as malformed
  }
  const v = verifyDetached(legacy ? readFileSync(file) : { prehash: h.prehash }, sigText, keys);
  if (!v.ok) throw sigInvalid(sigFile, `${v.reason}: ${v.detail}`, { reason: v.reason });
  const want = trustedCommentOf(head.manifest.release);
  if (v.trustedComment !== want)
    throw sigInvalid(
      sigFile,
      `trusted comment ${JSON.stringify(v.trustedComment)} is not the manifest's ${JSON.stringify(want)}`,
    );
  return { file, head, keyId: v.keyId, trustedComment: v.trustedComment };
}

export interface VerifyReport {
  file: string;
  ok: true;
  keyId: string;
  trustedComment: string;
  release: BundleManifest['release'];
  kind: 'full' | 'delta';
  bytes: number;
  files: number;
  tree: BundleManifest['tree'];
  delta?: { baseVersion: string; baseSeq: number; baseSha256: string; removed: number };
}

/** `update verify`: signature, trusted comment, bundle (payload entries; for a full bundle the whole tree). */
export async function verifyFile(file: string, keysFile: string): Promise<VerifyReport> {
  const v = verifySigned(file, readTrustedKeys(keysFile));
  const sink = new TreeSink();
  await streamPayload(v.head, sink);
  const m = v.head.manifest;
  if (!m.delta) checkResultTree(m, sink.items, sink.releaseJson, file);
  return {
    file,
    ok: true,
    keyId: v.keyId,
    trustedComment: v.trustedComment,
    release: m.release,
    kind: m.delta ? 'delta' : 'full',
    bytes: v.head.fileBytes,
    files: m.files,
    tree: m.tree,
    ...(m.delta
      ? {
          delta: {
            baseVersion: m.delta.baseVersion,
            baseSeq: m.delta.baseSeq,
            baseSha256: m.delta.baseSha256,
            removed: m.delta.removed.length,
          },
        }
      : {}),
  };
}

function runEffects(env: UpdateEnv, effects: readonly sm.Effect[]): void {
  for (const e of effects) {
    if (e.type === 'switch') {
      switchLink(env.layout, 'previous', e.previous?.dir ?? null);
      switchLink(env.layout, 'current', e.current.dir);
      continue;
    }
    // the switch is done and recorded: a systemctl failure is reported, not turned into a failed update
    try {
      if (e.type === 'restart-agent') env.systemctl.restart(AGENT_UNIT);
      else if (e.type === 'reset-failed') env.systemctl.resetFailed(AGENT_UNIT);
      else env.systemctl.start(AGENT_UNIT);
    } catch (err) {
      env.log(`update: ${e.type} of ${AGENT_UNIT} failed: ${(err as Error).message}`);
    }
  }
}

/** Writes the step's state (when it changed) then carries out its effects. */
function commit(env: UpdateEnv, before: sm.UpdateState, step: sm.Step): void {
  if (JSON.stringify(before) !== JSON.stringify(step.state) || step.effects.length) writeState(env.layout, step.state);
  runEffects(env, step.effects);
}

export interface ApplyReport {
  file: string;
  applied: { version: string; seq: number; kind: 'full' | 'delta' };
  previous: { version: string; seq: number };
  seconds: number;
  cleaned: string[];
}

/**
 * `update apply FILE`: verify, check arch / seq / base / pending, extract to `releases/<v>.tmp` (fsynced), rename,
 * state pending, switch `previous` and `current`, restart the agent. A refusal changes nothing but `last` in the
 * state; a leftover `.tmp` of an interrupted apply is removed first.
 */
export async function applyFile(env: UpdateEnv, file: string, keysFile = env.layout.keysFile): Promise<ApplyReport> {
  try {
    return await withLock(env, 'apply', () => applyLocked(env, file, keysFile));
  } catch (e) {
    // the lock's refusal names the lock file; the bundle is named too (nothing was recorded: we do not hold it)
    if (e instanceof LightNodeError && e.code === 'UPDATE_PENDING' && e.context.file !== file)
      throw new LightNodeError('UPDATE_PENDING', `${file}: ${e.message.replace(/^UPDATE_PENDING: /, '')}`, {
        ...e.context,
        lock: e.context.file,
        file,
      });
    throw e;
  }
}

async function applyLocked(env: UpdateEnv, file: string, keysFile: string): Promise<ApplyReport> {
  const l = env.layout;
  const t0 = env.clock.now();
  const cleaned = cleanLeftovers(l);
  const inst = installed(l);
  const state = readState(l);
  const tmp = { dir: null as string | null };
  try {
    const v = verifySigned(file, readTrustedKeys(keysFile));
    const m = v.head.manifest;
    const cur = inst.current;
    if (m.release.arch !== cur.arch)
      throw new LightNodeError(
        'UPDATE_ARCH_MISMATCH',
        `${file}: the bundle is for ${m.release.arch}, the installed release ${cur.version} is ${cur.arch}`,
        { file, bundle: m.release.arch, installed: cur.arch },
      );
    if (m.release.seq <= cur.seq || m.release.version === cur.version)
      throw new LightNodeError(
        'UPDATE_DOWNGRADE',
        `${file}: release ${m.release.version} seq=${m.release.seq} is not newer than the current ${cur.version} seq=${cur.seq}`,
        { file, seq: m.release.seq, currentSeq: cur.seq },
      );
    let baseItems: ReturnType<typeof scanTree> | undefined;
    if (m.delta) {
      if (m.delta.baseSeq !== cur.seq)
        throw new LightNodeError(
          'UPDATE_BASE_MISMATCH',
          `${file}: a delta from seq=${m.delta.baseSeq} (${m.delta.baseVersion}), the current release is ${cur.version} seq=${cur.seq}`,
          { file, baseSeq: m.delta.baseSeq, currentSeq: cur.seq },
        );
      baseItems = scanTree(cur.dir);
      const d = treeDigest(baseItems);
      if (d !== m.delta.baseSha256)
        throw new LightNodeError(
          'UPDATE_BASE_MISMATCH',
          `${file}: the delta's base tree digest ${m.delta.baseSha256} is not that of the installed ${cur.dir} (${d})`,
          { file, baseSha256: m.delta.baseSha256, installed: d },
        );
    }
    const pending = sm.effectivePending(state, cur);
    if (pending)
      throw new LightNodeError(
        'UPDATE_PENDING',
        `${file}: release ${pending.version} is still pending (not confirmed): confirm or roll it back first`,
        { file, pending: pending.version },
      );
    mkdirSync(l.releasesDir, { recursive: true, mode: 0o755 });
    tmp.dir = join(l.releasesDir, `${m.release.version}.tmp`);
    // streamed: each file written and fsynced as it is decompressed; nothing is used before the payload's sha256
    // (computed on the way) matched and the resulting tree checked
    const sink = new TreeSink(tmp.dir);
    await streamPayload(v.head, sink);
    const { keep } = checkResultTree(m, sink.items, sink.releaseJson, file, baseItems);
    if (baseItems) sink.linkKeep(cur.dir, keep);
    sink.finish();
    const got = treeDigest(scanTree(tmp.dir));
    if (got !== m.tree.sha256)
      throw new LightNodeError(
        'UPDATE_BUNDLE_INVALID',
        `${file}: the extracted tree ${tmp.dir} has digest ${got}, not ${m.tree.sha256}`,
        {
          file,
        },
      );
    const final = join(l.releasesDir, m.release.version);
    if (existsSync(final)) {
      const old = join(l.releasesDir, `${m.release.version}.old.tmp`);
      renameSync(final, old);
      rmSync(old, { recursive: true, force: true });
    }
    renameSync(tmp.dir, final);
    tmp.dir = null;
    fsyncPath(l.releasesDir);
    const next = readRelease(final, 'ota');
    if (!next)
      throw new LightNodeError('INTERNAL', `${final}: not a complete release after extraction`, { dir: final });
    const step = sm.applied(state, inst, next, env.clock.now(), file);
    commit(env, state, step);
    pruneReleases(l, [next, inst.current]);
    return {
      file,
      applied: { version: next.version, seq: next.seq, kind: m.delta ? 'delta' : 'full' },
      previous: { version: cur.version, seq: cur.seq },
      seconds: (env.clock.now() - t0) / 1000,
      cleaned,
    };
  } catch (e) {
    if (tmp.dir) rmSync(tmp.dir, { recursive: true, force: true });
    if (e instanceof LightNodeError && e.code.startsWith('UPDATE_')) {
      try {
        writeState(l, sm.refused(state, inst, e.code, env.clock.now(), file));
      } catch (w) {
        env.log(`could not record the refusal in ${l.stateFile}: ${(w as Error).message}`);
      }
    }
    throw e;
  }
}

export function status(env: UpdateEnv): sm.StatusDoc {
  return sm.statusOf(readState(env.layout), installed(env.layout));
}

/** `update confirm [--auto]`: true when confirmed now. */
export function confirmOp(env: UpdateEnv, auto: boolean): { confirmed: boolean; version: string | null } {
  return withLock(env, 'confirm', () => confirmLocked(env, auto));
}

function confirmLocked(env: UpdateEnv, auto: boolean): { confirmed: boolean; version: string | null } {
  const inst = installed(env.layout);
  const s = readState(env.layout);
  const step = sm.confirm(
    s,
    inst,
    env.clock.now(),
    auto ? { confirmAfterS: confirmAfterS(env.layout), agent: env.systemctl.view(AGENT_UNIT) } : null,
  );
  if (!step) return { confirmed: false, version: sm.effectivePending(s, inst.current)?.version ?? null };
  commit(env, s, step);
  return { confirmed: true, version: inst.current.version };
}

/** `update rollback [--reason R] [--auto]`. */
export function rollbackOp(env: UpdateEnv, o: { auto: boolean; reason?: string }): sm.StatusDoc {
  return withLock(env, 'rollback', () => rollbackLocked(env, o));
}

function rollbackLocked(env: UpdateEnv, o: { auto: boolean; reason?: string }): sm.StatusDoc {
  const inst = installed(env.layout);
  const s = readState(env.layout);
  const now = env.clock.now();
  let step: sm.Step | null;
  if (o.auto) step = sm.rollbackAuto(s, inst, now);
  else {
    step = sm.rollbackManual(s, inst, o.reason ?? 'manual', now);
    if (!step)
      throw new LightNodeError(
        'NOT_FOUND',
        `nothing to roll back to: ${inst.current.version} is the only release installed`,
        {
          current: inst.current.version,
        },
      );
  }
  commit(env, s, step);
  return status(env);
}

/** The agent unit's hooks and the retry tick. They never throw: errors are logged, the unit is never failed. */
export function hookOp(env: UpdateEnv, which: 'start' | 'stop' | 'retry', serviceResult = ''): sm.StatusDoc | null {
  try {
    if (!existsSync(env.layout.stateFile)) return null;
    return withLock(env, 'hook', () => hookLocked(env, which, serviceResult));
  } catch (e) {
    env.log(`update hook ${which}: ${(e as Error).message} (ignored: the hook never fails the unit)`);
    return null;
  }
}

function hookLocked(env: UpdateEnv, which: 'start' | 'stop' | 'retry', serviceResult: string): sm.StatusDoc | null {
  const inst = installed(env.layout);
  const s = readState(env.layout);
  const now = env.clock.now();
  const step =
    which === 'start'
      ? sm.hookStart(s, inst, now)
      : which === 'stop'
        ? sm.hookStop(s, inst, serviceResult, now)
        : sm.retryTick(s, inst, now, env.systemctl.view(AGENT_UNIT));
  commit(env, s, step);
  const last = step.state.last;
  if (step.effects.some((e) => e.type === 'switch') && last)
    env.log(`update: rolled back ${last.from ?? '?'} → ${last.to ?? '?'} (${last.reason ?? '?'})`);
  return sm.statusOf(step.state, installed(env.layout));
}
