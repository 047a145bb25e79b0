// Remote configuration through the agent, from fakes (FakeLink, FakeSource per configured meter, the real SQLite
// outbox, the fake clock): applied when healthy, rolled back past the deadline, each refusal acked with its code in
// the spec's order, a restart while pending counted as failed, history and status kept across restarts.
import test, { type ExecutionContext } from 'ava';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  lightNodeDomain,
  parseAgentConfig,
  privateKeySigner,
  signConfig,
  topicCodecs,
  verifySigned,
  type AgentConfig,
  type SignedConfig,
  type SignedConfigAck,
} from '@lightnode/protocols';
import { FakeClock, TEST_DEVICE_KEY, TEST_OPERATOR_KEY } from '@lightnode/protocols/testing';
import { writeNewKeyFile } from '../keys/index.js';
import { FakeLink, FakeSource } from '../testing/index.js';
import { LOCAL_KEYS, mergeRemote, protectedKey } from './checks.js';
import { RemoteConfigAgent } from './supervisor.js';

const operator = privateKeySigner(TEST_OPERATOR_KEY);
const device = privateKeySigner(TEST_DEVICE_KEY);
const stranger = privateKeySigner('0x' + '0f'.repeat(31) + '03');
const T0 = 1_780_000_000_000;

/** A meter whose unit is 99 never reads good (the line is "broken"). */
const remote = (unit: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  uplink: { url: 'mqtt://127.0.0.1:1', keepaliveS: 120 },
  lines: [
    { name: 'l', transport: { tcp: { host: '127.0.0.1' } }, meters: [{ id: 'm1', profile: 'eastron/sdm630', unit }] },
  ],
  ...extra,
});

class OfflineLink extends FakeLink {
  override start(): void {} // never connects
}

function rig(t: ExecutionContext, o: { offlineUnit?: number } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'ln-rc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeNewKeyFile(join(dir, 'device.key'), { privateKey: TEST_DEVICE_KEY });
  const base = parseAgentConfig({
    podId: 'IT002E61899978',
    stateDir: dir,
    ...remote(1),
    uplink: { url: 'mqtt://127.0.0.1:1', password: 'local-secret' },
    remoteConfig: { issuers: [operator.address], healthDeadlineS: 30 },
  });
  const clock = new FakeClock(T0);
  const link = new FakeLink(() => clock.now());
  const offline = new OfflineLink(() => clock.now());
  const runs: AgentConfig[] = [];
  const deps = (c: AgentConfig) => {
    runs.push(c);
    const unit = c.lines[0]?.meters[0]?.unit;
    const sources = c.lines.flatMap((l) =>
      l.meters.map((m) => {
        const s = new FakeSource(m.id, clock);
        if (m.unit === 99) s.quality = 'invalid';
        return s;
      }),
    );
    return { clock, sources, link: unit === o.offlineUnit ? offline : link, notifier: null };
  };
  const ra = new RemoteConfigAgent({ base, deps });
  const domain = lightNodeDomain(base.chain.chainId, base.chain.keyRegister);
  const doc = (
    revision: number,
    config = remote(2),
    f: { signer?: typeof operator; issuer?: string; deviceId?: string } = {},
  ) =>
    signConfig(
      config,
      {
        deviceId: f.deviceId ?? device.address,
        revision,
        ...(f.issuer ? { issuer: f.issuer } : {}),
        atMs: clock.now(),
      },
      f.signer ?? operator,
      domain,
    );
  const acks = () =>
    link.sent('report').map((r) => {
      const a = r as unknown as SignedConfigAck;
      verifySigned(a, domain, { expectedSigner: device.address.toLowerCase() });
      return `r${a.message.revision}:${a.message.state}${a.message.reason ? ':' + a.message.reason : ''}`;
    });
  return { dir, base, clock, link, ra, doc, acks, runs, domain };
}

test('local-only keys: named when a remote config sets one, put back from the base file by the merge', (t) => {
  t.is(protectedKey({ uplink: { url: 'x', password: 'p' } }), 'uplink.password');
  t.is(protectedKey({ lines: [] }), undefined);
  const base = parseAgentConfig({
    podId: 'IT002E61899978',
    stateDir: '/s',
    uplink: { url: 'mqtt://a', username: 'u' },
  });
  const m = mergeRemote(base, { uplink: { url: 'mqtt://b' } });
  t.like(m, { podId: 'IT002E61899978', stateDir: '/s', uplink: { url: 'mqtt://b', username: 'u' } });
  t.true(LOCAL_KEYS.includes('remoteConfig'));
});

test('a healthy revision is applied: pipeline restarted on it, current.json, status, one signed ack', async (t) => {
  const r = rig(t);
  await r.ra.start();
  t.is(r.ra.current!.status().config?.state, 'base');
  await r.link.deliver('config', r.doc(1));
  await r.clock.advance(2000);
  t.deepEqual(r.acks(), ['r1:applied']);
  t.is(r.runs.at(-1)!.lines[0]!.meters[0]!.unit, 2);
  t.is(r.runs.at(-1)!.uplink.password, 'local-secret', 'the secret stays the base file’s');
  t.like(r.ra.status(), { revision: 1, state: 'applied', issuer: operator.address.toLowerCase() });
  t.like(r.ra.current!.status().config, { revision: 1, state: 'applied' });
  t.true(existsSync(join(r.dir, 'config', 'current.json')));
  // the retained redelivery (same revision) is ignored
  await r.link.deliver('config', r.doc(1));
  await r.clock.advance(2000);
  t.deepEqual(r.acks(), ['r1:applied']);
  await r.ra.stop();
  // kept across restarts: a new supervisor runs on revision 1
  const again = new RemoteConfigAgent({
    base: r.base,
    deps: () => ({ clock: r.clock, sources: [], link: r.link, notifier: null }),
  });
  await again.start();
  t.is(again.current!.config.lines[0]!.meters[0]!.unit, 2);
  await again.stop();
});

