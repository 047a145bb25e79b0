/**
 * A JSON API over node:http from a route table: bearer authentication, role check, body limit and schema, then the
 * handler; every error answers `{error: {code, message, field?}}` with the status its code maps to (errors.ts).
 * `POST /oauth/token` (client credentials) and `GET /health` are built in and need no token; neither do the routes
 * declared `public`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { LightNodeError, invalidField, silentLogger, type Logger } from '@lightnode/protocols';
import type { Auth } from './auth.js';
import { DEFAULT_BODY_LIMIT, parseBody, parseJson, readBody } from './body.js';
import { asLightNodeError, errorBody, httpStatusOf, sendJson } from './errors.js';
import { handleTokenRequest } from './oauth.js';
import { Router, checkRole, type AnyRoute } from './router.js';

export interface ApiServerOptions {
  routes: readonly AnyRoute[];
  auth: Auth;
  /** `GET /health` body (no token needed). */
  health?: () => Promise<unknown>;
  log?: Logger;
  /** Name in log lines (default "API"). */
  name?: string;
}

function requestUrl(req: IncomingMessage): URL {
  try {
    return new URL(req.url ?? '/', 'http://api');
  } catch {
    throw invalidField('SCHEMA_INVALID', 'path', 'a request path', req.url);
  }
}

export function createApiServer(o: ApiServerOptions): Server {
  const router = new Router(o.routes);
  const log = o.log ?? silentLogger;
  const name = o.name ?? 'API';

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = requestUrl(req);
    const method = req.method ?? 'GET';
    if (method === 'GET' && url.pathname === '/health' && o.health) return sendJson(res, 200, await o.health());
    if (method === 'POST' && url.pathname === '/oauth/token') return handleTokenRequest(req, res, o.auth);
    const m = router.match(method, url.pathname);
    if (!m) throw new LightNodeError('NOT_FOUND', `no route ${url.pathname}`, {});
    if (!('route' in m))
      return sendJson(
        res,
        405,
        {
          error: {
            code: 'METHOD_NOT_ALLOWED',
            message: `${method} ${url.pathname}: use ${m.allowed.join(' | ')}`,
          },
        },
        { allow: m.allowed.join(', ') },
      );
    const r = m.route;
    const caller = r.public ? undefined : o.auth.authenticate(req.headers.authorization);
    if (!r.public) checkRole(r, caller!);
    let body: unknown;
    if (r.body) {
      const text = (await readBody(req, r.maxBodyBytes ?? DEFAULT_BODY_LIMIT)).toString('utf8');
      body = parseJson(text);
      if (r.body !== 'json') body = parseBody(r.body, body);
    }
    const ctx = { params: m.params, query: url.searchParams, body };
    const result = await (r.public ? r.handle(ctx) : r.handle({ ...ctx, caller: caller! }));
    sendJson(res, r.status ?? 200, result);
  };

  return createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      const err = asLightNodeError(e);
      const status = httpStatusOf(err.code);
      if (status >= 500) log.error(`${name} request failed`, { url: req.url, error: err.message });
      else log.debug(`${name} request refused`, { url: req.url, status, code: err.code });
      if (res.headersSent) return void res.end();
      // an unread or partly read body: close the connection after the answer rather than parse the rest
      sendJson(res, status, errorBody(err), req.complete ? {} : { connection: 'close' });
    });
  });
}

/** Starts a server on loopback (port 0 = any free port); resolves to its URL. */
export async function listen(server: Server, port = 0, host = '127.0.0.1'): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const a = server.address();
  return `http://${host}:${typeof a === 'object' && a ? a.port : port}`;
}
