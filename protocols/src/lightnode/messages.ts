/**
 * Operator ↔ device messages of protocol v1, each an EIP-712 struct signed by its sender:
 * - **Setpoint** (operator → device): `activePowerW` is the target **level at the PoD** (load convention: import
 *   positive) for slot `slotIndex` of market session `marketSession`, valid in [validFromMs, validUntilMs);
 *   `nonce` strictly increases per issuer (replay protection, persisted by the device).
 * - **Ack** (device → operator): the setpoint's state transitions, `appliedPowerW` in the same convention.
 * - **QosReport** (device → operator, after the slot): delivered energy vs baseline vs requested; the baseline comes
 *   from the setpoint's `baselineW` (the issuer's, from the SCD), so the report stands on its own.
 * - **Gap** (device → everyone): a signed declaration that samples firstSeq..lastSeq were evicted from the outbox
 *   (disk quota) and will never be delivered; `energyImportWh`/`energyExportWh` = energy over the gap, −1 unknown.
 */
import { LightNodeError, invalidField } from '../errors.js';
import { fromHex, toHex } from './canonical.js';
import { EIP712_TYPES, typedDataDigest, type Eip712Domain, type PrimaryType } from './eip712.js';
import { PROTOCOL_VERSION } from './sample.js';
import { recoverAddress, type RecoverFn, type Signer } from './signer.js';

export const ACK_STATES = [
  'received',
  'scheduled',
  'applied',
  'clipped',
  'rejected',
  'expired',
  'reverted',
  'not_applied',
  'autonomous',
] as const;
export type AckState = (typeof ACK_STATES)[number];

export interface Setpoint {
  version: number;
  /** 0x + 64 hex: unique id chosen by the issuer. */
  id: string;
  /** Lowercase 0x address of the issuing platform's key. */
  issuer: string;
  podId: string;
  marketSession: string;
  /** 0-based 15-min slot of the market day (0..99). */
  slotIndex: number;
  playerServiceId: string;
  /** Target active power at the PoD, W, load convention (import positive). */
  activePowerW: number;
  /** The PoD's baseline for the slot, W, load convention (from the SCD): makes the device's QoS report self-contained. */
  baselineW: number;
  validFromMs: number;
  validUntilMs: number;
  nonce: number;
}

/** Limits that clip a setpoint, in the order the device applies them (the first binding one is the ack's reason). */
export const CLIP_REASONS = ['ESS_MAX_DISCHARGE', 'ESS_MAX_CHARGE', 'ESS_SOC_MIN', 'ESS_SOC_MAX', 'ESS_RAMP'] as const;
export type ClipReason = (typeof CLIP_REASONS)[number];
/** Why a device fell back to autonomous mode (ack `autonomous`). */
export const FALLBACK_REASONS = ['LINK_LOST', 'READBACK_FAILED', 'AGENT_STOP'] as const;
export type FallbackReason = (typeof FALLBACK_REASONS)[number];

export interface Ack {
  version: number;
  setpointId: string;
  deviceId: string;
  state: AckState;
  /** A reason code ('' when none), e.g. the limit that clipped or the cause of a rejection (an error code). */
  reason: string;
  /** The level applied at the PoD, W, load convention. */
  appliedPowerW: number;
  atMs: number;
  /** Per-device message sequence (monotonic, persisted). */
  seq: number;
}

export interface QosReport {
  version: number;
  setpointId: string;
  deviceId: string;
  podId: string;
  slotIndex: number;
  requestedPowerW: number;
  /** Energies over the slot at the PoD, Wh, load convention. */
  requestedEnergyWh: number;
  baselineEnergyWh: number;
  deliveredEnergyWh: number;
  atMs: number;
  seq: number;
}

export interface Gap {
  version: number;
  deviceId: string;
  podId: string;
  firstSeq: number;
  lastSeq: number;
  count: number;
  /** Why the samples are gone, e.g. `disk_quota`. */
  reason: string;
  /** Energy imported / exported over the gap (Wh), −1 when unknown. */
  energyImportWh: number;
  energyExportWh: number;
  atMs: number;
}

/** A signed message as carried in JSON (vectors, topics): `{kind, message, signature}`. */
export interface SignedMessage<K extends string, M> {
  kind: K;
  message: M;
  /** 0x + 130 hex: r‖s‖v. */
  signature: string;
}
export type SignedSetpoint = SignedMessage<'setpoint', Setpoint>;
export type SignedAck = SignedMessage<'ack', Ack>;
export type SignedGap = SignedMessage<'gap', Gap>;
export type SignedQosReport = SignedMessage<'qos', QosReport>;

