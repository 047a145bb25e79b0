/**
 * Acks and QoS reports through the BAL into the SCD (its REST API, `HttpScdSink`): verified against the key register
 * like batches (registered, not revoked, low-s, signer = the device, topic device = message device), forged ones
 * dead-lettered with their reason and never forwarded, duplicates idempotent, a stopped SCD retried, a SEQ_CONFLICT
 * from the SCD dead-lettered; read back with `GET /acks` and `GET /qos`.
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  LightNodeError,
  generatePrivateKey,
  lightNodeDomain,
  privateKeySigner,
  publicKeyFromPrivateKey,
  signAck,
  signQosReport,
  systemClock,
  toHighS,
  toHex,
  fromHex,
  topics,
  verifySigned,
  type Signer,
} from '@lightnode/protocols';
import { FakeClock, TEST_DEVICE_KEY, testSigner } from '@lightnode/protocols/testing';
import type { MessageDelivery, MessageIngestResult, ScdSink } from '../delivery.js';
import { Auth } from '../http/auth.js';
import { listen } from '../http/server.js';
import { createScdServer } from '../scd/api.js';
import { ScdService } from '../scd/service.js';
import { openSqlite } from '../scd/sql.js';
import { ScdStore } from '../scd/store.js';
import { generateCredentials } from '../stack.js';
import { CHAIN, POD_A, REGISTER, TEST_SETPOINT_ID, testAck, testQos } from '../testing/fixtures.js';
import { messageDelivery } from '../testing/scd-contract-messages.js';
import { BalLedger } from './ledger.js';
import { selectRecover } from './recover.js';
import { MemoryKeyRegistry } from './registry.js';
import { HttpScdSink } from './scd-sink.js';
import { Bal, type Anchorer } from './service.js';

const domain = lightNodeDomain(CHAIN, REGISTER);
const dev = testSigner();
const revoked = privateKeySigner(generatePrivateKey());
const stranger = privateKeySigner(generatePrivateKey()); // never registered
const registry = new MemoryKeyRegistry();
registry.register(dev.address, publicKeyFromPrivateKey(TEST_DEVICE_KEY));
registry.register(revoked.address, revoked.publicKey!);
registry.revoke(revoked.address);

const noChain: Anchorer = {
  anchor: () => Promise.reject(new LightNodeError('CHAIN_UNAVAILABLE', 'no chain in this test', {})),
};

let dir: string;
let server: Server;
let store: ScdStore;
let url: string;
let tokens: Record<string, string>;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ln-ack-'));
  store = new ScdStore(openSqlite(join(dir, 'scd.sqlite')));
  await store.init();
  const creds = generateCredentials();
  tokens = creds.tokens;
  const auth = new Auth(creds.credentials, systemClock);
  server = createScdServer(new ScdService(store, { clock: systemClock, platforms: auth.platforms }), auth);
  url = await listen(server);
  const r = await get('/pods', 'ACEAE', {
    method: 'POST',
    body: JSON.stringify({ podId: POD_A, deviceId: dev.address }),
  });
  if (r.status !== 201) throw new Error(`PoD registration: ${r.status}`);
});
test.after.always(async () => {
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function get(path: string, who: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> {
  const r = await fetch(`${url}${path}`, {
    ...init,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[who]}` },
  });
  return { status: r.status, body: await r.json() };
}

const mkBal = (name: string, sink: ScdSink = new HttpScdSink(url, tokens.bal!)): { bal: Bal; ledger: BalLedger } => {
  const ledger = new BalLedger(join(dir, `${name}.sqlite`));
  const bal = new Bal({
    id: `bal-${name}`,
    ledger,
    registry,
    anchorer: noChain,
    sink,
    domain,
    recover: selectRecover('auto').recover,
    clock: new FakeClock(Date.UTC(2021, 5, 23, 12)),
  });
  return { bal, ledger };
};
const json = (x: unknown): Uint8Array => Buffer.from(JSON.stringify(x));
const ack = (s: Signer, seq: number, over = {}) => signAck(testAck(s.address, seq, over), s, domain);

test.serial('a valid ack and QoS report go BAL → SCD and are read back with GET /acks and GET /qos', async (t) => {
  const { bal, ledger } = mkBal('valid');
  const a = ack(dev, 1);
  const q = signQosReport(testQos(dev.address, 2), dev, domain);
  t.like(await bal.ingest(topics.ack(dev.address), json(a)), { status: 'accepted', firstSeq: 1 });
  t.like(await bal.ingest(topics.qos(dev.address), json(q)), { status: 'accepted', firstSeq: 2 });
  await bal.tick();
  t.like(bal.counters, { acksAccepted: 1, qosAccepted: 1, messagesForwarded: 2 });
  t.is(ledger.stats().pendingMessages, 0);

  const acks = await get(`/acks?setpointId=${TEST_SETPOINT_ID}&podId=${POD_A}`, 'ACEAE');
  t.is(acks.status, 200);
  t.like(acks.body, [{ deviceId: dev.address, seq: 1, podId: POD_A, state: 'applied', bal: 'bal-valid' }]);
  const signed = (acks.body as { signed: typeof a }[])[0]!.signed;
  t.deepEqual(signed, a, 'the signed ack as the device sent it');
  t.is(verifySigned(signed, domain).signer, dev.address);
  const qos = await get(`/qos?setpointId=${TEST_SETPOINT_ID}&podId=${POD_A}&fromMs=0&toMs=9999999999999`, 'tso');
  t.like(qos.body, [{ seq: 2, podId: POD_A, deliveredEnergyWh: -29_400, baselineEnergyWh: 5_000 }]);
  t.is((await get(`/acks?podId=${POD_A}`, 'ACEAE_2')).status, 403, "another aggregator's PoD");

  // a redelivery is a duplicate at the BAL; other content for its seq is refused there
  t.like(await bal.ingest(topics.ack(dev.address), json(a)), { status: 'duplicate', firstSeq: 1 });
  const replay = ack(dev, 1, { state: 'expired' });
  t.like(await bal.ingest(topics.ack(dev.address), json(replay)), { status: 'rejected', code: 'SEQ_CONFLICT' });
  await bal.tick();
  t.is(bal.counters.messagesForwarded, 2, 'nothing more forwarded');
  ledger.close();
});

test.serial('forged acks are dead-lettered with their reason and never reach the SCD', async (t) => {
  const { bal, ledger } = mkBal('forged');
  const before = (await store.counts()).acks;
  const good = ack(dev, 10);
  const cases: [string, string, unknown][] = [
    ['SIGNER_MISMATCH', topics.ack(dev.address), { ...good, signature: ack(stranger, 10).signature }],
    ['SIGNER_MISMATCH', topics.ack(dev.address), signAck(testAck(dev.address, 11), stranger, domain)],
    ['DEVICE_UNREGISTERED', topics.ack(stranger.address), ack(stranger, 12)],
    ['DEVICE_REVOKED', topics.ack(revoked.address), ack(revoked, 13)],
    [
      'SIGNATURE_HIGH_S',
      topics.ack(dev.address),
      { ...ack(dev, 14), signature: toHex(toHighS(fromHex(ack(dev, 14).signature))) },
    ],
    ['SCHEMA_INVALID', topics.ack(stranger.address), ack(dev, 15)],
    ['SCHEMA_INVALID', topics.ack(dev.address), { ...good, message: { ...good.message, state: 'done' } }],
    ['SCHEMA_INVALID', topics.qos(dev.address), { ...good, kind: 'qos' }],
    ['DECODE_ERROR', topics.ack(dev.address), '{"kind":"ack"'],
  ];
  for (const [code, topic, payload] of cases) {
    const bytes = typeof payload === 'string' ? Buffer.from(payload) : json(payload);
    const r = await bal.ingest(topic, bytes);
    t.like(r, { status: 'rejected', code }, `${code}: ${JSON.stringify(r)}`);
  }
  await bal.tick();
  const dead = ledger.deadLetters();
  t.deepEqual(
    dead.map((d) => d.code).reverse(),
    cases.map(([c]) => c),
  );
  t.true(dead.every((d) => d.message.length > 0 && d.topic.startsWith('ln/v1/')));
  t.regex(dead[0]!.message, /DECODE_ERROR: ack: payload is not UTF-8 JSON/);
  t.is(bal.counters.messagesForwarded, 0);
  t.is((await store.counts()).acks, before, 'nothing reached the SCD');
  ledger.close();
});

class FlakySink implements ScdSink {
  down = true;
  constructor(private readonly inner: ScdSink) {}
  ingestWindow: ScdSink['ingestWindow'] = (d) => this.inner.ingestWindow(d);
  ingestGaps: ScdSink['ingestGaps'] = (d) => this.inner.ingestGaps(d);
  ingestMessages(d: MessageDelivery): Promise<MessageIngestResult> {
    if (this.down) return Promise.reject(new LightNodeError('IO_ERROR', 'SCD stopped', {}));
    return this.inner.ingestMessages(d);
  }
}

test.serial('a stopped SCD: acks wait in the ledger and are forwarded when it is back', async (t) => {
  const sink = new FlakySink(new HttpScdSink(url, tokens.bal!));
  const { bal, ledger } = mkBal('down', sink);
  t.like(await bal.ingest(topics.ack(dev.address), json(ack(dev, 20))), { status: 'accepted' });
  await bal.tick();
  t.is(ledger.stats().pendingMessages, 1);
  t.true(bal.counters.forwardFailures >= 1);
  sink.down = false;
  await bal.tick();
  t.is(ledger.stats().pendingMessages, 0);
  t.like((await get(`/acks?podId=${POD_A}`, 'dso')).body, [{ seq: 1 }, { seq: 20 }]);
  ledger.close();
});

test.serial(
  "a SEQ_CONFLICT from the SCD (another BAL's copy) is dead-lettered; the others are forwarded",
  async (t) => {
    // another BAL delivered other content for (dev, 30)
    const theirs = ack(dev, 30, { state: 'rejected', reason: 'SETPOINT_EXPIRED' });
    const r = await get('/ingest/messages', 'bal', { method: 'POST', body: JSON.stringify(messageDelivery(theirs)) });
    t.is(r.status, 200);
    const { bal, ledger } = mkBal('conflict');
    t.like(await bal.ingest(topics.ack(dev.address), json(ack(dev, 30))), { status: 'accepted' });
    t.like(await bal.ingest(topics.ack(dev.address), json(ack(dev, 31))), { status: 'accepted' });
    await bal.tick();
    t.like(ledger.deadLetters(), [{ code: 'SEQ_CONFLICT', topic: topics.ack(dev.address), deviceId: dev.address }]);
    t.is(ledger.stats().pendingMessages, 0);
    const stored = (await get(`/acks?podId=${POD_A}&limit=100`, 'dso')).body as { seq: number; state: string }[];
    t.like(
      stored.filter((a) => a.seq >= 30),
      [
        { seq: 30, state: 'rejected' },
        { seq: 31, state: 'applied' },
      ],
    );
    t.like(await bal.ingest(topics.ack(dev.address), json(ack(dev, 30))), { status: 'duplicate' }, 'redelivered');
    ledger.close();
  },
);
