/**
 * `lightnode update …`: signed software updates (issue 14 item 6). pack / sign / verify run anywhere; apply, status,
 * confirm, rollback and the agent unit's hooks work on `/` (calling systemctl) or, with `--root DIR`, on DIR (never
 * calling systemctl). Every refusal exits 1 with its code and a sentence naming the file.
 */
import { readFileSync } from 'node:fs';
import {
  LightNodeError,
  flagString,
  parseFlags,
  systemClock,
  type Command,
  type CommandGroup,
  type CommandIo,
} from '@lightnode/protocols';
import { packBundle, parseBundle, trustedCommentOf } from '../update/bundle.js';
import { parseSecretKey, signDetached } from '../update/minisign.js';
import { applyIncoming } from '../update/incoming.js';
import { applyFile, confirmOp, hookOp, rollbackOp, status, verifyFile, type UpdateEnv } from '../update/ops.js';
import { layout, writeFileAtomic } from '../update/store.js';
import { noSystemctl, realSystemctl, type Systemctl } from '../update/systemctl.js';

export const DEFAULT_INCOMING = '/var/lib/lightnode/updates/incoming';

function envOf(root: string | undefined, io: CommandIo, systemctl: Systemctl): UpdateEnv {
  return {
    layout: layout(root ?? '/'),
    clock: systemClock,
    systemctl: root === undefined ? systemctl : noSystemctl,
    log: (l) => io.stderr(l),
  };
}

const print = (io: CommandIo, json: unknown, lines: string[], asJson: boolean): void => {
  if (asJson) io.stdout(JSON.stringify(json));
  else for (const l of lines) io.stdout(l);
};

const one = (p: { positionals: string[] }, usage: string, what: string): string => {
  if (p.positionals.length !== 1)
    throw new LightNodeError('USAGE', `expected one ${what}, received ${p.positionals.length}\n\n${usage}`, {});
  return p.positionals[0]!;
};

const PACK = `Usage: lightnode update pack --release DIR --out FILE [--base FULL] [--json]

Packs a release tree (release.json + an executable bin/lightnode, self-contained) into a bundle: one tar with the
manifest first and a gzip'd payload. With --base (a full bundle of the release installed on the devices), a
file-level delta: only entries that differ from the base are carried, removed paths listed; it applies to that
installed release only. Deterministic. Sign it with 'update sign'.`;

const pack: Command = {
  summary: 'pack a release tree into a bundle (full, or a delta against --base)',
  usage: PACK,
  async run(argv, io) {
    const p = parseFlags(
      argv,
      { release: { type: 'string' }, out: { type: 'string' }, base: { type: 'string' }, json: { type: 'boolean' } },
      PACK,
      false,
    );
    const dir = flagString(p, 'release', PACK, true);
    const out = flagString(p, 'out', PACK, true);
    const baseFile = flagString(p, 'base', PACK);
    let base: { bytes: Buffer; file: string } | undefined;
    if (baseFile !== undefined) {
      try {
        base = { bytes: readFileSync(baseFile), file: baseFile };
      } catch (e) {
        throw new LightNodeError(
          'INPUT_INVALID',
          `${baseFile}: cannot read the base bundle (${(e as Error).message})`,
          { file: baseFile },
        );
      }
    }
    const { bundle, manifest } = packBundle(dir, base);
    writeFileAtomic(out, bundle);
    const r = {
      out,
      bytes: bundle.length,
      kind: manifest.delta ? 'delta' : 'full',
      release: manifest.release,
      files: manifest.files,
      tree: manifest.tree,
      ...(manifest.delta ? { delta: { baseSeq: manifest.delta.baseSeq, removed: manifest.delta.removed.length } } : {}),
    };
    print(
      io,
      r,
      [
        `${out}: ${r.kind} bundle of ${manifest.release.version} seq=${manifest.release.seq}, ${bundle.length} bytes, ${manifest.files} entries`,
      ],
      !!p.values.json,
    );
    return 0;
  },
};

const SIGN = `Usage: lightnode update sign FILE --key SECKEY [--json]

Signs a bundle with an unencrypted minisign secret key (as 'minisign -G -W' writes it): FILE.minisig, prehashed
Ed25519, trusted comment 'lightnode <version> <arch> seq=<seq>' from the bundle's manifest. Checkable with
'minisign -Vm FILE -p KEY.pub'.`;

const signCmd: Command = {
  summary: 'sign a bundle (FILE.minisig) with a minisign secret key',
  usage: SIGN,
  async run(argv, io) {
    const p = parseFlags(argv, { key: { type: 'string' }, json: { type: 'boolean' } }, SIGN);
    const file = one(p, SIGN, 'bundle FILE');
    const keyFile = flagString(p, 'key', SIGN, true);
    let sk;
    try {
      sk = parseSecretKey(readFileSync(keyFile, 'utf8'));
    } catch (e) {
      throw new LightNodeError('KEY_INVALID', `${keyFile}: ${(e as Error).message}`, { file: keyFile });
    }
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      throw new LightNodeError('INPUT_INVALID', `${file}: cannot read (${(e as Error).message})`, { file });
    }
    const tc = trustedCommentOf(parseBundle(bytes, file).manifest.release);
    const sigFile = `${file}.minisig`;
    writeFileAtomic(sigFile, signDetached(bytes, sk, tc));
    print(
      io,
      { file, signature: sigFile, keyId: sk.keyId, trustedComment: tc },
      [`${sigFile}: signed by ${sk.keyId} (${tc})`],
      !!p.values.json,
    );
    return 0;
  },
};

