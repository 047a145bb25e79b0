/**
 * The enrollment service's REST API, on the cloud HTTP layer (http/). Errors are `{error: {code, message, field?}}`:
 *
 *   POST /enroll/tokens   installer  {serial, podId, ttlS?} (ttlS 1–900, default 900) → 201 {token, serial, podId,
 *                                    expiresAtMs, domain}; another role → 403, no bearer → 401
 *   GET  /enroll/domain   public     the EIP-712 domain the device signs its proof in
 *   POST /enroll          public     {token, serial, podId, publicKey, proof: {kind: "enrollment", message,
 *                                    signature}} → 201 {deviceId, podId, aggregator, txHash}
 *
 * Refusals of `POST /enroll`: 401 ENROLL_TOKEN_UNKNOWN (also a revoked token), 409 ENROLL_TOKEN_USED, 410
 * ENROLL_TOKEN_EXPIRED, 403 ENROLL_TOKEN_MISMATCH, 400 ENROLL_PROOF_INVALID, 400 POD_INVALID, 409 CONFLICT (the key
 * is already registered, or the device is bound to another PoD).
 */
import type { Server } from 'node:http';
import { z } from 'zod';
import { silentLogger, type Logger } from '@lightnode/protocols';
import type { Auth } from '../http/auth.js';
import { publicRoute, route, type AnyRoute } from '../http/router.js';
import { createApiServer } from '../http/server.js';
import { ENROLL_TTL_MAX_S, ENROLL_TTL_MIN_S, type EnrollService } from './service.js';

/** A device serial as the installer reads it off the label: 1–64 printable ASCII characters, no spaces. */
const SERIAL = z.string().regex(/^[\x21-\x7e]{1,64}$/, '1–64 printable ASCII characters, no spaces');
/** The PoD is checked by the service (`validatePodId`: 400 POD_INVALID with its reason). */
const POD = z.string().max(64);

export const EnrollBodies = {
  token: z.strictObject({
    serial: SERIAL,
    podId: POD,
    ttlS: z.number().int().min(ENROLL_TTL_MIN_S).max(ENROLL_TTL_MAX_S).optional(),
  }),
  enroll: z.strictObject({
    token: z.string().min(1).max(256),
    serial: SERIAL,
    podId: POD,
    publicKey: z.string().regex(/^0x04[0-9a-fA-F]{128}$/, '0x04 + 128 hex digits (uncompressed secp256k1 key)'),
    proof: z.strictObject({
      kind: z.literal('enrollment'),
      message: z.unknown(),
      signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/, '0x + 130 hex (r‖s‖v)'),
    }),
  }),
};

export function enrollRoutes(svc: EnrollService): AnyRoute[] {
  return [
    route({
      method: 'POST',
      path: '/enroll/tokens',
      roles: ['installer'],
      forbidden: 'issue enrollment tokens (installers do, for their aggregator)',
      body: EnrollBodies.token,
      status: 201,
      handle: (c) =>
        svc.issueToken(c.caller, {
          serial: c.body.serial,
          podId: c.body.podId,
          ...(c.body.ttlS !== undefined ? { ttlS: c.body.ttlS } : {}),
        }),
    }),
    publicRoute({ method: 'GET', path: '/enroll/domain', handle: () => svc.domain }),
    publicRoute({
      method: 'POST',
      path: '/enroll',
      body: EnrollBodies.enroll,
      maxBodyBytes: 16 << 10,
      status: 201,
      handle: (c) => svc.enroll(c.body),
    }),
  ];
}

export function createEnrollServer(svc: EnrollService, auth: Auth, log: Logger = silentLogger): Server {
  return createApiServer({ routes: enrollRoutes(svc), auth, log, name: 'enroll', health: async () => ({ ok: true }) });
}
