/**
 * The SCD contract suite: the same tests on every store (SQLite in `npm test`, PostgreSQL in the system suite).
 * Write rights (403 with a reason), bad bodies (400 naming the field), credentials (401, OAuth2 client
 * credentials), append-only market outcomes, dedupe on (deviceId, seq), gaps, acks and QoS reports.
 */
import type { ExecutionContext, TestFn } from 'ava';
import { generatePrivateKey, privateKeySigner, systemClock } from '@lightnode/protocols';
import { FakeClock } from '@lightnode/protocols/testing';
import { POD_A, POD_B, sealedBatch, windowOf } from './fixtures.js';
import { scdInputContract, type ScdHarness } from './scd-contract-input.js';
import { scdMessagesContract } from './scd-contract-messages.js';
import { listen } from '../http/server.js';
import { createScdServer } from '../scd/api.js';
import { Auth } from '../http/auth.js';
import { ScdService } from '../scd/service.js';
import type { SqlDb } from '../scd/sql.js';
import { ScdStore } from '../scd/store.js';
import { generateCredentials } from '../stack.js';

export { windowOf, sealedBatch, testGap } from './fixtures.js';

interface Ctx {
  url: string;
  tokens: Record<string, string>;
  secrets: Record<string, string>;
  store: ScdStore;
  /** The clock of the SCD's token issuer (tokens live 2 s). */
  authClock: FakeClock;
  close(): Promise<void>;
}

