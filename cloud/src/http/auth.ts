/**
 * Per-platform credentials of the SCD: static bearer tokens and OAuth2 client credentials (RFC 6749 §4.4:
 * `POST /oauth/token` with grant_type=client_credentials → a short-lived bearer token). Secrets are kept as SHA-256
 * digests and compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { LightNodeError, invalidField, type Clock } from '@lightnode/protocols';

/**
 * Platform roles. `installer`: a person commissioning devices for one aggregator (its `aggregator`), who may issue
 * enrollment tokens; `enroller`: the enrollment service, which binds PoD ↔ device in the SCD for an installer's
 * aggregator.
 */
export const ROLES = ['aggregator', 'dso', 'tso', 'market', 'bal', 'installer', 'enroller'] as const;
export type Role = (typeof ROLES)[number];

export interface Platform {
  id: string;
  role: Role;
  /** The aggregator an installer works for (role `installer` only). */
  aggregator?: string;
}

export const CredentialsSchema = z.strictObject({
  platforms: z
    .array(
      z.strictObject({
        id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - (1..64)'),
        role: z.enum(ROLES),
        /** Role `installer`: the id of the aggregator platform it works for. */
        aggregator: z.string().min(1).max(64).optional(),
        token: z.string().min(16, 'at least 16 characters').optional(),
        clientSecret: z.string().min(16, 'at least 16 characters').optional(),
      }),
    )
    .min(1),
});
export type Credentials = z.infer<typeof CredentialsSchema>;

export function parseCredentials(x: unknown, source = 'credentials'): Credentials {
  const r = CredentialsSchema.safeParse(x);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw invalidField('CONFIG_INVALID', `${source}: ${i.path.join('.')}`, i.message, undefined);
  }
  const ids = new Set<string>();
  for (const p of r.data.platforms) {
    if (ids.has(p.id)) throw invalidField('CONFIG_INVALID', `${source}: platforms.id`, 'unique ids', p.id);
    ids.add(p.id);
  }
  r.data.platforms.forEach((p, i) => {
    const field = `${source}: platforms.${i}.aggregator`;
    if (p.role !== 'installer') {
      if (p.aggregator !== undefined) throw invalidField('CONFIG_INVALID', field, 'only on an installer', p.aggregator);
      return;
    }
    const agg = r.data.platforms.find((q) => q.id === p.aggregator);
    if (agg?.role !== 'aggregator')
      throw invalidField('CONFIG_INVALID', field, "the id of an aggregator platform (the installer's)", p.aggregator);
  });
  return r.data;
}

export function loadCredentials(path: string): Credentials {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new LightNodeError('CONFIG_INVALID', `credentials ${path}: ${(e as Error).message}`, { path }, { cause: e });
  }
  try {
    return parseCredentials(JSON.parse(text), path);
  } catch (e) {
    if (e instanceof LightNodeError) throw e;
    throw new LightNodeError('CONFIG_INVALID', `credentials ${path}: not JSON (${(e as Error).message})`, { path });
  }
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export class Auth {
  private readonly tokens: { hash: Buffer; platform: Platform }[] = [];
  private readonly clients = new Map<string, { hash: Buffer; platform: Platform }>();
  private readonly issued = new Map<string, { platform: Platform; expiresMs: number }>();
  readonly platforms: Platform[];

  constructor(
    creds: Credentials,
    private readonly clock: Clock,
    private readonly tokenTtlS = 3600,
  ) {
    const platformOf = (p: Credentials['platforms'][number]): Platform => ({
      id: p.id,
      role: p.role,
      ...(p.aggregator !== undefined ? { aggregator: p.aggregator } : {}),
    });
    this.platforms = creds.platforms.map(platformOf);
    for (const p of creds.platforms) {
      if (p.token) this.tokens.push({ hash: digest(p.token), platform: platformOf(p) });
      if (p.clientSecret) this.clients.set(p.id, { hash: digest(p.clientSecret), platform: platformOf(p) });
    }
  }

  /** The platform behind an `Authorization` header; throws UNAUTHORIZED naming what is wrong. */
  authenticate(header: string | undefined): Platform {
    if (!header) throw new LightNodeError('UNAUTHORIZED', 'no Authorization header: send "Bearer <token>"', {});
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw new LightNodeError('UNAUTHORIZED', 'Authorization: expected "Bearer <token>"', {});
    const h = digest(m[1]!);
    for (const t of this.tokens) if (timingSafeEqual(t.hash, h)) return t.platform;
    const issued = this.issued.get(h.toString('hex'));
    if (issued) {
      if (issued.expiresMs > this.clock.now()) return issued.platform;
      this.issued.delete(h.toString('hex'));
      throw new LightNodeError('UNAUTHORIZED', 'the access token has expired: ask /oauth/token for a new one', {});
    }
    throw new LightNodeError('UNAUTHORIZED', 'unknown bearer token', {});
  }

  /** OAuth2 client credentials grant. */
  issueToken(
    clientId: string | undefined,
    clientSecret: string | undefined,
  ): { access_token: string; token_type: 'Bearer'; expires_in: number } {
    if (!clientId || !clientSecret)
      throw new LightNodeError('UNAUTHORIZED', 'client_id and client_secret are required (body or HTTP Basic)', {});
    const c = this.clients.get(clientId);
    if (!c || !timingSafeEqual(c.hash, digest(clientSecret)))
      throw new LightNodeError('UNAUTHORIZED', `invalid client credentials for ${clientId}`, {});
    const token = randomBytes(32).toString('base64url');
    this.issued.set(digest(token).toString('hex'), {
      platform: c.platform,
      expiresMs: this.clock.now() + this.tokenTtlS * 1000,
    });
    return { access_token: token, token_type: 'Bearer', expires_in: this.tokenTtlS };
  }
}
