// Remote configuration against a real Mosquitto, the agent as a process and a Modbus TCP meter simulator: a revision
// pushed with `lightnode config push` is applied; one that breaks the meter line is rolled back by the device within
// its deadline; a bad signature, an unknown issuer, another device, a stale revision and a protected key are each
// refused with their code; `config history` shows all of it; every ack verifies with ethers.
import test from 'ava';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { Wallet, verifyTypedData } from 'ethers';
import {
  VECTOR_CHAIN_ID,
  VECTOR_VERIFYING_CONTRACT,
  builtinProfiles,
  lightNodeDomain,
  privateKeySigner,
  signConfig,
  systemClock,
  topicCodecs,
  topics,
  typedDataFor,
  type SignedConfig,
  type SignedConfigAck,
} from '@lightnode/protocols';
import { freePort } from '@lightnode/cloud';
import { MeterSimulator, serveTcp, startMosquitto } from '../index.js';
import { agentDir, cli, startAgent, waitFor } from '../hil/harness.js';

const domain = lightNodeDomain(VECTOR_CHAIN_ID, VECTOR_VERIFYING_CONTRACT);
const DEADLINE_S = 5;

test('remote config: applied, rolled back when it breaks the meter line, refusals by code, history, acks verified with ethers', async (t) => {
  const broker = await startMosquitto();
  const sim = new MeterSimulator({
    profile: builtinProfiles().get('carlo-gavazzi/em24'),
    unit: 1,
    clock: systemClock,
    load: { seed: 5 },
  });
  const meter = await serveTcp([sim]);
  const operator = Wallet.createRandom();
  const stranger = Wallet.createRandom();
  const remote = (port: number, pollMs: number): Record<string, unknown> => ({
    batch: { windowMs: 1000 },
    uplink: { url: broker.url, keepaliveS: 10, reconnectBaseMs: 200, reconnectMaxMs: 2000 },
    lines: [
      {
        name: 'l1',
        transport: { tcp: { host: '127.0.0.1', port } },
        meters: [{ id: 'grid', profile: 'carlo-gavazzi/em24', pollMs }],
      },
    ],
  });
  const { dir, configPath } = agentDir((d) => ({
    podId: 'IT002E61899978',
    stateDir: d,
    ...remote(meter.port!, 500),
    remoteConfig: { issuers: [operator.address], healthDeadlineS: DEADLINE_S },
  }));
  const keyOf = (w: { privateKey: string }, name: string): string => {
    const f = join(dir, name);
    writeFileSync(f, w.privateKey + '\n', { mode: 0o600 });
    return f;
  };
  const opKey = keyOf(operator, 'operator.key');
  const strangerKey = keyOf(stranger, 'stranger.key');
  t.is((await cli(['protocol', 'keygen', '--out', join(dir, 'device.key')])).code, 0);
  const deviceId = (
    JSON.parse(readFileSync(join(dir, 'device.key'), 'utf8')) as { address: string }
  ).address.toLowerCase();
  // the acks, each verified with ethers' EIP-712 (not ours) as signed by the device
  const acks: SignedConfigAck['message'][] = [];
  const bad: string[] = [];
  const sub = mqtt.connect(broker.url, { protocolVersion: 4, reconnectPeriod: 200 });
  sub.on('message', (_topic, payload) => {
    try {
      const a = JSON.parse(payload.toString()) as SignedConfigAck;
      if (a.kind !== 'config-ack') return;
      const td = typedDataFor('ConfigAck', a.message as never, domain);
      const signer = verifyTypedData(td.domain, td.types, td.message, a.signature).toLowerCase();
      if (signer !== deviceId) throw new Error(`ethers recovers ${signer}, not the device ${deviceId}`);
      acks.push(a.message);
    } catch (e) {
      bad.push((e as Error).message);
    }
  });
  await new Promise<void>((resolve, reject) =>
    sub.once('connect', () => sub.subscribe(topics.report(deviceId), { qos: 1 }, (e) => (e ? reject(e) : resolve()))),
  );
  const file = (name: string, doc: Record<string, unknown>): string => {
    const f = join(dir, name);
    writeFileSync(f, JSON.stringify(doc));
    return f;
  };
  const push = (f: string, key: string, extra: string[] = []) =>
    cli(['config', 'push', f, '--device', deviceId, '--key-file', key, '--broker', broker.url, '--json', ...extra]);
  const publish = (doc: SignedConfig) =>
    new Promise<void>((resolve, reject) =>
      sub.publish(
        topics.config(deviceId),
        Buffer.from(topicCodecs.config.encode(doc)),
        { qos: 1, retain: true },
        (e) => (e ? reject(e) : resolve()),
      ),
    );
  const states = () => acks.map((a) => `r${a.revision}:${a.state}${a.reason ? ':' + a.reason : ''}`);
  const socket = join(dir, 'agent.sock');
  const agent = startAgent(configPath);
  try {
    await waitFor(
      async () => (await cli(['status', '--socket', socket, '--json'])).code === 0,
      30_000,
      'agent status socket',
    );
    // 1. a healthy revision (the retained one + 1 = 1): applied
    const r1 = await push(file('r1.json', remote(meter.port!, 200)), opKey);
    t.is(r1.code, 0, r1.err);
    t.like(JSON.parse(r1.out), { revision: 1, topic: topics.config(deviceId) });
    await waitFor(() => acks.length >= 1, 30_000, 'ack of r1');
    t.deepEqual(states(), ['r1:applied']);
    const st = await cli(['config', 'status', '--socket', socket, '--json']);
    t.like(JSON.parse(st.out), { revision: 1, state: 'applied', issuer: operator.address.toLowerCase() });
    // 2. a revision whose meter line goes nowhere: rolled back by the device after its deadline
    const closed = await freePort();
    const pushedMs = Date.now();
    t.is((await push(file('r2.json', remote(closed, 200)), opKey)).code, 0);
    await waitFor(() => acks.length >= 2, DEADLINE_S * 1000 + 30_000, 'rollback of r2');
    t.deepEqual(states(), ['r1:applied', 'r2:rolled_back:CONFIG_HEALTH_METERS']);
    t.true(acks[1]!.atMs - pushedMs >= DEADLINE_S * 1000 - 1000, 'not rolled back before the deadline');
    const after = JSON.parse((await cli(['config', 'status', '--socket', socket, '--json'])).out) as {
      revision: number;
      state: string;
    };
    t.like(after, { revision: 1, state: 'applied' });
    await waitFor(
      async () => {
        const s = await cli(['status', '--socket', socket, '--json']);
        const m = (JSON.parse(s.out) as { status: { meters: { quality: string }[] } }).status.meters;
        return m.length === 1 && m[0]!.quality === 'good';
      },
      30_000,
      'the meter reading good again on r1',
    );
    // 3. refusals, each with its code
    const op = privateKeySigner(operator.privateKey);
    const good = remote(meter.port!, 300);
    const forged = signConfig(good, { deviceId, revision: 3, atMs: Date.now() }, op, domain);
    forged.signature = signConfig(
      good,
      { deviceId, revision: 3, atMs: Date.now() },
      privateKeySigner(stranger.privateKey),
      domain,
    ).signature;
    await publish(forged);
    await waitFor(() => acks.length >= 3, 30_000, 'refusal of a forged signature');
    t.is((await push(file('r4.json', good), strangerKey, ['--revision', '4'])).code, 0);
    await waitFor(() => acks.length >= 4, 30_000, 'refusal of an unknown issuer');
    await publish(signConfig(good, { deviceId: stranger.address, revision: 5, atMs: Date.now() }, op, domain));
    await waitFor(() => acks.length >= 5, 30_000, 'refusal of another device’s config');
    t.is((await push(file('r1b.json', good), opKey, ['--revision', '1'])).code, 0);
    await waitFor(() => acks.length >= 6, 30_000, 'refusal of a stale revision');
    // the CLI refuses a local-only key itself; signed by hand, the device refuses it too
    const prot = await push(file('prot.json', { ...good, stateDir: '/tmp/x' }), opKey, ['--revision', '7']);
    t.is(prot.code, 1);
    t.regex(prot.err, /CONFIG_KEY_PROTECTED.*stateDir/s);
    await publish(signConfig({ ...good, stateDir: '/tmp/x' }, { deviceId, revision: 7, atMs: Date.now() }, op, domain));
    await waitFor(() => acks.length >= 7, 30_000, 'refusal of a protected key');
    t.deepEqual(states().slice(2), [
      'r3:rejected:SIGNER_MISMATCH',
      'r4:rejected:CONFIG_ISSUER_UNKNOWN',
      'r5:rejected:CONFIG_DEVICE_MISMATCH',
      'r1:rejected:CONFIG_REVISION_STALE',
      'r7:rejected:CONFIG_KEY_PROTECTED',
    ]);
    t.deepEqual(bad, []);
    // history, oldest first, from the socket and from the state directory alike
    const h = JSON.parse((await cli(['config', 'history', '--socket', socket, '--json'])).out) as {
      entries: { revision: number; state: string; reason: string; detail: string }[];
    };
    t.deepEqual(
      h.entries.map((e) => `r${e.revision}:${e.state}${e.reason ? ':' + e.reason : ''}`),
      states(),
    );
    t.regex(h.entries[1]!.detail, /grid/);
    t.regex(h.entries.at(-1)!.detail, /stateDir/);
    const fromFiles = JSON.parse((await cli(['config', 'history', '--config', configPath, '--json'])).out) as typeof h;
    t.deepEqual(fromFiles, h);
    agent.child.kill('SIGTERM');
    t.is(await agent.exited, 0, agent.log().slice(-1500));
  } finally {
    agent.child.kill('SIGKILL');
    await sub.endAsync(true);
    await meter.close();
    await broker.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