const KIND_TYPE = {
  setpoint: 'Setpoint',
  ack: 'Ack',
  gap: 'Gap',
  qos: 'QosReport',
  config: 'Config',
  'config-ack': 'ConfigAck',
  enrollment: 'Enrollment',
  commissioning: 'CommissioningReport',
} as const satisfies Record<string, PrimaryType>;
/** The `kind` of every signed envelope of protocol v1. */
export type SignedKind = keyof typeof KIND_TYPE;
type Kind = SignedKind;
export const SIGNED_KINDS = Object.keys(KIND_TYPE) as readonly SignedKind[];
/** The kinds signed by an operator key (`message.issuer`); every other kind is signed by `message.deviceId`. */
const ISSUER_SIGNED: readonly Kind[] = ['setpoint', 'config'];
/** Ack states of a remote configuration (SPEC §7). */
export const CONFIG_ACK_STATES = ['applied', 'rejected', 'rolled_back'] as const;
export type ConfigAckState = (typeof CONFIG_ACK_STATES)[number];
/** Outcomes of a commissioning (SPEC §7). */
export const COMMISSIONING_RESULTS = ['pass', 'fail'] as const;
export type CommissioningResult = (typeof COMMISSIONING_RESULTS)[number];

function checkCommon(kind: Kind, m: Record<string, unknown>): void {
  if (m.version !== PROTOCOL_VERSION)
    throw new LightNodeError(
      'VERSION_UNSUPPORTED',
      `${kind}.version: ${String(m.version)} is not supported (speaks ${PROTOCOL_VERSION})`,
      { field: `${kind}.version` },
    );
  if (kind === 'ack' && !(ACK_STATES as readonly unknown[]).includes(m.state))
    throw invalidField('SCHEMA_INVALID', 'ack.state', ACK_STATES.join(' | '), m.state);
  if (kind === 'config-ack' && !(CONFIG_ACK_STATES as readonly unknown[]).includes(m.state))
    throw invalidField('SCHEMA_INVALID', 'config-ack.state', CONFIG_ACK_STATES.join(' | '), m.state);
  if (kind === 'commissioning' && !(COMMISSIONING_RESULTS as readonly unknown[]).includes(m.result))
    throw invalidField('SCHEMA_INVALID', 'commissioning.result', COMMISSIONING_RESULTS.join(' | '), m.result);
  if (
    kind === 'setpoint' &&
    typeof m.validFromMs === 'number' &&
    typeof m.validUntilMs === 'number' &&
    m.validUntilMs <= m.validFromMs
  )
    throw invalidField('SETPOINT_INVALID', 'setpoint.validUntilMs', `> validFromMs (${m.validFromMs})`, m.validUntilMs);
  if (
    kind === 'gap' &&
    typeof m.firstSeq === 'number' &&
    typeof m.lastSeq === 'number' &&
    m.count !== m.lastSeq - m.firstSeq + 1
  )
    throw invalidField(
      'SCHEMA_INVALID',
      'gap.count',
      `lastSeq − firstSeq + 1 = ${m.lastSeq - m.firstSeq + 1}`,
      m.count,
    );
}

export function messageDigest(kind: Kind, message: object, domain: Eip712Domain): Uint8Array {
  const m = message as Record<string, unknown>;
  checkCommon(kind, m);
  return typedDataDigest(KIND_TYPE[kind], m, domain);
}

/** Signs `message` as `kind` (the EIP-712 type of that kind): the envelope `{kind, message, signature}`. */
export function signKind<K extends Kind, M extends object>(
  kind: K,
  message: M,
  signer: Signer,
  domain: Eip712Domain,
): SignedMessage<K, M> {
  return { kind, message, signature: toHex(signer.signDigest(messageDigest(kind, message, domain))) };
}

/** Verifies a signed message; returns the recovered signer (lowercase). Throws with the reason. */
export function verifySigned(
  signed: { kind: string; message: unknown; signature: string },
  domain: Eip712Domain,
  opts: { expectedSigner?: string; recover?: RecoverFn } = {},
): { signer: string } {
  if (!(signed.kind in KIND_TYPE))
    throw invalidField('SCHEMA_INVALID', 'kind', Object.keys(KIND_TYPE).join(' | '), signed.kind);
  if (typeof signed.message !== 'object' || signed.message === null)
    throw invalidField('SCHEMA_INVALID', 'message', 'an object', signed.message);
  const kind = signed.kind as Kind;
  const digest = messageDigest(kind, signed.message, domain);
  const signer = (opts.recover ?? recoverAddress)(digest, fromHex(signed.signature, 'signature'));
  const m = signed.message as Record<string, unknown>;
  const claimed = ISSUER_SIGNED.includes(kind) ? m.issuer : m.deviceId;
  const expected = String(opts.expectedSigner ?? claimed).toLowerCase();
  if (signer !== expected)
    throw new LightNodeError('SIGNER_MISMATCH', `${kind}: signed by ${signer}, expected ${expected}`, {
      signer,
      expected,
    });
  return { signer };
}

