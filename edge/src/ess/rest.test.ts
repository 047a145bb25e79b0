import test from 'ava';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLightNodeError } from '@lightnode/protocols';
import { FakeClock } from '@lightnode/protocols/testing';
import { RestEssAdapter } from './rest.js';

interface Seen {
  method: string;
  url: string;
  auth: string | undefined;
  body: string;
}

/** A tiny EMS on 127.0.0.1:0: records requests, answers with `reply`. */
async function ems(t: { teardown(fn: () => unknown): void }, reply: (req: Seen, res: ServerResponse) => void) {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const s = { method: req.method!, url: req.url!, auth: req.headers.authorization, body };
      seen.push(s);
      reply(s, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  );
  const { port } = server.address() as AddressInfo;
  return { seen, server, url: `http://127.0.0.1:${port}/api/ems/` };
}

function tokenFile(content = 'test-token-not-a-secret\n'): string {
  const dir = mkdtempSync(join(tmpdir(), 'ln-rest-'));
  const f = join(dir, 'token');
  writeFileSync(f, content);
  return f;
}

const STATE = { essPowerW: 1500.4, socPermille: 640, productionPowerW: 820, mode: 'remote' };

test('PUT /setpoint {essPowerW, validUntilMs = now + revertS·1000}, GET /state, DELETE /setpoint, with the bearer token', async (t) => {
  const clock = new FakeClock();
  const s = await ems(t, (req, res) => {
    res.writeHead(req.method === 'GET' ? 200 : 204, { 'content-type': 'application/json' });
    res.end(req.method === 'GET' ? JSON.stringify(STATE) : '');
  });
  const a = new RestEssAdapter({ id: 'ems1', url: s.url, tokenFile: tokenFile(), clock });
  await a.start();
  await a.command(-2500, 60);
  t.deepEqual(await a.read(), {
    atMs: clock.now(),
    essPowerW: 1500,
    socPermille: 640,
    productionPowerW: 820,
    mode: 'remote',
  });
  await a.release();
  t.deepEqual(
    s.seen.map((x) => [x.method, x.url, x.auth]),
    [
      ['PUT', '/api/ems/setpoint', 'Bearer test-token-not-a-secret'],
      ['GET', '/api/ems/state', 'Bearer test-token-not-a-secret'],
      ['DELETE', '/api/ems/setpoint', 'Bearer test-token-not-a-secret'],
    ],
  );
  t.deepEqual(JSON.parse(s.seen[0]!.body), { essPowerW: -2500, validUntilMs: clock.now() + 60_000 });
  t.is(s.seen[2]!.body, '');
});

test('a missing or empty token file → CONFIG_INVALID naming the key and the file', async (t) => {
  const clock = new FakeClock();
  const missing = join(mkdtempSync(join(tmpdir(), 'ln-rest-')), 'nope');
  const e = await t.throwsAsync(
    new RestEssAdapter({ id: 'ems1', url: 'http://127.0.0.1:1', tokenFile: missing, clock }).start(),
  );
  t.true(isLightNodeError(e, 'CONFIG_INVALID'));
  t.regex(e.message, /assets\.ems1\.adapter\.rest\.tokenFile: cannot read .*nope \(ENOENT\)/);
  const empty = await t.throwsAsync(
    new RestEssAdapter({ id: 'ems1', url: 'http://127.0.0.1:1', tokenFile: tokenFile(' \n'), clock }).start(),
  );
  t.regex(empty.message, /is empty \(expected a bearer token\)/);
});

test('non-2xx → IO_ERROR with status and body; a bad state → SCHEMA_INVALID naming the field; no server → IO_ERROR', async (t) => {
  const clock = new FakeClock();
  const s = await ems(t, (req, res) => {
    if (req.method === 'PUT') {
      res.writeHead(409, { 'content-type': 'text/plain' });
      res.end('battery in service mode');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ...STATE, socPermille: 1200 }));
  });
  const a = new RestEssAdapter({ id: 'ems1', url: s.url, tokenFile: tokenFile(), clock });
  await a.start();
  const refused = await t.throwsAsync(a.command(100, 60));
  t.true(isLightNodeError(refused, 'IO_ERROR'));
  t.regex(refused.message, /PUT http:\/\/127\.0\.0\.1:\d+\/api\/ems\/setpoint: HTTP 409 "battery in service mode"/);
  const bad = await t.throwsAsync(a.read());
  t.true(isLightNodeError(bad, 'SCHEMA_INVALID'));
  t.regex(bad.message, /state\.socPermille: expected a number in 0\.\.1000 \(‰\), received number 1200/);
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const { port } = closed.address() as AddressInfo;
  await new Promise((resolve) => closed.close(resolve));
  const b = new RestEssAdapter({ id: 'ems1', url: `http://127.0.0.1:${port}`, tokenFile: tokenFile(), clock });
  await b.start();
  const gone = await t.throwsAsync(b.release());
  t.true(isLightNodeError(gone, 'IO_ERROR'));
  t.regex(gone.message, /DELETE .*: ECONNREFUSED/);
});

test('an EMS that does not answer in time → ADAPTER_TIMEOUT', async (t) => {
  const clock = new FakeClock();
  const ctl = new AbortController();
  const s = await ems(t, (_req, res) => {
    // the request arrived: the timeout fires now, the answer never comes
    ctl.abort(new DOMException('timed out', 'TimeoutError'));
    t.teardown(() => res.destroy());
  });
  const a = new RestEssAdapter({ id: 'ems1', url: s.url, tokenFile: tokenFile(), clock, signal: () => ctl.signal });
  await a.start();
  const e = await t.throwsAsync(a.command(100, 60));
  t.true(isLightNodeError(e, 'ADAPTER_TIMEOUT'), String(e));
  t.regex(e.message, /asset ems1: PUT .*\/setpoint: no answer in time/);
});
