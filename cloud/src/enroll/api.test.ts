/**
 * The enrollment API over HTTP on 127.0.0.1 (the service on the fake clock, an in-memory key register, the real SCD
 * on SQLite): who may issue tokens (installer 201, other roles 403, no bearer 401), the public domain and enroll
 * routes, and each refusal's status and code, with nothing registered by any of them.
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePrivateKey, lightNodeDomain, privateKeySigner, type Signer } from '@lightnode/protocols';
import { FakeClock } from '@lightnode/protocols/testing';
import { Auth, parseCredentials } from '../http/auth.js';
import { listen } from '../http/server.js';
import { ScdService } from '../scd/service.js';
import { openSqlite } from '../scd/sql.js';
import { ScdStore } from '../scd/store.js';
import { generateCredentials } from '../stack.js';
import { FakeKeyRegistrar, enrollRequest } from '../testing/enroll.js';
import { createEnrollServer } from './api.js';
import { EnrollService } from './service.js';
import { EnrollStore } from './store.js';

const POD = 'IT002E61899978';
const SERIAL = 'LN-2026-000123';
const domain = lightNodeDomain(31337, '0x5FbDB2315678afecb367f032d93F642f64180aa3');
const dir = mkdtempSync(join(tmpdir(), 'ln-enroll-api-'));
const clock = new FakeClock();
const chain = new FakeKeyRegistrar();
let url: string;
let tokens: Record<string, string>;
let scd: ScdService;
let stop: () => Promise<void>;

test.before(async () => {
  const db = openSqlite(join(dir, 'scd.sqlite'));
  const scdStore = new ScdStore(db);
  await scdStore.init();
  const gen = generateCredentials();
  tokens = gen.tokens;
  const auth = new Auth(gen.credentials, clock);
  scd = new ScdService(scdStore, { clock, platforms: auth.platforms });
  const store = new EnrollStore(db);
  await store.init();
  const server = createEnrollServer(new EnrollService({ store, chain, scd, domain, clock }), auth);
  url = await listen(server);
  stop = async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await scdStore.close();
  };
});
test.after.always(async () => {
  await stop?.();
  rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  body: { error?: { code: string; message: string; field?: string } } & Record<string, unknown>;
}
async function call(method: string, path: string, who: string | null, body?: unknown): Promise<Answer> {
  const r = await fetch(`${url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(who ? { authorization: `Bearer ${tokens[who]}` } : {}) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: r.status, body: (await r.json()) as Answer['body'] };
}
async function issue(ttlS?: number, podId = POD): Promise<string> {
  const r = await call('POST', '/enroll/tokens', 'INSTALLER-1', { serial: SERIAL, podId, ...(ttlS ? { ttlS } : {}) });
  if (r.status !== 201) throw new Error(JSON.stringify(r.body));
  return r.body.token as string;
}
const req = (token: string, s: Signer, o: Omit<Parameters<typeof enrollRequest>[3], 'domain'> = {}) =>
  enrollRequest(token, s, { serial: SERIAL, podId: POD, atMs: clock.now() }, { domain, ...o });
const newKey = (): Signer => privateKeySigner(generatePrivateKey());

test.serial('POST /enroll/tokens: installer 201; other roles 403; no bearer 401; bad body 400', async (t) => {
  t.is((await call('POST', '/enroll/tokens', null, { serial: SERIAL, podId: POD })).status, 401);
  for (const who of ['ACEAE', 'dso', 'bal', 'enroll']) {
    const r = await call('POST', '/enroll/tokens', who, { serial: SERIAL, podId: POD });
    t.is(r.status, 403, who);
    t.regex(r.body.error!.message, /may not issue enrollment tokens \(installers do/);
  }
  const ok = await call('POST', '/enroll/tokens', 'INSTALLER-1', { serial: SERIAL, podId: POD, ttlS: 60 });
  t.is(ok.status, 201, JSON.stringify(ok.body));
  t.like(ok.body, { serial: SERIAL, podId: POD, expiresAtMs: clock.now() + 60_000, domain });
  const bad = await call('POST', '/enroll/tokens', 'INSTALLER-1', { serial: SERIAL, podId: POD, ttlS: 901 });
  t.like(bad, { status: 400, body: { error: { code: 'SCHEMA_INVALID', field: 'ttlS' } } });
  const pod = await call('POST', '/enroll/tokens', 'INSTALLER-1', { serial: SERIAL, podId: 'IT0' });
  t.like(pod, { status: 400, body: { error: { code: 'POD_INVALID', field: 'podId' } } });
  t.regex(pod.body.error!.message, /expected IT \+ 3-digit distributor code/);
  t.is((await call('POST', '/enroll/tokens', 'INSTALLER-1', { serial: 'with space', podId: POD })).status, 400);
});

test.serial('GET /enroll/domain needs no bearer', async (t) => {
  const r = await call('GET', '/enroll/domain', null);
  t.is(r.status, 200);
  t.deepEqual(r.body, { ...domain });
});

test.serial('POST /enroll: 201 without a bearer; every refusal its status and code; nothing registered', async (t) => {
  const dev = newKey();
  const token = await issue();
  const refuse = async (body: unknown, status: number, code: string): Promise<void> => {
    const before = chain.registrations;
    const r = await call('POST', '/enroll', null, body);
    t.is(r.status, status, JSON.stringify(r.body));
    t.is(r.body.error?.code, code);
    t.is(chain.registrations, before, `${code}: nothing registered`);
  };
  await refuse(req('no-such-token', dev), 401, 'ENROLL_TOKEN_UNKNOWN');
  await refuse(
    req(token, dev, { over: { serial: 'LN-X' }, message: { serial: 'LN-X' } }),
    403,
    'ENROLL_TOKEN_MISMATCH',
  );
  await refuse(req(token, dev, { signWith: newKey() }), 400, 'ENROLL_PROOF_INVALID');
  await refuse(req(token, dev, { over: { podId: 'XX' } }), 400, 'POD_INVALID');
  await refuse({ ...req(token, dev), publicKey: dev.publicKey }, 400, 'SCHEMA_INVALID');
  await refuse('{"token":', 400, 'DECODE_ERROR');
  t.is(await scd.store.podOfDevice(dev.address), undefined);

  const ok = await call('POST', '/enroll', null, req(token, dev));
  t.is(ok.status, 201, JSON.stringify(ok.body));
  t.deepEqual(ok.body, {
    deviceId: dev.address,
    podId: POD,
    aggregator: 'ACEAE',
    txHash: chain.keys.get(dev.address)!.txHash,
  });
  await refuse(req(token, dev), 409, 'ENROLL_TOKEN_USED');

  const short = await issue(5);
  await clock.advance(5_000);
  await refuse(req(short, newKey()), 410, 'ENROLL_TOKEN_EXPIRED');
});

test('credentials: an installer names its aggregator platform; no other role carries one', (t) => {
  const base = [{ id: 'ACEAE', role: 'aggregator' }];
  t.notThrows(() => parseCredentials({ platforms: [...base, { id: 'I', role: 'installer', aggregator: 'ACEAE' }] }));
  t.throws(() => parseCredentials({ platforms: [...base, { id: 'I', role: 'installer' }] }), {
    message: /CONFIG_INVALID: credentials: platforms\.1\.aggregator: expected the id of an aggregator platform/,
  });
  t.throws(() => parseCredentials({ platforms: [...base, { id: 'I', role: 'installer', aggregator: 'I' }] }), {
    message: /platforms\.1\.aggregator/,
  });
  t.throws(() => parseCredentials({ platforms: [{ id: 'A', role: 'aggregator', aggregator: 'A' }] }), {
    message: /platforms\.0\.aggregator: expected only on an installer/,
  });
});
