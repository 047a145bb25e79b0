/**
 * The enrollment service on the fake clock, an in-memory key register and the real SCD service (SQLite): tokens
 * expire, are single use and revoked by five refusals; foreign, forged and malformed requests are refused with their
 * codes, and after each refusal nothing is on the register and nothing bound in the SCD.
 */
import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  generatePrivateKey,
  lightNodeDomain,
  privateKeySigner,
  type Enrollment,
  type ErrorCode,
  type Signer,
  tokenHash,
} from '@lightnode/protocols';
import { FakeClock } from '@lightnode/protocols/testing';
import { Auth } from '../http/auth.js';
import { ScdService } from '../scd/service.js';
import { openSqlite } from '../scd/sql.js';
import { ScdStore } from '../scd/store.js';
import { generateCredentials } from '../stack.js';
import { FakeKeyRegistrar, enrollRequest } from '../testing/enroll.js';
import type { EnrollRequest } from './check.js';
import { EnrollService, type DeviceBinder } from './service.js';
import { EnrollStore } from './store.js';

const POD = 'IT002E61899978';
const SERIAL = 'LN-2026-000123';
const domain = lightNodeDomain(31337, '0x5FbDB2315678afecb367f032d93F642f64180aa3');
const dir = mkdtempSync(join(tmpdir(), 'ln-enroll-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

type RequestChanges = { over?: Partial<EnrollRequest>; message?: Partial<Enrollment>; signWith?: Signer };

interface World {
  svc: EnrollService;
  chain: FakeKeyRegistrar;
  scd: ScdService;
  store: EnrollStore;
  clock: FakeClock;
  installer: { id: string; role: 'installer'; aggregator: string };
  token(o?: { serial?: string; podId?: string; ttlS?: number }): Promise<string>;
  request(token: string, s: Signer, o?: RequestChanges): EnrollRequest;
}

let n = 0;
async function world(o: { binder?: (scd: ScdService) => DeviceBinder } = {}): Promise<World> {
  const db = openSqlite(join(dir, `w${n++}.sqlite`));
  const scdStore = new ScdStore(db);
  await scdStore.init();
  const clock = new FakeClock();
  const auth = new Auth(generateCredentials().credentials, clock);
  const scd = new ScdService(scdStore, { clock, platforms: auth.platforms });
  const store = new EnrollStore(db);
  await store.init();
  const chain = new FakeKeyRegistrar();
  const svc = new EnrollService({ store, chain, scd: o.binder?.(scd) ?? scd, domain, clock });
  const installer = { id: 'INSTALLER-1', role: 'installer' as const, aggregator: 'ACEAE' };
  return {
    svc,
    chain,
    scd,
    store,
    clock,
    installer,
    token: async (t = {}) =>
      (
        await svc.issueToken(installer, {
          serial: t.serial ?? SERIAL,
          podId: t.podId ?? POD,
          ...(t.ttlS ? { ttlS: t.ttlS } : {}),
        })
      ).token,
    request: (token, s, r = {}) =>
      enrollRequest(token, s, { serial: SERIAL, podId: POD, atMs: clock.now() }, { domain, ...r }),
  };
}

const newKey = (): Signer => privateKeySigner(generatePrivateKey());

async function refused(
  t: ExecutionContext,
  w: World,
  req: EnrollRequest,
  code: ErrorCode,
  msg?: RegExp,
): Promise<void> {
  const before = w.chain.registrations;
  const e = await t.throwsAsync(w.svc.enroll(req));
  t.is((e as { code?: string }).code, code, e?.message);
  if (msg) t.regex(e.message, msg);
  t.is(w.chain.registrations, before, `${code}: nothing registered on chain`);
  const deviceId = (req.proof.message as Enrollment).deviceId;
  t.is(await w.scd.store.podOfDevice(deviceId), undefined, `${code}: nothing bound in the SCD`);
}

test('a token: issued by an installer for its aggregator, ttl 1–900 s (default 900)', async (t) => {
  const w = await world();
  const now = w.clock.now();
  const issued = await w.svc.issueToken(w.installer, { serial: SERIAL, podId: POD });
  t.like(issued, { serial: SERIAL, podId: POD, expiresAtMs: now + 900_000, domain });
  t.regex(issued.token, /^lne_[A-Za-z0-9_-]{32}$/);
  t.is((await w.svc.issueToken(w.installer, { serial: SERIAL, podId: POD, ttlS: 1 })).expiresAtMs, now + 1000);
  for (const ttlS of [0, 901, 1.5])
    await t.throwsAsync(w.svc.issueToken(w.installer, { serial: SERIAL, podId: POD, ttlS }), {
      message: /SCHEMA_INVALID: ttlS: expected an integer 1\.\.900/,
    });
  await t.throwsAsync(w.svc.issueToken(w.installer, { serial: SERIAL, podId: 'IT02E1' }), {
    message: /POD_INVALID: podId: expected IT \+ 3-digit distributor code.*received "IT02E1"/,
  });
  await t.throwsAsync(w.svc.issueToken({ id: 'ACEAE', role: 'aggregator' }, { serial: SERIAL, podId: POD }), {
    message: /FORBIDDEN: ACEAE \(aggregator\) may not issue enrollment tokens/,
  });
  await w.scd.registerPod({ id: 'ACEAE_2', role: 'aggregator' }, { podId: 'IT002E60550189' });
  await t.throwsAsync(w.svc.issueToken(w.installer, { serial: SERIAL, podId: 'IT002E60550189' }), {
    message: /FORBIDDEN: .*IT002E60550189 for ACEAE: it belongs to another aggregator/,
  });
  t.is(await w.store.count(), 2, 'refused requests issue no token');
});

test('enrolled: registered on chain and bound to the PoD for the installer’s aggregator; a replay is USED', async (t) => {
  const w = await world();
  const dev = newKey();
  const token = await w.token();
  const r = await w.svc.enroll(w.request(token, dev));
  t.deepEqual(r, {
    deviceId: dev.address,
    podId: POD,
    aggregator: 'ACEAE',
    txHash: w.chain.keys.get(dev.address)!.txHash,
  });
  t.is(w.chain.keys.get(dev.address)?.publicKey, `0x04${dev.publicKey!.slice(2)}`);
  t.like(await w.scd.store.pod(POD), { aggregator: 'ACEAE', deviceId: dev.address });
  t.truthy((await w.store.get(tokenHash(token)))?.usedMs);
  const before = w.chain.registrations;
  await t.throwsAsync(w.svc.enroll(w.request(token, dev)), { message: /ENROLL_TOKEN_USED: .*already used/ });
  const other = newKey();
  await refused(t, w, w.request(token, other), 'ENROLL_TOKEN_USED');
  t.is(w.chain.registrations, before);
  t.is((await w.scd.store.pod(POD))?.deviceId, dev.address, 'the binding stays');
});

test('expiry on the clock: usable until expiresAtMs, then ENROLL_TOKEN_EXPIRED and nothing registered', async (t) => {
  const w = await world();
  const token = await w.token({ ttlS: 10 });
  await w.clock.advance(10_000);
  await refused(t, w, w.request(token, newKey()), 'ENROLL_TOKEN_EXPIRED', /expired at 2021-06-22T22:00:10\.000Z/);
  const fresh = await w.token({ ttlS: 10 });
  await w.clock.advance(9_999);
  t.like(await w.svc.enroll(w.request(fresh, newKey())), { podId: POD });
});

test('unknown token → ENROLL_TOKEN_UNKNOWN; foreign serial or PoD → ENROLL_TOKEN_MISMATCH; bad PoD → POD_INVALID', async (t) => {
  const w = await world();
  const dev = newKey();
  await refused(t, w, w.request('not-a-token', dev), 'ENROLL_TOKEN_UNKNOWN', /unknown/);
  const token = await w.token();
  const other = { serial: 'LN-2026-999999', podId: 'IT002E60550189' };
  await refused(
    t,
    w,
    w.request(token, dev, { over: { serial: other.serial }, message: { serial: other.serial } }),
    'ENROLL_TOKEN_MISMATCH',
    /serial LN-2026-999999 is not the serial/,
  );
  await refused(
    t,
    w,
    w.request(token, dev, { over: { podId: other.podId }, message: { podId: other.podId } }),
    'ENROLL_TOKEN_MISMATCH',
    /PoD IT002E60550189 is not the PoD/,
  );
  await refused(
    t,
    w,
    w.request(token, dev, { over: { podId: 'IT002X1' } }),
    'POD_INVALID',
    /podId: expected IT .*received "IT002X1"/,
  );
  t.is(await w.scd.store.pod(POD), undefined, 'the PoD not even registered');
  t.like(
    await w.svc.enroll(w.request(token, dev)),
    { deviceId: dev.address },
    'the token still works after 3 refusals',
  );
});

test('forged proofs → ENROLL_PROOF_INVALID: another key, deviceId ≠ publicKey, fields ≠ body, wrong tokenHash', async (t) => {
  const w = await world();
  const dev = newKey();
  const thief = newKey();
  const token = await w.token();
  const cases: [string, EnrollRequest, RegExp][] = [
    ['signed by another key', w.request(token, dev, { signWith: thief }), /signed by 0x[0-9a-f]{40}, expected/],
    [
      'deviceId not the key’s',
      w.request(token, thief, { over: { publicKey: `0x04${dev.publicKey!.slice(2)}` } }),
      /message\.deviceId .* is not the address of publicKey/,
    ],
    [
      'message serial ≠ body',
      w.request(token, dev, { message: { serial: 'LN-OTHER' } }),
      /message\.serial "LN-OTHER" ≠ the request's/,
    ],
    ['message PoD ≠ body', w.request(token, dev, { message: { podId: 'IT002E60550189' } }), /message\.podId/],
    [
      'tokenHash of another token',
      w.request(token, dev, { message: { tokenHash: `0x${'ab'.repeat(32)}` } }),
      /tokenHash .* is not the keccak256 of the token/,
    ],
  ];
  for (const [what, req, msg] of cases.slice(0, 4)) {
    t.log(what);
    await refused(t, w, req, 'ENROLL_PROOF_INVALID', msg);
  }
  t.falsy((await w.store.get(tokenHash(token)))?.revokedMs);
  t.is((await w.store.get(tokenHash(token)))?.failures, 4);
  // the fifth refusal revokes the token: even the genuine request is then refused
  await refused(t, w, cases[4]![1], 'ENROLL_PROOF_INVALID', /5 refused attempts: the token is revoked/);
  await refused(t, w, w.request(token, dev), 'ENROLL_TOKEN_UNKNOWN', /revoked after 5 refused attempts/);
  t.is(w.chain.keys.size, 0);
  t.is(await w.scd.store.pod(POD), undefined);
});

test('five refusals of any kind revoke a token; the message counts them', async (t) => {
  const w = await world();
  const dev = newKey();
  const token = await w.token();
  for (let i = 1; i <= 4; i++)
    await refused(
      t,
      w,
      w.request(token, dev, { over: { serial: `X-${i}` }, message: { serial: `X-${i}` } }),
      'ENROLL_TOKEN_MISMATCH',
      new RegExp(`refused attempt ${i} of 5`),
    );
  await refused(t, w, w.request(token, dev, { over: { podId: 'bad' } }), 'POD_INVALID', /the token is revoked/);
  await refused(t, w, w.request(token, dev), 'ENROLL_TOKEN_UNKNOWN', /revoked/);
});

test('a key already on the register → CONFLICT before anything; the token stays usable', async (t) => {
  const w = await world();
  const dev = newKey();
  await w.chain.registerDevice(dev.address, `0x04${dev.publicKey!.slice(2)}`);
  const token = await w.token();
  await refused(t, w, w.request(token, dev), 'CONFLICT', /already in the key register/);
  t.like(await w.svc.enroll(w.request(token, newKey())), { podId: POD });
});

test('SCD binding fails after the chain registration: said in the error, token kept, a retry binds without registering again', async (t) => {
  let failures = 1;
  const w = await world({
    binder: (scd) => ({
      bindDevice: (caller, podId, b, dryRun) => {
        if (!dryRun && failures-- > 0) return Promise.reject(new Error('SCD database locked'));
        return scd.bindDevice(caller, podId, b, dryRun);
      },
    }),
  });
  const dev = newKey();
  const token = await w.token();
  const e = await t.throwsAsync(w.svc.enroll(w.request(token, dev)));
  t.regex(
    e.message,
    /IO_ERROR: device 0x[0-9a-f]{40} is registered on chain \(transaction 0x0+1\) but binding it to PoD IT002E61899978 in the SCD failed \(SCD database locked\): the token is not consumed, retry POST \/enroll with the same token/,
  );
  t.is(w.chain.registrations, 1);
  t.is(await w.scd.store.pod(POD), undefined);
  await t.throwsAsync(w.svc.enroll(w.request(token, newKey())), {
    message: /ENROLL_TOKEN_USED: this token already registered device/,
  });
  const r = await w.svc.enroll(w.request(token, dev));
  t.is(r.txHash, `0x${'1'.padStart(64, '0')}`, 'the first registration');
  t.is(w.chain.registrations, 1, 'not registered twice');
  t.like(await w.scd.store.pod(POD), { deviceId: dev.address, aggregator: 'ACEAE' });
  await t.throwsAsync(w.svc.enroll(w.request(token, dev)), { message: /ENROLL_TOKEN_USED/ });
});
