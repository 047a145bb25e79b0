/**
 * The remote-config checks (SPEC §7, pure): a received `SignedConfig` against the device, its issuers and the last
 * revision applied or rolled back, in the spec's order — SCHEMA_INVALID, SIGNER_MISMATCH, CONFIG_ISSUER_UNKNOWN,
 * CONFIG_DEVICE_MISMATCH, the revision (equal: ignored; lower: CONFIG_REVISION_STALE), CONFIG_HASH_MISMATCH,
 * CONFIG_KEY_PROTECTED, CONFIG_INVALID — and the merge of the remote keys with the base file's local-only ones.
 */
import {
  LightNodeError,
  checkConfigHash,
  checkMessageFields,
  parseAgentConfig,
  verifySigned,
  type AgentConfig,
  type ConfigMessage,
  type Eip712Domain,
  type SignedConfig,
} from '@lightnode/protocols';

/** Keys that only the base file sets (paths): the device's identity, its files and its secrets never travel. */
export const LOCAL_KEYS = [
  'podId',
  'stateDir',
  'keyFile',
  'chain',
  'remoteConfig',
  'status.socket',
  'outbox.path',
  'uplink.clientId',
  'uplink.username',
  'uplink.password',
  'uplink.caFile',
  'uplink.certFile',
  'uplink.keyFile',
] as const;

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

function getPath(o: Obj, path: string): unknown {
  let cur: unknown = o;
  for (const k of path.split('.')) {
    if (!isObj(cur) || !(k in cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

/** The first local-only key the remote config sets, or undefined. */
export function protectedKey(remote: Obj): string | undefined {
  return LOCAL_KEYS.find((k) => getPath(remote, k) !== undefined);
}

/** The remote keys with the base config's local-only values put back (the input of `parseAgentConfig`). */
export function mergeRemote(base: AgentConfig, remote: Obj): Obj {
  const out: Obj = structuredClone(remote);
  const b = base as unknown as Obj;
  for (const path of LOCAL_KEYS) {
    const v = getPath(b, path);
    if (v === undefined) continue;
    const keys = path.split('.');
    let cur = out;
    for (const k of keys.slice(0, -1)) {
      if (!isObj(cur[k])) cur[k] = {};
      cur = cur[k] as Obj;
    }
    cur[keys.at(-1)!] = structuredClone(v);
  }
  return out;
}

export interface CheckContext {
  deviceId: string;
  domain: Eip712Domain;
  issuers: readonly string[];
  /** The highest revision applied or rolled back (0: none). */
  lastRevision: number;
  base: AgentConfig;
}

export type CheckOutcome =
  | { action: 'ignore'; revision: number; detail: string }
  | { action: 'reject'; code: string; detail: string; revision: number; configHash: string; issuer?: string }
  | { action: 'accept'; config: AgentConfig; message: ConfigMessage };

const ZERO_HASH = '0x' + '0'.repeat(64);

/** Runs the checks in order; the first refusal wins. Never throws. */
export function checkRemoteConfig(doc: SignedConfig, ctx: CheckContext): CheckOutcome {
  const raw = (isObj(doc.message) ? doc.message : {}) as Partial<ConfigMessage>;
  const revision = typeof raw.revision === 'number' ? raw.revision : 0;
  const configHash = typeof raw.configHash === 'string' ? raw.configHash : ZERO_HASH;
  const reject = (e: unknown): CheckOutcome => {
    const err = e instanceof LightNodeError ? e : new LightNodeError('CONFIG_INVALID', String(e));
    return {
      action: 'reject',
      code: err.code,
      detail: err.message,
      revision,
      configHash,
      ...(typeof raw.issuer === 'string' ? { issuer: raw.issuer.toLowerCase() } : {}),
    };
  };
  let m: ConfigMessage;
  try {
    m = checkMessageFields<ConfigMessage>('Config', doc.message, 'config.message');
    if (!isObj(doc.config)) throw new LightNodeError('SCHEMA_INVALID', 'config.config: expected an object');
    verifySigned(doc, ctx.domain);
  } catch (e) {
    return reject(e);
  }
  const issuer = m.issuer.toLowerCase();
  if (!ctx.issuers.some((i) => i.toLowerCase() === issuer))
    return reject(
      new LightNodeError(
        'CONFIG_ISSUER_UNKNOWN',
        `config r${m.revision}: issuer ${issuer} is not in remoteConfig.issuers`,
      ),
    );
  if (m.deviceId.toLowerCase() !== ctx.deviceId.toLowerCase())
    return reject(
      new LightNodeError(
        'CONFIG_DEVICE_MISMATCH',
        `config r${m.revision}: for device ${m.deviceId.toLowerCase()}, this device is ${ctx.deviceId.toLowerCase()}`,
      ),
    );
  if (m.revision === ctx.lastRevision)
    return { action: 'ignore', revision: m.revision, detail: `revision ${m.revision} already handled` };
  if (m.revision < ctx.lastRevision)
    return reject(
      new LightNodeError(
        'CONFIG_REVISION_STALE',
        `config r${m.revision}: not above the last applied or rolled-back revision ${ctx.lastRevision}`,
      ),
    );
  try {
    checkConfigHash(doc);
  } catch (e) {
    return reject(e);
  }
  const key = protectedKey(doc.config);
  if (key)
    return reject(
      new LightNodeError(
        'CONFIG_KEY_PROTECTED',
        `config r${m.revision}: sets ${key}, a local-only key (it comes from the device's own file)`,
      ),
    );
  try {
    return {
      action: 'accept',
      config: parseAgentConfig(mergeRemote(ctx.base, doc.config), `config r${m.revision}`),
      message: m,
    };
  } catch (e) {
    return reject(e);
  }
}
