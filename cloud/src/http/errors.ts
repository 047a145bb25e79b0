/**
 * The one map from a `LightNodeError` code to an HTTP status, and the error body every cloud API answers with:
 * `{error: {code, message, field?}}`. A code not listed here is a server fault (500); a person's bad input always
 * maps to a 4xx.
 */
import type { ServerResponse } from 'node:http';
import { LightNodeError, isLightNodeError, type ErrorCode } from '@lightnode/protocols';

export const HTTP_STATUS: Partial<Record<ErrorCode, number>> = {
  SCHEMA_INVALID: 400,
  DECODE_ERROR: 400,
  PROOF_INVALID: 400,
  INPUT_INVALID: 400,
  VERSION_UNSUPPORTED: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  SEQ_CONFLICT: 409,
  BODY_TOO_LARGE: 413,
  NETWORK_INVALID: 400,
  NETWORK_MESHED: 400,
  NETWORK_ISLANDED: 400,
  MARKET_POD_UNKNOWN: 422,
  MARKET_BASELINE_MISSING: 422,
  MARKET_GATE_CLOSED: 409,
  MARKET_SESSION_MISMATCH: 409,
  DEVICE_UNAVAILABLE: 503,
  ENROLL_TOKEN_UNKNOWN: 401,
  ENROLL_TOKEN_USED: 409,
  ENROLL_TOKEN_EXPIRED: 410,
  ENROLL_TOKEN_MISMATCH: 403,
  ENROLL_PROOF_INVALID: 400,
  POD_INVALID: 400,
};

/** The HTTP status of an error code (500 for anything not a client's fault). */
export function httpStatusOf(code: string): number {
  return HTTP_STATUS[code as ErrorCode] ?? 500;
}

/** Any thrown value as a LightNodeError (unknown ones become INTERNAL). */
export function asLightNodeError(e: unknown): LightNodeError {
  return isLightNodeError(e) ? e : new LightNodeError('INTERNAL', (e as Error)?.message ?? String(e), {}, { cause: e });
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

/** `{error: {code, message, field?}}` with the status its code maps to. */
export function errorBody(err: LightNodeError): { error: { code: string; message: string; field?: string } } {
  return {
    error: {
      code: err.code,
      message: err.message,
      ...(typeof err.context.field === 'string' ? { field: err.context.field } : {}),
    },
  };
}