export const signSetpoint = (m: Setpoint, s: Signer, d: Eip712Domain): SignedSetpoint => signKind('setpoint', m, s, d);
export const signAck = (m: Ack, s: Signer, d: Eip712Domain): SignedAck => signKind('ack', m, s, d);
export const signGap = (m: Gap, s: Signer, d: Eip712Domain): SignedGap => signKind('gap', m, s, d);
export const signQosReport = (m: QosReport, s: Signer, d: Eip712Domain): SignedQosReport => signKind('qos', m, s, d);
export const verifySetpoint = (
  x: SignedSetpoint,
  d: Eip712Domain,
  o?: { expectedSigner?: string; recover?: RecoverFn },
) => verifySigned(x, d, o);
export const verifyAck = (x: SignedAck, d: Eip712Domain, o?: { expectedSigner?: string; recover?: RecoverFn }) =>
  verifySigned(x, d, o);
export const verifyGap = (x: SignedGap, d: Eip712Domain, o?: { expectedSigner?: string; recover?: RecoverFn }) =>
  verifySigned(x, d, o);
export const verifyQosReport = (
  x: SignedQosReport,
  d: Eip712Domain,
  o?: { expectedSigner?: string; recover?: RecoverFn },
) => verifySigned(x, d, o);

/**
 * The strict shape check of a received message of EIP-712 type `type` (the receiver's `SCHEMA_INVALID` step, before
 * the signature): exactly the type's fields, none missing, none unknown; strings as strings, bytes32 and addresses
 * as 0x hex, integers as JSON safe integers in their type's range (no numeric strings, no floats); `version` the
 * protocol's. Throws `SCHEMA_INVALID` naming the first bad field (`<label>.<field>`); returns the message typed.
 */
export function checkMessageFields<T>(type: PrimaryType, message: unknown, label: string): T {
  if (typeof message !== 'object' || message === null || Array.isArray(message))
    throw invalidField('SCHEMA_INVALID', label, 'an object', message);
  const m = message as Record<string, unknown>;
  const fields = EIP712_TYPES[type];
  const known = new Set<string>(fields.map(([f]) => f));
  const unknown = Object.keys(m).find((k) => !known.has(k));
  if (unknown !== undefined) throw invalidField('SCHEMA_INVALID', `${label}.${unknown}`, 'no such field', m[unknown]);
  for (const [f, t] of fields) {
    const v = m[f];
    const field = `${label}.${f}`;
    const ftype: string = t;
    if (ftype === 'string') {
      if (typeof v !== 'string') throw invalidField('SCHEMA_INVALID', field, 'a string', v);
    } else if (ftype === 'bytes32') {
      if (typeof v !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(v))
        throw invalidField('SCHEMA_INVALID', field, '0x + 64 hex digits', v);
    } else if (ftype === 'address') {
      if (typeof v !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(v))
        throw invalidField('SCHEMA_INVALID', field, 'a 0x address', v);
    } else {
      const bits = Number(/int(\d+)$/.exec(ftype)![1]);
      const unsigned = ftype.startsWith('u');
      const max = bits >= 53 ? Number.MAX_SAFE_INTEGER : 2 ** (unsigned ? bits : bits - 1) - 1;
      const min = unsigned ? 0 : -max - (bits >= 53 ? 0 : 1);
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max)
        throw invalidField('SCHEMA_INVALID', field, `an integer ${min}..${max} (${ftype})`, v);
    }
  }
  if (m.version !== PROTOCOL_VERSION)
    throw invalidField('SCHEMA_INVALID', `${label}.version`, String(PROTOCOL_VERSION), m.version);
  return m as unknown as T;
}

/** The strict shape check of a received setpoint message (`checkMessageFields` of `Setpoint`). */
export const checkSetpointFields = (message: unknown): Setpoint =>
  checkMessageFields<Setpoint>('Setpoint', message, 'setpoint');