test('a revision that breaks the meter line is rolled back within the deadline, naming the meter', async (t) => {
  const r = rig(t);
  await r.ra.start();
  await r.link.deliver('config', r.doc(3, remote(99)));
  await r.clock.advance(29_000);
  t.is(r.ra.status()!.state, 'pending');
  await r.clock.advance(2000);
  t.deepEqual(r.acks(), ['r3:rolled_back:CONFIG_HEALTH_METERS']);
  t.is(r.runs.at(-1)!.lines[0]!.meters[0]!.unit, 1, 'the previous config is back');
  t.like(r.ra.history().at(-1), { revision: 3, state: 'rolled_back', reason: 'CONFIG_HEALTH_METERS' });
  t.regex(r.ra.history().at(-1)!.detail, /m1/);
  t.is(r.ra.status()!.state, 'base');
  // the bad revision, redelivered, is not tried again; a lower one is stale
  await r.link.deliver('config', r.doc(3, remote(99)));
  await r.link.deliver('config', r.doc(2));
  await r.clock.advance(1000);
  t.deepEqual(r.acks(), ['r3:rolled_back:CONFIG_HEALTH_METERS', 'r2:rejected:CONFIG_REVISION_STALE']);
  await r.ra.stop();
});

test('an uplink that does not connect on the new revision: CONFIG_HEALTH_LINK', async (t) => {
  const r = rig(t, { offlineUnit: 7 });
  await r.ra.start();
  await r.link.deliver('config', r.doc(1, remote(7)));
  await r.clock.advance(31_000);
  t.deepEqual(r.acks(), ['r1:rolled_back:CONFIG_HEALTH_LINK']);
  await r.ra.stop();
});

test('refusals in the spec order, each one signed ack with its code; none moves the revision', async (t) => {
  const r = rig(t);
  await r.ra.start();
  const forged: SignedConfig = { ...r.doc(5), signature: r.doc(5, remote(2), { signer: stranger }).signature };
  const tampered: SignedConfig = { ...r.doc(6), config: remote(4) };
  const cases: [unknown, string][] = [
    ['{"kind":"config"', 'DECODE_ERROR'],
    [{ kind: 'config', message: { revision: 'x' }, config: {}, signature: '0x00' }, 'SCHEMA_INVALID'],
    [forged, 'SIGNER_MISMATCH'],
    [r.doc(5, remote(2), { signer: stranger }), 'CONFIG_ISSUER_UNKNOWN'],
    [r.doc(5, remote(2), { deviceId: stranger.address }), 'CONFIG_DEVICE_MISMATCH'],
    [tampered, 'CONFIG_HASH_MISMATCH'],
    [r.doc(7, remote(2, { stateDir: '/tmp/elsewhere' })), 'CONFIG_KEY_PROTECTED'],
    [r.doc(8, remote(2, { lines: 'none' })), 'CONFIG_INVALID'],
  ];
  for (const [d] of cases)
    await r.link.deliver('config', typeof d === 'string' ? d : topicCodecs.config.encode(d as SignedConfig));
  await r.clock.advance(1000);
  t.deepEqual(
    r.link.sent('report').map((a) => (a as unknown as SignedConfigAck).message.reason),
    cases.map(([, code]) => code),
  );
  const protectedEntry = r.ra.history().find((e) => e.reason === 'CONFIG_KEY_PROTECTED');
  t.regex(protectedEntry!.detail, /stateDir/);
  t.is(r.ra.status()!.state, 'base');
  // a valid revision after all that still applies: refusals never moved the floor
  await r.link.deliver('config', r.doc(2));
  await r.clock.advance(2000);
  t.is(r.acks().at(-1), 'r2:applied');
  await r.ra.stop();
});

test('a restart while a revision is pending counts as failed: CONFIG_HEALTH_RESTART, previous config', async (t) => {
  const r = rig(t);
  await r.ra.start();
  await r.link.deliver('config', r.doc(4, remote(99)));
  await r.clock.advance(1000);
  t.is(r.ra.status()!.state, 'pending');
  // kill -9: the supervisor is dropped without stop; the next one finds pending.json
  const next = new RemoteConfigAgent({
    base: r.base,
    deps: () => ({ clock: r.clock, sources: [], link: r.link, notifier: null }),
  });
  await r.ra.current!.stop({ restart: true });
  await next.start();
  t.is(next.current!.config.lines[0]!.meters[0]!.unit, 1);
  t.like(next.history().at(-1), { revision: 4, state: 'rolled_back', reason: 'CONFIG_HEALTH_RESTART' });
  t.is(next.status()!.state, 'base');
  await next.stop();
});
