/** Fakes for the enrollment service's tests: an in-memory key register and a request builder. */
import {
  LightNodeError,
  PROTOCOL_VERSION,
  signEnrollment,
  tokenHash,
  type Eip712Domain,
  type Enrollment,
  type Signer,
} from '@lightnode/protocols';
import type { EnrollRequest } from '../enroll/check.js';
import type { KeyRegistrar } from '../enroll/service.js';

/** A key register in memory: each registration a fake transaction hash; a second one of a device is CONFLICT. */
export class FakeKeyRegistrar implements KeyRegistrar {
  readonly keys = new Map<string, { publicKey: string; txHash: string }>();
  registrations = 0;

  keyOf(deviceId: string): Promise<{ registeredAtS: number; revokedAtS: number }> {
    return Promise.resolve({ registeredAtS: this.keys.has(deviceId.toLowerCase()) ? 1 : 0, revokedAtS: 0 });
  }

  registerDevice(deviceId: string, publicKey: string): Promise<{ txHash: string }> {
    const id = deviceId.toLowerCase();
    if (this.keys.has(id))
      return Promise.reject(new LightNodeError('CONFLICT', `register ${id}: already registered`, {}));
    this.registrations += 1;
    const txHash = `0x${this.registrations.toString(16).padStart(64, '0')}`;
    this.keys.set(id, { publicKey, txHash });
    return Promise.resolve({ txHash });
  }
}

/**
 * A `POST /enroll` body for `token` by `signer`: its uncompressed key and a signed `Enrollment`; `over` replaces
 * request fields, `message` message fields, `signWith` the signing key (a forged proof).
 */
export function enrollRequest(
  token: string,
  signer: Signer,
  f: { serial: string; podId: string; atMs: number },
  o: { over?: Partial<EnrollRequest>; message?: Partial<Enrollment>; signWith?: Signer; domain: Eip712Domain },
): EnrollRequest {
  const message: Enrollment = {
    version: PROTOCOL_VERSION,
    deviceId: signer.address,
    serial: f.serial,
    podId: f.podId,
    tokenHash: tokenHash(token),
    atMs: f.atMs,
    ...o.message,
  };
  return {
    token,
    serial: f.serial,
    podId: f.podId,
    publicKey: `0x04${signer.publicKey!.slice(2)}`,
    proof: signEnrollment(message, o.signWith ?? signer, o.domain),
    ...o.over,
  };
}
