/**
 * The verification of a received setpoint (pure): the checks in the order, each with its refusal code —
 * DECODE_ERROR (not JSON / not an envelope: the link's onInvalid), SCHEMA_INVALID (a field missing, unknown or
 * mistyped), SETPOINT_INVALID (an inverted window), SIGNER_MISMATCH, SETPOINT_ISSUER_UNKNOWN, SETPOINT_POD_MISMATCH,
 * SETPOINT_REPLAY, SETPOINT_EXPIRED, SETPOINT_NOT_YET_VALID. Every check run is returned (the audit log records each).
 */
import {
  checkSetpointFields,
  isLightNodeError,
  verifySigned,
  type Eip712Domain,
  type RecoverFn,
  type Setpoint,
} from '@lightnode/protocols';

export const ZERO_ID = '0x' + '00'.repeat(32);

export const CHECKS = ['schema', 'window', 'signature', 'issuer', 'pod', 'nonce', 'expiry', 'lead'] as const;
export type CheckName = (typeof CHECKS)[number];

export type RefusalCode =
  | 'DECODE_ERROR'
  | 'SCHEMA_INVALID'
  | 'SETPOINT_INVALID'
  | 'SIGNER_MISMATCH'
  | 'SETPOINT_ISSUER_UNKNOWN'
  | 'SETPOINT_POD_MISMATCH'
  | 'SETPOINT_REPLAY'
  | 'SETPOINT_EXPIRED'
  | 'SETPOINT_NOT_YET_VALID';

export interface CheckStep {
  check: CheckName;
  ok: boolean;
  /** Why it failed, naming the field and the values. */
  message?: string;
}

export interface CheckContext {
  domain: Eip712Domain;
  /** Lowercase issuer addresses. */
  issuers: readonly string[];
  podId: string;
  maxLeadMs: number;
  nowMs: number;
  /** The issuer's last accepted nonce, undefined when none yet. */
  lastNonce(issuer: string): number | undefined;
  recover?: RecoverFn;
}

export type CheckOutcome =
  | { ok: true; setpoint: Setpoint; steps: CheckStep[] }
  | { ok: false; code: RefusalCode; setpointId: string; message: string; steps: CheckStep[] };

const isBytes32 = (v: unknown): v is string => typeof v === 'string' && /^0x[0-9a-fA-F]{64}$/.test(v);

/** The setpoint id an ack of `message` carries: its `id` when a bytes32 (lowercase), else 32 zero bytes. */
export function setpointIdOf(message: unknown): string {
  const id = typeof message === 'object' && message !== null ? (message as { id?: unknown }).id : undefined;
  return isBytes32(id) ? id.toLowerCase() : ZERO_ID;
}

/** Runs the checks on a decoded envelope `{kind, message, signature}`, stopping at the first refusal. */
export function checkSetpoint(
  signed: { kind: string; message: unknown; signature: string },
  ctx: CheckContext,
): CheckOutcome {
  const steps: CheckStep[] = [];
  const setpointId = setpointIdOf(signed.message);
  const refuse = (check: CheckName, code: RefusalCode, message: string): CheckOutcome => {
    steps.push({ check, ok: false, message });
    return { ok: false, code, setpointId, message, steps };
  };
  let sp: Setpoint;
  try {
    sp = checkSetpointFields(signed.message);
  } catch (e) {
    return refuse('schema', 'SCHEMA_INVALID', (e as Error).message);
  }
  steps.push({ check: 'schema', ok: true });
  if (sp.validUntilMs <= sp.validFromMs)
    return refuse(
      'window',
      'SETPOINT_INVALID',
      `setpoint.validUntilMs ${sp.validUntilMs} is not after validFromMs ${sp.validFromMs}`,
    );
  steps.push({ check: 'window', ok: true });
  const issuer = sp.issuer.toLowerCase();
  try {
    verifySigned(signed, ctx.domain, ctx.recover ? { recover: ctx.recover } : {});
  } catch (e) {
    // a malformed or foreign signature: it does not recover to message.issuer
    const why = isLightNodeError(e) ? e.message : String(e);
    return refuse('signature', 'SIGNER_MISMATCH', why);
  }
  steps.push({ check: 'signature', ok: true });
  if (!ctx.issuers.includes(issuer))
    return refuse('issuer', 'SETPOINT_ISSUER_UNKNOWN', `issuer ${issuer} is not in setpoints.issuers`);
  steps.push({ check: 'issuer', ok: true });
  if (sp.podId !== ctx.podId)
    return refuse('pod', 'SETPOINT_POD_MISMATCH', `podId ${sp.podId} is not this device's ${ctx.podId}`);
  steps.push({ check: 'pod', ok: true });
  const last = ctx.lastNonce(issuer);
  if (last !== undefined && sp.nonce <= last)
    return refuse('nonce', 'SETPOINT_REPLAY', `nonce ${sp.nonce} ≤ the issuer's last accepted ${last}`);
  steps.push({ check: 'nonce', ok: true });
  if (sp.validUntilMs <= ctx.nowMs)
    return refuse('expiry', 'SETPOINT_EXPIRED', `validUntilMs ${sp.validUntilMs} ≤ now ${ctx.nowMs}`);
  steps.push({ check: 'expiry', ok: true });
  if (sp.validFromMs > ctx.nowMs + ctx.maxLeadMs)
    return refuse(
      'lead',
      'SETPOINT_NOT_YET_VALID',
      `validFromMs ${sp.validFromMs} > now ${ctx.nowMs} + maxLeadMs ${ctx.maxLeadMs}`,
    );
  steps.push({ check: 'lead', ok: true });
  return { ok: true, setpoint: { ...sp, issuer }, steps };
}
