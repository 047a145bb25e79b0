/**
 * The SCD's REST API (node:http, JSON). Errors are `{error: {code, message, field?}}` with the status their code
 * maps to: SCHEMA_INVALID/DECODE_ERROR/PROOF_INVALID 400, UNAUTHORIZED 401, FORBIDDEN 403, NOT_FOUND 404,
 * CONFLICT 409, anything else 500.
 *
 *   POST /oauth/token                      client credentials → bearer token
 *   GET  /health
 *   POST /pods                 aggregator  register / update one of its PoDs
 *   GET  /pods                             own PoDs (aggregator) or all (dso, tso, market)
 *   PUT  /pods/{podId}/pom     dso         PoD–PoM association
 *   PUT  /pods/{podId}/baseline aggregator its PoD's baseline for a market day
 *   GET  /pods/{podId}/baseline?day=
 *   POST /setpoints            dso         GET /setpoints
 *   POST /market-outcomes      market      append-only; PUT/PATCH/DELETE /market-outcomes/{id} → 403
 *   GET  /market-outcomes
 *   GET  /measurements?podId=&fromMs=&toMs=&limit=
 *   GET  /proof/{deviceId}/{seq}           the proof document of one sample
 *   GET  /gaps/{deviceId}
 *   POST /ingest               bal         an anchored window;  POST /ingest/gaps  declared gaps
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { LightNodeError, isLightNodeError, silentLogger, type Logger } from '@lightnode/protocols';
import type { GapDelivery, IngestResult, ScdSink, WindowDelivery } from '../delivery.js';
import type { Auth, Platform } from './auth.js';
import type { ScdService } from './service.js';

const STATUS: Record<string, number> = {
  SCHEMA_INVALID: 400,
  DECODE_ERROR: 400,
  PROOF_INVALID: 400,
  INPUT_INVALID: 400,
  VERSION_UNSUPPORTED: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
};

type Handler = (ctx: {
  caller: Platform;
  params: string[];
  query: URLSearchParams;
  body: () => Promise<unknown>;
}) => Promise<unknown>;
interface Route {
  method: string;
  re: RegExp;
  handler: Handler;
  status?: number;
  maxBody?: number;
}

async function readBody(req: IncomingMessage, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > max) throw new LightNodeError('SCHEMA_INVALID', `body: larger than ${max} bytes`, { field: 'body' });
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function jsonBody(req: IncomingMessage, max: number): Promise<unknown> {
  const text = await readBody(req, max);
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new LightNodeError('DECODE_ERROR', `body: not JSON (${(e as Error).message})`, { field: 'body' });
  }
}

export function createScdServer(scd: ScdService, auth: Auth, log: Logger = silentLogger): Server {
  const routes: Route[] = [
    { method: 'POST', re: /^\/pods$/, handler: async (c) => scd.registerPod(c.caller, await c.body()), status: 201 },
    { method: 'GET', re: /^\/pods$/, handler: (c) => scd.listPods(c.caller) },
    {
      method: 'PUT',
      re: /^\/pods\/([^/]+)\/pom$/,
      handler: async (c) => scd.setPom(c.caller, c.params[0]!, await c.body()),
    },
    {
      method: 'PUT',
      re: /^\/pods\/([^/]+)\/baseline$/,
      handler: async (c) => scd.putBaseline(c.caller, c.params[0]!, await c.body()),
    },
    {
      method: 'GET',
      re: /^\/pods\/([^/]+)\/baseline$/,
      handler: (c) => scd.baseline(c.caller, c.params[0]!, c.query.get('day') ?? undefined),
    },
    {
      method: 'POST',
      re: /^\/setpoints$/,
      handler: async (c) => scd.addSetpoint(c.caller, await c.body()),
      status: 201,
    },
    { method: 'GET', re: /^\/setpoints$/, handler: (c) => scd.listSetpoints(c.caller) },
    {
      method: 'POST',
      re: /^\/market-outcomes$/,
      handler: async (c) => scd.addOutcome(c.caller, await c.body()),
      status: 201,
    },
    { method: 'GET', re: /^\/market-outcomes$/, handler: (c) => scd.listOutcomes(c.caller) },
    ...(['PUT', 'PATCH', 'DELETE'] as const).map((method) => ({
      method,
      re: /^\/market-outcomes\/([^/]+)$/,
      handler: (c: { caller: Platform; params: string[] }) =>
        Promise.resolve(scd.modifyOutcome(c.caller, c.params[0]!)),
    })),
    {
      method: 'GET',
      re: /^\/measurements$/,
      handler: (c) =>
        scd.measurements(c.caller, {
          ...(c.query.get('podId') ? { podId: c.query.get('podId')! } : {}),
          ...(c.query.get('fromMs') ? { fromMs: c.query.get('fromMs')! } : {}),
          ...(c.query.get('toMs') ? { toMs: c.query.get('toMs')! } : {}),
          ...(c.query.get('limit') ? { limit: c.query.get('limit')! } : {}),
        }),
    },
    {
      method: 'GET',
      re: /^\/proof\/([^/]+)\/([^/]+)$/,
      handler: (c) => scd.proof(c.caller, c.params[0]!, c.params[1]!),
    },
    { method: 'GET', re: /^\/gaps\/([^/]+)$/, handler: (c) => scd.gaps(c.caller, c.params[0]!) },
    {
      method: 'POST',
      re: /^\/ingest$/,
      handler: async (c) => scd.ingestWindow(c.caller, await c.body()),
      maxBody: 64 << 20,
    },
    { method: 'POST', re: /^\/ingest\/gaps$/, handler: async (c) => scd.ingestGaps(c.caller, await c.body()) },
  ];

  const send = (res: ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://scd');
    const method = req.method ?? 'GET';
    if (method === 'GET' && url.pathname === '/health')
      return send(res, 200, { ok: true, store: scd.store.db.kind, counts: await scd.store.counts() });
    if (method === 'POST' && url.pathname === '/oauth/token') {
      const text = await readBody(req, 16 << 10);
      const ct = req.headers['content-type'] ?? '';
      const form = ct.includes('application/json')
        ? new URLSearchParams(Object.entries(JSON.parse(text || '{}') as Record<string, string>))
        : new URLSearchParams(text);
      if (form.get('grant_type') !== 'client_credentials')
        return send(res, 400, {
          error: 'unsupported_grant_type',
          error_description: 'grant_type: expected client_credentials',
        });
      let id = form.get('client_id') ?? undefined;
      let secret = form.get('client_secret') ?? undefined;
      const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
      if (basic) {
        const [u, p] = Buffer.from(basic[1]!, 'base64').toString('utf8').split(':');
        id = decodeURIComponent(u ?? '');
        secret = decodeURIComponent(p ?? '');
      }
      try {
        return send(res, 200, auth.issueToken(id, secret));
      } catch (e) {
        return send(res, 401, { error: 'invalid_client', error_description: (e as Error).message });
      }
    }
    const candidates = routes.filter((r) => r.re.test(url.pathname));
    if (candidates.length === 0) throw new LightNodeError('NOT_FOUND', `no route ${url.pathname}`, {});
    const route = candidates.find((r) => r.method === method);
    if (!route) {
      res.setHeader('allow', candidates.map((r) => r.method).join(', '));
      return send(res, 405, {
        error: {
          code: 'METHOD_NOT_ALLOWED',
          message: `${method} ${url.pathname}: use ${candidates.map((r) => r.method).join(' | ')}`,
        },
      });
    }
    const caller = auth.authenticate(req.headers.authorization);
    const params = route.re.exec(url.pathname)!.slice(1).map(decodeURIComponent);
    const result = await route.handler({
      caller,
      params,
      query: url.searchParams,
      body: () => jsonBody(req, route.maxBody ?? 1 << 20),
    });
    send(res, route.status ?? 200, result);
  };

  return createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      const err = isLightNodeError(e) ? e : new LightNodeError('INTERNAL', (e as Error)?.message ?? String(e), {});
      const status = STATUS[err.code] ?? 500;
      if (status >= 500) log.error('SCD request failed', { url: req.url, error: err.message });
      else log.debug('SCD request refused', { url: req.url, status, code: err.code });
      if (!res.headersSent)
        send(res, status, {
          error: {
            code: err.code,
            message: err.message,
            ...(typeof err.context.field === 'string' ? { field: err.context.field } : {}),
          },
        });
      else res.end();
    });
  });
}

/** Starts the API on loopback (port 0 = any free port); resolves to its URL. */
export async function listen(server: Server, port = 0, host = '127.0.0.1'): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const a = server.address();
  return `http://${host}:${typeof a === 'object' && a ? a.port : port}`;
}

/** The SCD seen from the BAL over HTTP (`POST /ingest`), with the BAL's bearer token. */
export class HttpScdSink implements ScdSink {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {}
  private async post(path: string, body: unknown): Promise<IngestResult> {
    let r: Response;
    try {
      r = await fetch(`${this.baseUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}` },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (e) {
      throw new LightNodeError(
        'IO_ERROR',
        `SCD ${this.baseUrl} does not answer (${(e as Error).message})`,
        {},
        { cause: e },
      );
    }
    const j = (await r.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
    if (!r.ok)
      throw new LightNodeError(
        'IO_ERROR',
        `SCD ${path}: HTTP ${r.status} ${j.error?.code ?? ''} ${j.error?.message ?? ''}`.trim(),
        { status: r.status },
      );
    return j as IngestResult;
  }
  ingestWindow(d: WindowDelivery): Promise<IngestResult> {
    return this.post('/ingest', d);
  }
  ingestGaps(d: GapDelivery): Promise<IngestResult> {
    return this.post('/ingest/gaps', d);
  }
}