const VERIFY = `Usage: lightnode update verify FILE [--keys PUB] [--json]

Checks FILE.minisig against the trusted keys (default /etc/lightnode/update-keys.pub: minisign public key files,
concatenated), the trusted comment against the manifest, and the bundle (payload hash, entries, paths; for a full
bundle the tree: release.json, an executable bin/lightnode, the tree digest). Exit 1 with the code and reason.`;

const verify: Command = {
  summary: 'check a bundle: signature, trusted comment, contents',
  usage: VERIFY,
  async run(argv, io) {
    const p = parseFlags(argv, { keys: { type: 'string' }, json: { type: 'boolean' } }, VERIFY);
    const file = one(p, VERIFY, 'bundle FILE');
    const r = await verifyFile(file, flagString(p, 'keys', VERIFY) ?? layout('/').keysFile);
    print(
      io,
      r,
      [`${file}: OK — ${r.kind} ${r.release.version} ${r.release.arch} seq=${r.release.seq}, signed by ${r.keyId}`],
      !!p.values.json,
    );
    return 0;
  },
};

const APPLY = `Usage: lightnode update apply FILE [--keys PUB] [--root DIR] [--json]
       lightnode update apply --incoming DIR [--keys PUB] [--root DIR] [--json]

Verifies a signed bundle (FILE.minisig beside it), then extracts it to /var/lib/lightnode-sw/releases/<version>
(through <version>.tmp, fsynced), switches 'previous' and 'current', marks it pending and restarts the agent; it is
confirmed after running confirmAfterS (/etc/lightnode/update.json) without a restart, else rolled back. Refused, with
nothing changed: UPDATE_SIGNATURE_INVALID, UPDATE_BUNDLE_INVALID, UPDATE_ARCH_MISMATCH, UPDATE_DOWNGRADE,
UPDATE_BASE_MISMATCH, UPDATE_PENDING. --incoming: the newest signed bundle in DIR (processed files removed).
--root DIR works on DIR (DIR/var/lib/lightnode-sw, DIR/usr/lib/lightnode/releases, DIR/etc/lightnode/…), no systemctl.`;

export function makeApply(systemctl: Systemctl): Command {
  return {
    summary: 'verify and install a signed bundle (switch, restart, pending until confirmed)',
    usage: APPLY,
    async run(argv, io) {
      const p = parseFlags(
        argv,
        { keys: { type: 'string' }, root: { type: 'string' }, incoming: { type: 'string' }, json: { type: 'boolean' } },
        APPLY,
      );
      const env = envOf(flagString(p, 'root', APPLY), io, systemctl);
      const keys = flagString(p, 'keys', APPLY) ?? env.layout.keysFile;
      const incoming = flagString(p, 'incoming', APPLY);
      if (incoming !== undefined) {
        if (p.positionals.length)
          throw new LightNodeError('USAGE', `give FILE or --incoming, not both\n\n${APPLY}`, {});
        const r = await applyIncoming(env, incoming, keys);
        const doc = { incoming, applied: r.applied, removed: r.removed, error: r.error ? r.error.toJSON() : null };
        print(
          io,
          doc,
          [
            r.applied
              ? `applied ${r.applied.applied.version} from ${r.applied.file}`
              : r.error
                ? r.error.message
                : `${incoming}: nothing to apply`,
          ],
          !!p.values.json,
        );
        if (r.error) io.stderr(`lightnode update apply: ${r.error.message}`);
        return r.error ? 1 : 0;
      }
      const r = await applyFile(env, one(p, APPLY, 'bundle FILE'), keys);
      print(
        io,
        r,
        [
          `applied ${r.applied.kind} ${r.applied.version} seq=${r.applied.seq} (previous ${r.previous.version}); pending until confirmed`,
        ],
        !!p.values.json,
      );
      return 0;
    },
  };
}

const STATUS = `Usage: lightnode update status [--root DIR] [--json]

{current: {version, seq, source: factory|ota, confirmed}, previous, factory, pending, last: {action, result, reason,
atMs}, retry?}. With no update state, the newest factory release is current and confirmed.`;

