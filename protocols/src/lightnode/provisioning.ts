/**
 * Provisioning messages of protocol v1 (SPEC §7), each an EIP-712 struct signed by its sender:
 * - **Config** (operator → device, retained on `ln/v1/{id}/config`): revision `revision` of the device's remote
 *   configuration; `configHash` = keccak256 of the RFC 8785 (JCS) bytes of the envelope's `config` object.
 * - **ConfigAck** (device → operator, on `report`): the device's verdict on a config revision — `applied`,
 *   `rejected` (with the refusal's code as `reason`) or `rolled_back` (a health check failed).
 * - **Enrollment** (device → enrollment service): proof that the key behind `deviceId` claims the one-time token whose
 *   keccak256 is `tokenHash`, for `serial` at `podId`.
 * - **CommissioningReport** (device → operator, on `report`): the installer's commissioning; `reportHash` =
 *   keccak256 of the JCS bytes of the envelope's `report` object.
 */
import canonicalizeCjs from 'canonicalize';
import { LightNodeError, invalidField } from '../errors.js';
import { toHex } from './canonical.js';
import type { Eip712Domain } from './eip712.js';
import { keccak256 } from './merkle.js';
import { signKind, type CommissioningResult, type ConfigAckState, type SignedMessage } from './messages.js';
import { PROTOCOL_VERSION } from './sample.js';
import type { Signer } from './signer.js';

export interface ConfigMessage {
  version: number;
  deviceId: string;
  revision: number;
  /** 0x keccak256 of the JCS bytes of the envelope's `config`. */
  configHash: string;
  issuer: string;
  atMs: number;
}
export interface ConfigAck {
  version: number;
  deviceId: string;
  revision: number;
  configHash: string;
  state: ConfigAckState;
  /** '' when applied; else the error code of the refusal or of the failed health check. */
  reason: string;
  atMs: number;
  /** The device's message seq (`queue.nextMessageSeq()`). */
  seq: number;
}
export interface Enrollment {
  version: number;
  deviceId: string;
  serial: string;
  podId: string;
  /** 0x keccak256 of the token's UTF-8 bytes. */
  tokenHash: string;
  atMs: number;
}
export interface CommissioningReport {
  version: number;
  deviceId: string;
  podId: string;
  serial: string;
  installer: string;
  result: CommissioningResult;
  /** 0x keccak256 of the JCS bytes of the envelope's `report`. */
  reportHash: string;
  atMs: number;
  seq: number;
}

export interface SignedConfig {
  kind: 'config';
  message: ConfigMessage;
  config: Record<string, unknown>;
  signature: string;
}
export type SignedConfigAck = SignedMessage<'config-ack', ConfigAck>;
export type SignedEnrollment = SignedMessage<'enrollment', Enrollment>;
export interface SignedCommissioning {
  kind: 'commissioning';
  message: CommissioningReport;
  report: Record<string, unknown>;
  signature: string;
}

const utf8 = new TextEncoder();
// canonicalize 2 is CommonJS (`module.exports = serialize`); its .d.ts declares an ES default export, so under
// NodeNext the default import is typed as the module: the runtime value is the function.
const canonicalize = canonicalizeCjs as unknown as (input: unknown) => string | undefined;

/**
 * The RFC 8785 (JSON Canonicalization Scheme) bytes of `value`: object keys sorted by UTF-16 code units, numbers in
 * ECMAScript form, no whitespace. Values JSON cannot carry (undefined, functions, NaN, Infinity, bigint) are
 * `ENCODE_ERROR` naming the path.
 */
export function jcs(value: unknown): Uint8Array {
  checkJson(value, '$');
  const text = canonicalize(value);
  if (text === undefined) throw new LightNodeError('ENCODE_ERROR', '$: not representable as JSON', {});
  return utf8.encode(text);
}

