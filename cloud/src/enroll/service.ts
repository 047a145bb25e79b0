/**
 * The enrollment service: an installer (role `installer`, for one aggregator) issues a one-time token for a device
 * serial at a PoD; the device proves its key with a signed `Enrollment` over the token's hash and is then registered
 * on chain (`registerDevice` on the key register) and bound to the PoD in the SCD (the SCD's `enroller` right, for
 * the installer's aggregator only).
 *
 * A refused request registers nothing: every check, and the SCD's dry run of the binding, comes before the chain.
 * Refusals of a live token (POD_INVALID, ENROLL_TOKEN_MISMATCH, ENROLL_PROOF_INVALID) count; the fifth revokes it.
 * When the SCD binding fails after the chain registration, the token is not consumed: the error says so, and a retry
 * with the same token (and key) reuses the registration and binds again. Enrollments run one at a time.
 */
import { randomBytes } from 'node:crypto';
import {
  LightNodeError,
  isLightNodeError,
  silentLogger,
  tokenHash as hashOfToken,
  validatePodId,
  type Clock,
  type Eip712Domain,
  type Logger,
} from '@lightnode/protocols';
import type { Platform } from '../http/auth.js';
import type { BindResult, DeviceBinding } from '../scd/enroller.js';
import { Mutex } from '../scd/sql.js';
import { MAX_ENROLL_FAILURES, checkEnrollment, liveToken, tokenState, type EnrollRequest } from './check.js';
import type { EnrollStore } from './store.js';

/** Token lifetime bounds, s. */
export const ENROLL_TTL_MAX_S = 900;
export const ENROLL_TTL_MIN_S = 1;

/** The key register as the enrollment service needs it (ChainClient implements it). */
export interface KeyRegistrar {
  keyOf(deviceId: string): Promise<{ registeredAtS: number; revokedAtS: number }>;
  /** `publicKey`: 0x04 + 128 hex (uncompressed). */
  registerDevice(deviceId: string, publicKey: string): Promise<{ txHash: string }>;
}

/** The SCD's enroller right (ScdService implements it in process). */
export interface DeviceBinder {
  bindDevice(caller: Platform, podId: string, b: DeviceBinding, dryRun?: boolean): Promise<BindResult>;
}

/** The platform the service acts as in the SCD. */
export const ENROLLER: Platform = { id: 'enroll', role: 'enroller' };

export interface TokenRequest {
  serial: string;
  podId: string;
  /** Lifetime, s (1–900, default 900). */
  ttlS?: number;
}

export interface IssuedToken {
  token: string;
  serial: string;
  podId: string;
  expiresAtMs: number;
  domain: Eip712Domain;
}

export interface EnrollResult {
  deviceId: string;
  podId: string;
  aggregator: string;
  txHash: string;
}

export interface EnrollServiceOptions {
  store: EnrollStore;
  chain: KeyRegistrar;
  scd: DeviceBinder;
  /** The EIP-712 domain devices sign their proof in (the chain's LightNode domain). */
  domain: Eip712Domain;
  clock: Clock;
  log?: Logger;
  /** The SCD platform the service binds as (default `ENROLLER`). */
  enroller?: Platform;
}

/** An error's message without its `CODE: ` prefix (to say it again under the same code). */
const bare = (e: LightNodeError): string => e.message.replace(`${e.code}: `, '');

/** Codes of refusals that count against a live token. */
const COUNTED = new Set<string>(['POD_INVALID', 'ENROLL_TOKEN_MISMATCH', 'ENROLL_PROOF_INVALID']);

export class EnrollService {
  private readonly mutex = new Mutex();
  private readonly log: Logger;
  private readonly enroller: Platform;

  constructor(private readonly o: EnrollServiceOptions) {
    this.log = o.log ?? silentLogger;
    this.enroller = o.enroller ?? ENROLLER;
  }

  get domain(): Eip712Domain {
    return this.o.domain;
  }