const statusCmd: Command = {
  summary: 'installed releases, pending update, last action',
  usage: STATUS,
  async run(argv, io) {
    const p = parseFlags(argv, { root: { type: 'string' }, json: { type: 'boolean' } }, STATUS, false);
    const s = status(envOf(flagString(p, 'root', STATUS), io, noSystemctl));
    const c = s.current;
    print(
      io,
      s,
      [
        `current  ${c.version} seq=${c.seq} (${c.source}, ${c.confirmed ? 'confirmed' : 'PENDING'})`,
        `previous ${s.previous ? `${s.previous.version} seq=${s.previous.seq} (${s.previous.source})` : '—'}`,
        `factory  ${s.factory ? `${s.factory.version} seq=${s.factory.seq}` : '—'}`,
        ...(s.pending ? [`pending  ${s.pending.version} (${s.pending.kind}, ${s.pending.starts} starts)`] : []),
        ...(s.last
          ? [
              `last     ${s.last.action} ${s.last.result}${s.last.reason ? ` (${s.last.reason})` : ''} at ${new Date(s.last.atMs).toISOString()}`,
            ]
          : []),
        ...(s.retry
          ? [
              `retry    every 15 min since ${new Date(s.retry.sinceMs).toISOString()} (${s.retry.reason}, ${s.retry.attempts} attempts)`,
            ]
          : []),
      ],
      !!p.values.json,
    );
    return 0;
  },
};

const CONFIRM = `Usage: lightnode update confirm [--auto] [--root DIR] [--json]

Confirms the pending release (a confirmed release is never rolled back by itself). --auto (the confirm timer): only
when the agent is active, started once, and active for at least confirmAfterS.`;

export function makeConfirm(systemctl: Systemctl): Command {
  return {
    summary: 'confirm the pending release',
    usage: CONFIRM,
    async run(argv, io) {
      const p = parseFlags(
        argv,
        { auto: { type: 'boolean' }, root: { type: 'string' }, json: { type: 'boolean' } },
        CONFIRM,
        false,
      );
      const r = confirmOp(envOf(flagString(p, 'root', CONFIRM), io, systemctl), !!p.values.auto);
      print(
        io,
        r,
        [r.confirmed ? `confirmed ${r.version}` : r.version ? `${r.version}: not confirmed yet` : 'nothing pending'],
        !!p.values.json,
      );
      return 0;
    },
  };
}

const ROLLBACK = `Usage: lightnode update rollback [--reason R] [--auto] [--root DIR] [--json]

Rolls back to 'previous' (a pending rollback to the factory release), which then has to prove itself again; the
agent is restarted. --auto (lightnode-rollback.service, the agent's OnFailure=): only a pending release, with the
recorded reason, then reset-failed and start the agent; when the factory release fails too, the retry timer takes over.`;

export function makeRollback(systemctl: Systemctl): Command {
  return {
    summary: 'roll back to the previous release',
    usage: ROLLBACK,
    async run(argv, io) {
      const p = parseFlags(
        argv,
        { reason: { type: 'string' }, auto: { type: 'boolean' }, root: { type: 'string' }, json: { type: 'boolean' } },
        ROLLBACK,
        false,
      );
      const reason = flagString(p, 'reason', ROLLBACK);
      const s = rollbackOp(envOf(flagString(p, 'root', ROLLBACK), io, systemctl), {
        auto: !!p.values.auto,
        ...(reason ? { reason } : {}),
      });
      print(
        io,
        s,
        [
          `current ${s.current.version} (${s.current.source}); last ${s.last?.action ?? '—'} ${s.last?.result ?? ''} ${s.last?.reason ?? ''}`,
        ],
        !!p.values.json,
      );
      return 0;
    },
  };
}

const HOOK = `Usage: lightnode update hook start|stop|retry [--root DIR] [--json]

Internal, run by the units as root: 'start' (the agent's ExecStartPre=+), 'stop' (ExecStopPost=+, reads
$SERVICE_RESULT), 'retry' (lightnode-agent-retry.service). Fast no-ops when nothing is pending; always exit 0 (errors
are logged to stderr).`;

export function makeHook(systemctl: Systemctl): Command {
  return {
    summary: 'internal: the agent unit update hooks (start, stop) and the retry tick',
    usage: HOOK,
    async run(argv, io) {
      const p = parseFlags(argv, { root: { type: 'string' }, json: { type: 'boolean' } }, HOOK);
      const which = p.positionals[0];
      if (p.positionals.length !== 1 || (which !== 'start' && which !== 'stop' && which !== 'retry'))
        throw new LightNodeError('USAGE', `expected start, stop or retry\n\n${HOOK}`, {});
      const s = hookOp(envOf(flagString(p, 'root', HOOK), io, systemctl), which, io.env.SERVICE_RESULT ?? '');
      if (p.values.json) io.stdout(JSON.stringify(s));
      return 0;
    },
  };
}

/** The `update` group; `systemctl` is the seam (tests pass a fake; `--root` never uses it). */
export function updateCommands(systemctl: Systemctl = realSystemctl): CommandGroup {
  return {
    summary: 'signed software updates: pack, sign, verify, apply, status, confirm, rollback',
    subcommands: {
      pack,
      sign: signCmd,
      verify,
      apply: makeApply(systemctl),
      status: statusCmd,
      confirm: makeConfirm(systemctl),
      rollback: makeRollback(systemctl),
      hook: makeHook(systemctl),
    },
  };
}

export default updateCommands();