export function scdContract(test: TestFn, label: string, open: () => Promise<SqlDb>): void {
  let ctx: Ctx;
  const dev = privateKeySigner(generatePrivateKey());

  test.before(async () => {
    const store = new ScdStore(await open());
    await store.init();
    const { credentials, tokens } = generateCredentials();
    const secrets = Object.fromEntries(credentials.platforms.map((p) => [p.id, p.clientSecret!]));
    const authClock = new FakeClock();
    const auth = new Auth(credentials, authClock, 2);
    const scd = new ScdService(store, { clock: systemClock, platforms: auth.platforms });
    const server = createScdServer(scd, auth);
    const url = await listen(server);
    ctx = {
      url,
      tokens,
      secrets,
      store,
      authClock,
      close: async () => {
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
        await store.close();
      },
    };
  });
  test.after.always(async () => ctx?.close());

  const call = async (
    method: string,
    path: string,
    who: string | null,
    body?: unknown,
  ): Promise<{
    status: number;
    body: { error?: { code: string; message: string; field?: string } } & Record<string, unknown>;
  }> => {
    const r = await fetch(`${ctx.url}${path}`, {
      method,
      headers: {
        'content-type': 'application/json',
        ...(who ? { authorization: `Bearer ${ctx.tokens[who] ?? who}` } : {}),
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    return { status: r.status, body: (await r.json()) as never };
  };

  const forbidden = (t: ExecutionContext, r: Awaited<ReturnType<typeof call>>, reason: RegExp): void => {
    t.is(r.status, 403, JSON.stringify(r.body));
    t.is(r.body.error?.code, 'FORBIDDEN');
    t.regex(r.body.error?.message ?? '', reason);
  };
  const bad = (t: ExecutionContext, r: Awaited<ReturnType<typeof call>>, field: string): void => {
    t.is(r.status, 400, JSON.stringify(r.body));
    t.is(r.body.error?.field, field, JSON.stringify(r.body));
    t.true(r.body.error!.message.includes(field));
  };

  test.serial(`${label}: credentials — none, unknown, bearer tokens and OAuth2 client credentials`, async (t) => {
    t.is((await call('GET', '/pods', null)).status, 401);
    t.is((await call('GET', '/pods', 'not-a-token')).status, 401);
    t.is((await call('GET', '/pods', 'ACEAE')).status, 200);
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: 'ACEAE',
      client_secret: ctx.secrets.ACEAE!,
    });
    const r = await fetch(`${ctx.url}/oauth/token`, { method: 'POST', body: form });
    t.is(r.status, 200);
    const tok = (await r.json()) as { access_token: string; token_type: string; expires_in: number };
    t.is(tok.token_type, 'Bearer');
    t.is((await call('GET', '/pods', tok.access_token)).status, 200);
    const wrong = await fetch(`${ctx.url}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: 'ACEAE',
        client_secret: 'x'.repeat(20),
      }),
    });
    t.is(wrong.status, 401);
    await ctx.authClock.advance(2001); // this suite's tokens live 2 s
    const expired = await call('GET', '/pods', tok.access_token);
    t.is(expired.status, 401);
    t.regex(expired.body.error!.message, /expired/);
  });

  test.serial(`${label}: PoD registry — aggregators register their own PoDs only`, async (t) => {
    t.is((await call('POST', '/pods', 'ACEAE', { podId: POD_A, deviceId: dev.address })).status, 201);
    t.is((await call('POST', '/pods', 'ACEAE_2', { podId: POD_B })).status, 201);
    forbidden(t, await call('POST', '/pods', 'ACEAE_2', { podId: POD_A }), /belongs to another aggregator/);
    forbidden(
      t,
      await call('POST', '/pods', 'dso', { podId: 'IT002E00000001' }),
      /aggregators register their own PoDs/,
    );
    bad(t, await call('POST', '/pods', 'ACEAE', { podId: 'nope' }), 'podId');
    bad(t, await call('POST', '/pods', 'ACEAE', { podId: POD_A, colour: 'red' }), 'body');
    const notJson = await call('POST', '/pods', 'ACEAE', '{"podId":');
    t.is(notJson.status, 400);
    t.is(notJson.body.error?.code, 'DECODE_ERROR');
    const mine = (await call('GET', '/pods', 'ACEAE')).body as unknown as { podId: string }[];
    t.deepEqual(
      mine.map((p) => p.podId),
      [POD_A],
      'each aggregator reads only its own PoDs',
    );
    t.is(((await call('GET', '/pods', 'dso')).body as unknown as unknown[]).length, 2);
  });

  test.serial(`${label}: PoD–PoM association — the DSO platform only`, async (t) => {
    const ok = await call('PUT', `/pods/${POD_A}/pom`, 'dso', { pomId: 'POM-RM-0042' });
    t.is(ok.status, 200);
    forbidden(t, await call('PUT', `/pods/${POD_A}/pom`, 'ACEAE', { pomId: 'X' }), /only the DSO platform/);
    forbidden(t, await call('PUT', `/pods/${POD_A}/pom`, 'market', { pomId: 'X' }), /only the DSO platform/);
    bad(t, await call('PUT', `/pods/${POD_A}/pom`, 'dso', { pomId: '' }), 'pomId');
    t.is((await call('PUT', '/pods/IT002E99999999/pom', 'dso', { pomId: 'P' })).status, 404);
    t.is((await ctx.store.pod(POD_A))?.pomId, 'POM-RM-0042');
  });

  test.serial(`${label}: baselines — an aggregator updates its own PoDs' baselines`, async (t) => {
    const day = Array.from({ length: 96 }, (_, i) => 1000 + i);
    t.is((await call('PUT', `/pods/${POD_A}/baseline`, 'ACEAE', { day: '2021-06-23', slotsW: day })).status, 200);
    t.is(
      (await call('PUT', `/pods/${POD_A}/baseline`, 'ACEAE', { day: '2021-06-23', slotsW: day.map((x) => x + 1) }))
        .status,
      200,
    );
    forbidden(
      t,
      await call('PUT', `/pods/${POD_A}/baseline`, 'ACEAE_2', { day: '2021-06-23', slotsW: day }),
      /belongs to aggregator/,
    );
    forbidden(
      t,
      await call('PUT', `/pods/${POD_A}/baseline`, 'dso', { day: '2021-06-23', slotsW: day }),
      /aggregators update/,
    );
    bad(t, await call('PUT', `/pods/${POD_A}/baseline`, 'ACEAE', { day: '2024-03-31', slotsW: day }), 'slotsW'); // a 92-slot day
    t.is(
      (await call('PUT', `/pods/${POD_A}/baseline`, 'ACEAE', { day: '2024-03-31', slotsW: day.slice(0, 92) })).status,
      200,
    );
    bad(t, await call('PUT', `/pods/${POD_A}/baseline`, 'ACEAE', { day: '23/06/2021', slotsW: day }), 'day');
    bad(
      t,
      await call('PUT', `/pods/${POD_A}/baseline`, 'ACEAE', { day: '2021-06-23', slotsW: [...day.slice(0, 95), 1.5] }),
      'slotsW.95',
    );
    const got = await call('GET', `/pods/${POD_A}/baseline?day=2021-06-23`, 'dso');
    t.is(got.status, 200);
    t.is((got.body.slotsW as number[])[0], 1001);
    forbidden(t, await call('GET', `/pods/${POD_A}/baseline?day=2021-06-23`, 'ACEAE_2'), /read the baseline/);
  });

  test.serial(`${label}: market outcomes — written by the market, append-only and immutable`, async (t) => {
    const o = {
      id: 'DA-2021-06-23/validated/50/IT002E61899978/DSO',
      session: 'DA-2021-06-23',
      day: '2021-06-23',
      slot: 50,
      podId: POD_A,
      aggregator: 'ACEAE',
      kind: 'validated',
      acceptedPValue: 1278.545,
      acceptedPPrice: 0.03,
      acceptedQValue: null,
      acceptedQPrice: null,
      rejectionTypeP: null,
      playerServiceId: `ACEAE/${POD_A}/dayAhead/2021-06-22T22:00:00.000Z`,
      playerRequestId: 'DSO',
      playerOfferId: 'ACEAE',
    };
    const tso = { ...o, id: 'MKT-B', podId: POD_B, aggregator: 'ACEAE_2', playerRequestId: 'TSO' };
    t.is((await call('POST', '/market-outcomes', 'market', o)).status, 201);
    const batch = await call('POST', '/market-outcomes', 'market', [tso, { ...o, id: 'MKT-M', kind: 'market' }]);
    t.is(batch.status, 201, JSON.stringify(batch.body));
    t.deepEqual(batch.body.ids, ['MKT-B', 'MKT-M']);
    const again = await call('POST', '/market-outcomes', 'market', [
      { ...o, id: 'MKT-NEW' },
      { ...o, acceptedPValue: 1 },
    ]);
    forbidden(t, again, /append-only and immutable/);
    forbidden(t, await call('POST', '/market-outcomes', 'market', { ...o, acceptedPValue: 1 }), /append-only/);
    forbidden(
      t,
      await call('PUT', `/market-outcomes/${encodeURIComponent(o.id)}`, 'market', { ...o, acceptedPValue: 1 }),
      /append-only and immutable/,
    );
    forbidden(t, await call('DELETE', `/market-outcomes/MKT-B`, 'market'), /append-only and immutable/);
    forbidden(t, await call('POST', '/market-outcomes', 'ACEAE', { ...o, id: 'X' }), /only the market/);
    forbidden(t, await call('POST', '/market-outcomes', 'dso', { ...o, id: 'X' }), /only the market/);
    bad(t, await call('POST', '/market-outcomes', 'market', { ...o, id: 'Y', slot: 'fifty' }), 'slot');
    bad(t, await call('POST', '/market-outcomes', 'market', [{ ...o, id: 'Y', kind: 'guess' }]), '0.kind');
    bad(t, await call('POST', '/market-outcomes', 'market', { ...o, id: 'Y', powerKw: 1 }), 'body');
    type Row = { id: string; acceptedPValue: number; createdBy: string };
    const ids = async (who: string, q = ''): Promise<string[]> =>
      ((await call('GET', `/market-outcomes${q}`, who)).body as unknown as Row[]).map((x) => x.id);
    const mine = (await call('GET', '/market-outcomes', 'ACEAE')).body as unknown as Row[];
    t.deepEqual(mine.map((x) => x.id).sort(), [o.id, 'MKT-M'].sort(), "an aggregator reads only its own PoDs' rows");
    const first = mine.find((x) => x.id === o.id)!;
    t.is(first.acceptedPValue, 1278.545, 'unchanged');
    t.is(first.createdBy, 'market');
    t.false((await ids('ACEAE')).includes('MKT-NEW'), 'a refused batch writes nothing');
    t.deepEqual(await ids('ACEAE_2'), ['MKT-B']);
    t.deepEqual((await ids('dso')).sort(), [o.id, 'MKT-M'].sort(), 'dso: its own requests and the market rows');
    t.deepEqual(await ids('tso'), ['MKT-B'], 'tso: only the rows of its own requests');
    t.deepEqual(await ids('dso', '?kind=validated'), [o.id]);
    t.deepEqual(await ids('market', '?session=DA-2021-06-23&kind=market'), ['MKT-M']);
    t.deepEqual(await ids('market', '?session=DA-2099-01-01'), []);
    t.is((await ids('market')).length, 3);
    bad(t, await call('GET', '/market-outcomes?kind=guess', 'market'), 'kind');
  });

  test.serial(`${label}: setpoints — written by the DSO platform`, async (t) => {
    const s = {
      id: 'SP-1',
      podId: POD_A,
      deviceId: dev.address,
      setpoint: { kind: 'setpoint', message: { slot: 50 }, signature: '0x00' },
    };
    t.is((await call('POST', '/setpoints', 'dso', s)).status, 201);
    t.is((await call('POST', '/setpoints', 'dso', s)).status, 409);
    forbidden(t, await call('POST', '/setpoints', 'ACEAE', { ...s, id: 'SP-2' }), /DSO platform dispatches/);
    bad(t, await call('POST', '/setpoints', 'dso', { ...s, id: 'SP-3', podId: 'x' }), 'podId');
    t.is(((await call('GET', '/setpoints', 'ACEAE')).body as unknown as unknown[]).length, 1);
    t.is(((await call('GET', '/setpoints', 'ACEAE_2')).body as unknown as unknown[]).length, 0);
  });

  test.serial(
    `${label}: measurements — written by the BAL only, deduplicated on (deviceId, seq), read by the PoD's aggregator`,
    async (t) => {
      const w1 = windowOf([sealedBatch(dev, 0, 60), sealedBatch(dev, 60, 60)]);
      forbidden(t, await call('POST', '/ingest', 'ACEAE', w1), /only the BAL/);
      const r1 = await call('POST', '/ingest', 'bal', w1);
      t.is(r1.status, 200, JSON.stringify(r1.body));
      t.like(r1.body, { batches: 2, samplesStored: 120, samplesDuplicate: 0 });
      // the same samples again (a redelivery, or a second BAL instance in another window)
      const r2 = await call(
        'POST',
        '/ingest',
        'bal',
        windowOf([sealedBatch(dev, 60, 60), sealedBatch(dev, 150, 30)], 'bal-2'),
      );
      t.like(r2.body, { batches: 2, samplesStored: 30, samplesDuplicate: 60 });
      bad(
        t,
        await call('POST', '/ingest', 'bal', { ...w1, anchor: { ...w1.anchor, txHash: 'nope' } }),
        'anchor.txHash',
      );
      const broken = windowOf([sealedBatch(dev, 200, 5)]);
      broken.batches[0]!.path = [`0x${'00'.repeat(32)}`];
      const rb = await call('POST', '/ingest', 'bal', broken);
      t.is(rb.status, 400);
      t.is(rb.body.error?.code, 'PROOF_INVALID');

      const m = await call('GET', `/measurements?podId=${POD_A}&limit=500`, 'ACEAE');
      t.is((m.body as unknown as unknown[]).length, 150);
      forbidden(t, await call('GET', `/measurements?podId=${POD_A}`, 'ACEAE_2'), /read the measurements/);
      bad(t, await call('GET', '/measurements', 'ACEAE'), 'podId');
      bad(t, await call('GET', `/measurements?podId=${POD_A}&limit=-1`, 'ACEAE'), 'limit');
      const g = await call('GET', `/gaps/${dev.address}`, 'ACEAE');
      t.deepEqual(g.body.gaps, [{ firstSeq: 120, lastSeq: 149, declared: false }]);
      const p = await call('GET', `/proof/${dev.address}/61`, 'ACEAE');
      t.is(p.status, 200);
      t.is((p.body as { seq?: number }).seq, 61);
      t.is((p.body as { window?: { root: string } }).window?.root, w1.window.root, 'the first proof is kept');
      t.is((await call('GET', `/proof/${dev.address}/999`, 'ACEAE')).status, 404);
      forbidden(t, await call('GET', `/proof/${dev.address}/61`, 'ACEAE_2'), /read proofs/);
    },
  );

  scdInputContract(test, label, (): ScdHarness => ({ ...ctx, call, dev }));
  scdMessagesContract(test, label, (): ScdHarness => ({ ...ctx, call, dev }));

  test.serial(
    `${label}: the enroller right — binds a device to a PoD for an installer's aggregator only`,
    async (t) => {
      const pod = 'IT002E70000001';
      const [d1, d2] = [generatePrivateKey(), generatePrivateKey()].map((k) => privateKeySigner(k).address);
      const bind = (who: string, podId: string, deviceId: string, aggregator = 'ACEAE') =>
        call('PUT', `/pods/${podId}/device`, who, { deviceId, aggregator });
      const r = await bind('enroll', pod, d1!);
      t.is(r.status, 200, JSON.stringify(r.body));
      t.like(r.body, { status: 'created', podId: pod, deviceId: d1, aggregator: 'ACEAE' });
      t.like(await ctx.store.pod(pod), { aggregator: 'ACEAE', deviceId: d1 }, 'a new PoD becomes the aggregator’s');
      t.like((await bind('enroll', pod, d1!)).body, { status: 'unchanged' });
      forbidden(t, await bind('enroll', POD_B, d2!), /belongs to another aggregator/);
      forbidden(t, await bind('enroll', pod, d2!, 'dso'), /not an aggregator platform/);
      for (const who of ['ACEAE', 'INSTALLER-1', 'dso', 'bal'])
        forbidden(t, await bind(who, pod, d2!), /only the enrollment service/);
      const elsewhere = await bind('enroll', POD_A, d1!);
      t.is(elsewhere.status, 409);
      t.regex(elsewhere.body.error!.message, new RegExp(`already bound to PoD ${pod}`));
      bad(t, await bind('enroll', pod, 'nope'), 'deviceId');
      bad(t, await bind('enroll', 'nope', d2!), 'podId');
      t.is((await ctx.store.pod(POD_B))?.deviceId, undefined, 'nothing bound by a refusal');
      t.is((await ctx.store.pod(POD_A))?.deviceId, dev.address);
      for (const who of ['INSTALLER-1', 'enroll']) {
        t.is((await call('GET', '/pods', who)).status, 403, `${who} reads no PoDs`);
        t.is((await call('GET', `/measurements?podId=${pod}`, who)).status, 403, `${who} reads no measurements`);
      }
      const rebound = await bind('enroll', pod, d2!);
      t.like(rebound.body, { status: 'updated', deviceId: d2 }, 'a replaced device is re-bound');
    },
  );

  test.serial(`${label}: unknown routes and methods`, async (t) => {
    t.is((await call('GET', '/nope', 'dso')).status, 404);
    t.is((await call('DELETE', '/pods', 'dso')).status, 405);
  });
}
