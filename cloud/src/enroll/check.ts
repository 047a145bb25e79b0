/**
 * The pure part of an enrollment: the token's state at a time (a tagged union), and the checks of a request against
 * its token — PoD format, serial and PoD of the token, then the device's signed `Enrollment` proof. No I/O.
 */
import {
  LightNodeError,
  addressFromPublicKey,
  checkMessageFields,
  fromHex,
  isLightNodeError,
  tokenHash as hashOfToken,
  validatePodId,
  verifySigned,
  type Eip712Domain,
  type Enrollment,
} from '@lightnode/protocols';
import type { EnrollTokenRow } from './store.js';

/** Refused attempts that revoke a token. */
export const MAX_ENROLL_FAILURES = 5;

export type TokenState =
  | { state: 'unknown' }
  | { state: 'revoked'; row: EnrollTokenRow }
  | { state: 'used'; row: EnrollTokenRow }
  | { state: 'expired'; row: EnrollTokenRow }
  | { state: 'live'; row: EnrollTokenRow };

/** What a token is at `nowMs`: used wins over revoked and expired (it stays used), revoked over expired. */
export function tokenState(row: EnrollTokenRow | undefined, nowMs: number): TokenState {
  if (!row) return { state: 'unknown' };
  if (row.usedMs !== undefined) return { state: 'used', row };
  if (row.revokedMs !== undefined) return { state: 'revoked', row };
  if (nowMs >= row.expiresAtMs) return { state: 'expired', row };
  return { state: 'live', row };
}

/** The row of a live token; a token that is not live is refused with its code. */
export function liveToken(s: TokenState): EnrollTokenRow {
  switch (s.state) {
    case 'unknown':
      throw new LightNodeError('ENROLL_TOKEN_UNKNOWN', 'enrollment token unknown: ask the installer for a new one', {});
    case 'revoked':
      throw new LightNodeError(
        'ENROLL_TOKEN_UNKNOWN',
        `enrollment token revoked after ${s.row.failures} refused attempts: ask the installer for a new one`,
        {},
      );
    case 'used':
      throw new LightNodeError(
        'ENROLL_TOKEN_USED',
        `enrollment token already used (device ${s.row.deviceId ?? '?'} enrolled at PoD ${s.row.podId}): a token enrolls one device once`,
        {},
      );
    case 'expired':
      throw new LightNodeError(
        'ENROLL_TOKEN_EXPIRED',
        `enrollment token expired at ${new Date(s.row.expiresAtMs).toISOString()}: ask the installer for a new one`,
        { expiresAtMs: s.row.expiresAtMs },
      );
    case 'live':
      return s.row;
  }
}

/** A `POST /enroll` body (shape checked by the route). */
export interface EnrollRequest {
  token: string;
  serial: string;
  podId: string;
  /** 0x04 + 128 hex: the uncompressed secp256k1 public key. */
  publicKey: string;
  proof: { kind: 'enrollment'; message: unknown; signature: string };
}

const proofInvalid = (message: string, context: Record<string, unknown> = {}): LightNodeError =>
  new LightNodeError('ENROLL_PROOF_INVALID', `proof: ${message}`, context);

/**
 * Checks a request against its live token; returns the device id (lowercase address of `publicKey`). Throws
 * POD_INVALID (the PoD's format), ENROLL_TOKEN_MISMATCH (serial or PoD not the token's), ENROLL_PROOF_INVALID
 * (message fields ≠ body, tokenHash ≠ the token's, signer ≠ address of publicKey ≠ message.deviceId).
 */
export function checkEnrollment(b: EnrollRequest, row: EnrollTokenRow, domain: Eip712Domain): string {
  const pod = validatePodId(b.podId);
  if (!pod.ok) throw new LightNodeError('POD_INVALID', `podId: ${pod.reason}`, { field: 'podId' });
  if (b.serial !== row.serial)
    throw new LightNodeError(
      'ENROLL_TOKEN_MISMATCH',
      `serial ${b.serial} is not the serial this token was issued for`,
      {
        field: 'serial',
      },
    );
  if (b.podId !== row.podId)
    throw new LightNodeError('ENROLL_TOKEN_MISMATCH', `PoD ${b.podId} is not the PoD this token was issued for`, {
      field: 'podId',
    });
  let m: Enrollment;
  try {
    m = checkMessageFields<Enrollment>('Enrollment', b.proof.message, 'proof.message');
  } catch (e) {
    throw proofInvalid((e as Error).message.replace(/^SCHEMA_INVALID: /, ''));
  }
  for (const f of ['serial', 'podId'] as const)
    if (m[f] !== b[f])
      throw proofInvalid(`message.${f} ${JSON.stringify(m[f])} ≠ the request's ${JSON.stringify(b[f])}`);
  const expectedHash = hashOfToken(b.token);
  if (m.tokenHash.toLowerCase() !== expectedHash)
    throw proofInvalid(`message.tokenHash ${m.tokenHash} is not the keccak256 of the token (${expectedHash})`);
  const address = addressFromPublicKey(fromHex(b.publicKey, 'publicKey'));
  if (m.deviceId.toLowerCase() !== address)
    throw proofInvalid(`message.deviceId ${m.deviceId} is not the address of publicKey (${address})`);
  try {
    verifySigned(b.proof, domain, { expectedSigner: address });
  } catch (e) {
    if (isLightNodeError(e)) throw proofInvalid(e.message, e.context);
    throw proofInvalid(`signature unusable (${(e as Error).message})`);
  }
  return address;
}