function checkJson(v: unknown, path: string): void {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
  if (typeof v === 'number') {
    if (!Number.isFinite(v))
      throw new LightNodeError('ENCODE_ERROR', `${path}: ${v} is not a JSON number`, { field: path });
    return;
  }
  if (Array.isArray(v)) return v.forEach((x, i) => checkJson(x, `${path}[${i}]`));
  if (typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) checkJson(x, `${path}.${k}`);
    return;
  }
  throw new LightNodeError('ENCODE_ERROR', `${path}: a ${typeof v} is not JSON`, { field: path });
}

/** 0x keccak256 of the JCS bytes of `value`: `configHash` and `reportHash`. */
export const jsonHash = (value: unknown): string => toHex(keccak256(jcs(value)));
/** 0x keccak256 of the token's UTF-8 bytes: `Enrollment.tokenHash`. */
export const tokenHash = (token: string): string => toHex(keccak256(utf8.encode(token)));

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Signs revision `f.revision` of `config` for `f.deviceId` with the issuer's key. */
export function signConfig(
  config: Record<string, unknown>,
  f: { deviceId: string; revision: number; issuer?: string; atMs: number },
  signer: Signer,
  domain: Eip712Domain,
): SignedConfig {
  const message: ConfigMessage = {
    version: PROTOCOL_VERSION,
    deviceId: f.deviceId.toLowerCase(),
    revision: f.revision,
    configHash: jsonHash(config),
    issuer: (f.issuer ?? signer.address).toLowerCase(),
    atMs: f.atMs,
  };
  const { signature } = signKind('config', message, signer, domain);
  return { kind: 'config', message, config, signature };
}

export const signConfigAck = (m: ConfigAck, s: Signer, d: Eip712Domain): SignedConfigAck =>
  signKind('config-ack', m, s, d);
export const signEnrollment = (m: Enrollment, s: Signer, d: Eip712Domain): SignedEnrollment =>
  signKind('enrollment', m, s, d);

/** Signs a commissioning `report` (any JSON object) as the device. */
export function signCommissioning(
  report: Record<string, unknown>,
  f: Omit<CommissioningReport, 'version' | 'reportHash'>,
  signer: Signer,
  domain: Eip712Domain,
): SignedCommissioning {
  const message: CommissioningReport = {
    version: PROTOCOL_VERSION,
    deviceId: f.deviceId.toLowerCase(),
    podId: f.podId,
    serial: f.serial,
    installer: f.installer,
    result: f.result,
    reportHash: jsonHash(report),
    atMs: f.atMs,
    seq: f.seq,
  };
  const { signature } = signKind('commissioning', message, signer, domain);
  return { kind: 'commissioning', message, report, signature };
}

/** Throws `code` unless the signed `signed` hash is the JCS keccak256 of `body` (the object at `field`). */
function checkBodyHash(
  code: 'CONFIG_HASH_MISMATCH' | 'REPORT_HASH_MISMATCH',
  label: string,
  field: string,
  body: unknown,
  signed: unknown,
): void {
  if (!isObj(body)) throw invalidField('SCHEMA_INVALID', field, 'an object', body);
  const actual = jsonHash(body);
  if (String(signed).toLowerCase() !== actual)
    throw new LightNodeError(
      code,
      `${label}: the JCS keccak256 of ${field} is ${actual}, the signed message says ${String(signed)}`,
      { expected: signed, actual },
    );
}

/** `CONFIG_HASH_MISMATCH` unless `message.configHash` is the JCS hash of `config`. */
export const checkConfigHash = (doc: { message: { configHash?: unknown }; config: unknown }): void =>
  checkBodyHash('CONFIG_HASH_MISMATCH', 'config', 'config', doc.config, doc.message.configHash);

/** `REPORT_HASH_MISMATCH` unless `message.reportHash` is the JCS hash of `report`. */
export const checkReportHash = (doc: { message: { reportHash?: unknown }; report: unknown }): void =>
  checkBodyHash('REPORT_HASH_MISMATCH', 'commissioning', 'report', doc.report, doc.message.reportHash);
