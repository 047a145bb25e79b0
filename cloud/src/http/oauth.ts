/**
 * `POST /oauth/token`: the OAuth2 client-credentials grant (RFC 6749 §4.4). Errors follow §5.2: a body that cannot
 * be read as a token request (truncated JSON, not an object, a repeated or non-string parameter, a bad Basic
 * header) → 400 `invalid_request`; another grant → 400 `unsupported_grant_type`; an unknown client or a wrong
 * secret → 401 `invalid_client`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isLightNodeError } from '@lightnode/protocols';
import type { Auth } from './auth.js';
import { readBody } from './body.js';
import { sendJson } from './errors.js';

/** Largest token request body read (16 KiB). */
export const TOKEN_BODY_LIMIT = 16 << 10;

class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: 'invalid_request' | 'invalid_client' | 'unsupported_grant_type',
    readonly description: string,
  ) {
    super(description);
  }
}

const invalidRequest = (description: string): OAuthError => new OAuthError(400, 'invalid_request', description);

/** The form parameters of a token request (`application/x-www-form-urlencoded` or a JSON object of strings). */
export function parseTokenForm(text: string, contentType: string): Map<string, string> {
  const out = new Map<string, string>();
  if (contentType.includes('application/json')) {
    let o: unknown;
    try {
      o = JSON.parse(text || '{}');
    } catch (e) {
      throw invalidRequest(`body: not JSON (${(e as Error).message})`);
    }
    if (typeof o !== 'object' || o === null || Array.isArray(o)) throw invalidRequest('body: expected a JSON object');
    for (const [k, v] of Object.entries(o)) {
      if (typeof v !== 'string') throw invalidRequest(`${k}: expected a string, received ${typeof v}`);
      out.set(k, v);
    }
    return out;
  }
  const form = new URLSearchParams(text);
  for (const k of new Set(form.keys())) {
    if (form.getAll(k).length > 1) throw invalidRequest(`${k}: given more than once`);
    out.set(k, form.get(k)!);
  }
  return out;
}

/** `Authorization: Basic base64(urlencoded id : urlencoded secret)` (RFC 6749 §2.3.1), when present. */
export function parseBasic(header: string | undefined): { id: string; secret: string } | undefined {
  const m = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!m) return undefined;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) throw invalidRequest('Authorization: Basic credentials need "client_id:client_secret"');
  try {
    return { id: decodeURIComponent(text.slice(0, colon)), secret: decodeURIComponent(text.slice(colon + 1)) };
  } catch {
    throw invalidRequest('Authorization: Basic credentials have a malformed %-escape');
  }
}

export async function handleTokenRequest(req: IncomingMessage, res: ServerResponse, auth: Auth): Promise<void> {
  try {
    const text = (await readBody(req, TOKEN_BODY_LIMIT)).toString('utf8'); // over the limit: 413
    const form = parseTokenForm(text, req.headers['content-type'] ?? '');
    if (form.get('grant_type') !== 'client_credentials')
      throw new OAuthError(400, 'unsupported_grant_type', 'grant_type: expected client_credentials');
    const basic = parseBasic(req.headers.authorization);
    const id = basic?.id ?? form.get('client_id');
    const secret = basic?.secret ?? form.get('client_secret');
    if (!id || !secret) throw invalidRequest('client_id and client_secret are required (form/JSON body or HTTP Basic)');
    try {
      sendJson(res, 200, auth.issueToken(id, secret), { 'cache-control': 'no-store' });
    } catch (e) {
      if (isLightNodeError(e, 'UNAUTHORIZED')) throw new OAuthError(401, 'invalid_client', e.message);
      throw e;
    }
  } catch (e) {
    if (!(e instanceof OAuthError)) throw e;
    sendJson(res, e.status, { error: e.error, error_description: e.description });
  }
}