  /** `POST /enroll/tokens`: an installer issues a token for `serial` at one of its aggregator's PoDs. */
  async issueToken(caller: Platform, b: TokenRequest): Promise<IssuedToken> {
    if (caller.role !== 'installer' || !caller.aggregator)
      throw new LightNodeError('FORBIDDEN', `${caller.id} (${caller.role}) may not issue enrollment tokens`, {
        platform: caller.id,
        role: caller.role,
      });
    const pod = validatePodId(b.podId);
    if (!pod.ok) throw new LightNodeError('POD_INVALID', `podId: ${pod.reason}`, { field: 'podId' });
    const ttlS = b.ttlS ?? ENROLL_TTL_MAX_S;
    if (!Number.isInteger(ttlS) || ttlS < ENROLL_TTL_MIN_S || ttlS > ENROLL_TTL_MAX_S)
      throw new LightNodeError(
        'SCHEMA_INVALID',
        `ttlS: expected an integer ${ENROLL_TTL_MIN_S}..${ENROLL_TTL_MAX_S} (s), received ${ttlS}`,
        { field: 'ttlS' },
      );
    // a PoD of another aggregator is refused now, not when the device comes
    await this.o.scd.bindDevice(this.enroller, b.podId, { aggregator: caller.aggregator }, true);
    // the prefix keeps a token from starting with '-', which a command line would take for a flag
    const token = `lne_${randomBytes(24).toString('base64url')}`;
    const now = this.o.clock.now();
    const expiresAtMs = now + ttlS * 1000;
    await this.o.store.insert({
      tokenHash: hashOfToken(token),
      serial: b.serial,
      podId: b.podId,
      installer: caller.id,
      aggregator: caller.aggregator,
      createdMs: now,
      expiresAtMs,
    });
    this.log.info('enrollment token issued', { installer: caller.id, serial: b.serial, podId: b.podId, expiresAtMs });
    return { token, serial: b.serial, podId: b.podId, expiresAtMs, domain: this.o.domain };
  }

  /** `POST /enroll`: a device claims its token with a signed proof; registered on chain, then bound in the SCD. */
  enroll(b: EnrollRequest): Promise<EnrollResult> {
    return this.mutex.run(() => this.enrollOne(b));
  }

  private async enrollOne(b: EnrollRequest): Promise<EnrollResult> {
    const hash = hashOfToken(b.token);
    const now = this.o.clock.now();
    const row = liveToken(tokenState(await this.o.store.get(hash), now));
    let deviceId: string;
    try {
      deviceId = checkEnrollment(b, row, this.o.domain);
    } catch (e) {
      if (isLightNodeError(e) && COUNTED.has(e.code)) throw await this.counted(hash, now, e);
      throw e;
    }
    if (row.deviceId !== undefined && row.deviceId !== deviceId)
      throw new LightNodeError(
        'ENROLL_TOKEN_USED',
        `this token already registered device ${row.deviceId} on chain: retry with that device's key, or ask the installer for a new token`,
        {},
      );
    const binding = { deviceId, aggregator: row.aggregator };
    await this.o.scd.bindDevice(this.enroller, row.podId, binding, true);
    let txHash = row.txHash;
    if (txHash === undefined) {
      const k = await this.o.chain.keyOf(deviceId);
      if (k.registeredAtS !== 0)
        throw new LightNodeError(
          'CONFLICT',
          `device ${deviceId} is already in the key register${k.revokedAtS ? ' (revoked)' : ''}: a key enrolls once; use a new key`,
          { deviceId },
        );
      txHash = (await this.o.chain.registerDevice(deviceId, b.publicKey)).txHash;
      await this.o.store.registered(hash, deviceId, txHash);
    }
    try {
      await this.o.scd.bindDevice(this.enroller, row.podId, binding);
    } catch (e) {
      const err = isLightNodeError(e) ? e : new LightNodeError('IO_ERROR', (e as Error).message, {}, { cause: e });
      this.log.warn('enrollment: registered on chain, SCD binding failed', { deviceId, txHash, error: err.message });
      throw new LightNodeError(
        err.code,
        `device ${deviceId} is registered on chain (transaction ${txHash}) but binding it to PoD ${row.podId} in the SCD failed (${bare(err)}): the token is not consumed, retry POST /enroll with the same token`,
        { deviceId, txHash, podId: row.podId },
        { cause: e },
      );
    }
    await this.o.store.consume(hash, this.o.clock.now());
    this.log.info('device enrolled', { deviceId, podId: row.podId, aggregator: row.aggregator, txHash });
    return { deviceId, podId: row.podId, aggregator: row.aggregator, txHash };
  }

  /** Counts a refusal against the token; the message says how many are left, or that it is now revoked. */
  private async counted(hash: string, now: number, e: LightNodeError): Promise<LightNodeError> {
    const f = await this.o.store.fail(hash, now, MAX_ENROLL_FAILURES);
    const note = f.revoked
      ? `; ${f.failures} refused attempts: the token is revoked`
      : `; refused attempt ${f.failures} of ${MAX_ENROLL_FAILURES} before the token is revoked`;
    return new LightNodeError(e.code, `${bare(e)}${note}`, e.context, { cause: e });
  }
}
