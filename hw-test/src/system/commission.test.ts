/**
 * `lightnode commission --non-interactive` as an installer runs it, against the simulators and Debian's Mosquitto: an
 * Eastron SDM630 on a pty pair (RTU), a Carlo Gavazzi EM24 on Modbus TCP, the ESS simulator (SunSpec, its PoD meter
 * a second unit on the same server) and a Chain 2 gateway's HTTP API whose meter has the --pod. The command finds
 * the profile and unit of every meter, the ESS and the gateway's POD, times the cloud stages, writes a config that
 * `parseAgentConfig` accepts and a signed report (JSON and a self-contained HTML page). The agent then runs on that
 * config: its meters read good, its batches reach an independent subscriber, and the report queued in the outbox
 * arrives on `ln/v1/{id}/report`, its signature checked by ethers and its reportHash = keccak256(JCS(report)).
 * A gateway paired with another meter fails the chain2 check naming both PoDs, exit 1.
 */
import test from 'ava';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { keccak256, verifyTypedData } from 'ethers';
import {
  builtinProfiles,
  jcs,
  lightNodeDomain,
  parseAgentConfig,
  systemClock,
  topics,
  typedDataFor,
  type AgentConfig,
  type SignedCommissioning,
} from '@lightnode/protocols';
import {
  createPtyPair,
  MeterSimulator,
  serveChain2Http,
  serveRtu,
  serveTcp,
  startEssSim,
  startMosquitto,
  type Mosquitto,
} from '../index.js';
import { agentStatus, cli, startAgent, Subscriber, waitUntil } from '../hil/harness.js';

const POD = 'IT002E61899978';
const OTHER_POD = 'IT001E01524052';
const STEPS = ['identity', 'pod', 'rs485', 'modbus-tcp', 'chain2', 'battery', 'cloud', 'enroll', 'config', 'report'];

interface Out {
  result: string;
  deviceId: string;
  serial: string;
  podId: string;
  meters: {
    profile: string;
    unit: number;
    port?: string;
    host?: string;
    tcpPort?: number;
    baud?: number;
    parity?: string;
    serialNumber?: string;
    readings: Record<string, number>;
  }[];
  chain2: { url: string; pod: string | null } | null;
  checks: { id: string; result: string; detail: string }[];
  configPath: string | null;
  report: { json: string; html: string } | null;
}

let broker: Mosquitto;
test.before(async () => {
  broker = await startMosquitto();
});
test.after.always(async () => {
  await broker?.dispose();
});

/** A temp dir removed at the end of the test, with a base config at `etc/agent.json` as the image ships one. */
function siteDir(t: { teardown(fn: () => unknown): void }): { dir: string; configOut: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ln-commission-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'etc'));
  const configOut = join(dir, 'etc', 'agent.json');
  // keys the installer does not decide: kept by commission (a short batch window, a quick reconnect)
  writeFileSync(configOut, JSON.stringify({ batch: { windowMs: 1000 }, uplink: { reconnectBaseMs: 100 } }));
  return { dir, configOut };
}

const commission = (dir: string, configOut: string, args: string[]) =>
  cli([
    'commission',
    '--non-interactive',
    '--pod',
    POD,
    '--serial',
    'LN-T1',
    '--installer',
    'Bench',
    '--state-dir',
    join(dir, 'state'),
    '--config-out',
    configOut,
    '--out',
    join(dir, 'out'),
    '--cloud',
    broker.url,
    '--json',
    ...args,
  ]);

/** The envelope's signer as ethers recovers it, and whether its reportHash is keccak256 of the report's JCS bytes. */
function checkEnvelope(env: SignedCommissioning, config: AgentConfig): { signer: string; hashOk: boolean } {
  const domain = lightNodeDomain(config.chain.chainId, config.chain.keyRegister);
  const td = typedDataFor('CommissioningReport', env.message as never, domain);
  const signer = verifyTypedData(td.domain, td.types, td.message, env.signature).toLowerCase();
  return { signer, hashOk: keccak256(jcs(env.report)) === env.message.reportHash };
}

test.serial(
  'commission finds every meter, the ESS and the Chain 2 POD; the agent runs on its config and ships the report',
  async (t) => {
    const profiles = builtinProfiles();
    const pty = await createPtyPair();
    t.teardown(() => pty.stop());
    const rtuMeter = new MeterSimulator({
      profile: profiles.get('eastron/sdm630'),
      unit: 2,
      clock: systemClock,
      load: { seed: 3 },
    });
    const rtu = await serveRtu([rtuMeter], { path: pty.a, baud: 9600 });
    t.teardown(() => rtu.close());
    const tcpMeter = new MeterSimulator({
      profile: profiles.get('carlo-gavazzi/em24'),
      unit: 1,
      clock: systemClock,
      load: { seed: 4 },
    });
    const tcp = await serveTcp([tcpMeter]);
    t.teardown(() => tcp.close());
    const ess = await startEssSim({ interface: { kind: 'sunspec' }, seed: 5 });
    t.teardown(() => ess.stop());
    // a quarter every 1.5 s (speed 600), from a quarter boundary (the meter's 10-s steps hit it)
    const gw = await serveChain2Http({ pod: POD, startMs: Math.floor(Date.now() / 900_000) * 900_000, speed: 600 });
    t.teardown(() => gw.close());
    const { dir, configOut } = siteDir(t);

    const r = await commission(dir, configOut, [
      '--rs485',
      pty.b,
      '--tcp',
      `127.0.0.1:${tcp.port},127.0.0.1:${ess.port}`,
      '--chain2',
      gw.address,
    ]);
    t.is(r.code, 0, r.err + r.out);
    const out = JSON.parse(r.out) as Out;
    const by = Object.fromEntries(out.checks.map((c) => [c.id, c]));
    t.deepEqual(
      out.checks.map((c) => c.id),
      STEPS,
    );
    t.deepEqual(
      out.checks.filter((c) => c.result !== 'pass').map((c) => [c.id, c.result]),
      [['enroll', 'skip']],
      JSON.stringify(out.checks, null, 1),
    );
    t.like(out, { result: 'pass', serial: 'LN-T1', podId: POD });

    // every meter: profile, unit, where, serial number and values read
    const meters = out.meters.map((m) => [m.profile, m.unit, m.port ?? `${m.host}:${m.tcpPort}`]);
    t.deepEqual(meters, [
      ['eastron/sdm630', 2, pty.b],
      ['carlo-gavazzi/em24', 1, `127.0.0.1:${tcp.port}`],
      ['eastron/sdm630', ess.meter!.unit, `127.0.0.1:${ess.port}`], // the ESS site's PoD meter
    ]);
    t.like(out.meters[0], { baud: 9600, serialNumber: '2' });
    t.is(out.meters[1]!.serialNumber, 'SN000001');
    for (const m of out.meters) {
      t.true(Math.abs(m.readings.voltageL1mV! - 230_000) < 10_000, `${m.profile} ${JSON.stringify(m.readings)}`);
      t.is(typeof m.readings.energyImportWh, 'number');
    }
    // the ESS, found by the SunSpec walk and driven through its Setpoints adapter
    t.regex(by['modbus-tcp']!.detail, new RegExp(`sunspec/der-704 \\(ess\\) at 127\\.0\\.0\\.1:${ess.port} unit 1`));
    t.regex(by.battery!.detail, /wrote 0 W → read back 0 W, remote; released → autonomous/);
    // the gateway's POD, naming both
    t.regex(by.chain2!.detail, new RegExp(`reports POD ${POD} = --pod ${POD}`));
    t.like(out.chain2, { url: gw.address, pod: POD });
    // the cloud: every stage timed
    t.regex(
      by.cloud!.detail,
      /DNS [\d.]+ ms, TCP [\d.]+ ms, no TLS \(mqtt:\/\/\), MQTT connect [\d.]+ ms, publish → PUBACK [\d.]+ ms/,
    );

    // the config: valid, with the inputs and what was found, the base file's own keys kept
    t.is(out.configPath, configOut);
    const config = parseAgentConfig(JSON.parse(readFileSync(configOut, 'utf8')), configOut);
    t.like(config, { podId: POD, stateDir: join(dir, 'state'), keyFile: join(dir, 'state', 'device.key') });
    t.is(config.uplink.url, broker.url);
    t.is(config.uplink.reconnectBaseMs, 100);
    t.is(config.batch.windowMs, 1000);
    t.deepEqual(
      config.lines.flatMap((l) => l.meters.map((m) => [m.profile, m.unit])),
      meters.map(([p, u]) => [p, u]),
    );
    t.like(config.assets[0], { kind: 'ess', adapter: { sunspec: { unit: 1 } } });
    t.like(config.chain2[0], { http: gw.address });

    // the report: signed by the device, its hash over the JCS bytes, listing what was found
    const env = JSON.parse(readFileSync(out.report!.json, 'utf8')) as SignedCommissioning;
    t.is(env.kind, 'commissioning');
    t.deepEqual(checkEnvelope(env, config), { signer: out.deviceId.toLowerCase(), hashOk: true });
    t.like(env.message, { podId: POD, serial: 'LN-T1', installer: 'Bench', result: 'pass' });
    const body = env.report as unknown as {
      meters: { profile: string; readings: Record<string, number> }[];
      battery: { profile: string; socPermille: number } | null;
      chain2: { pod: string } | null;
    };
    t.deepEqual(
      body.meters.map((m) => m.profile),
      meters.map(([p]) => p),
    );
    t.true(body.meters.every((m) => Object.keys(m.readings).length > 5));
    t.like(body.battery, { profile: 'sunspec/der-704' });
    t.like(body.chain2, { pod: POD });
    const verify = await cli([
      'protocol',
      'verify',
      out.report!.json,
      '--chain-id',
      String(config.chain.chainId),
      '--contract',
      config.chain.keyRegister,
    ]);
    t.is(verify.code, 0, verify.err);
    const html = readFileSync(out.report!.html, 'utf8');
    t.notRegex(html, /(src|href)\s*=\s*["']?\s*(https?:)?\/\//i, 'no external resource');
    t.notRegex(html, /<link|<script|@import|url\(/i);
    t.regex(html, /<svg[^>]*viewBox/);
    for (const s of [out.deviceId, POD, 'eastron/sdm630', 'carlo-gavazzi/em24', 'sunspec/der-704', 'SN000001'])
      t.true(html.includes(s), s);

    // the agent on the written config
    const sub = new Subscriber(broker.url);
    await sub.start();
    t.teardown(() => sub.stop());
    const reports: SignedCommissioning[] = [];
    const rc = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
    t.teardown(() => rc.endAsync(true));
    rc.on('message', (_topic, payload) => reports.push(JSON.parse(payload.toString()) as SignedCommissioning));
    await rc.subscribeAsync(topics.report(out.deviceId), { qos: 1 });
    const agent = startAgent(configOut);
    t.teardown(async () => {
      agent.child.kill('SIGTERM');
      await agent.exited;
    });
    const ids = config.lines.flatMap((l) => l.meters.map((m) => m.id));
    const st = await waitUntil(
      async () => {
        const s = await agentStatus(configOut);
        const good = (s?.status.meters as { id: string; quality: string }[] | undefined) ?? [];
        return s && [...ids, 'ess'].every((id) => good.some((m) => m.id === id && m.quality === 'good'))
          ? s
          : undefined;
      },
      30_000,
      async () => `every meter and the ESS good: ${JSON.stringify((await agentStatus(configOut))?.status.meters)}`,
    );
    t.is(st.status.deviceId, out.deviceId.toLowerCase());
    await waitUntil(
      () => sub.batches >= 2 || undefined,
      30_000,
      () => `2 batches (${sub.batches}): ${agent.log()}`,
    );
    t.deepEqual(sub.bad, []);
    await waitUntil(() => reports.length >= 1 || undefined, 30_000, 'the commissioning report on the report topic');
    t.deepEqual(reports[0], env, 'the queued report is the signed file');
    t.deepEqual(checkEnvelope(reports[0]!, config), { signer: out.deviceId.toLowerCase(), hashOk: true });
  },
);

test.serial('a gateway paired with another meter: the chain2 check fails naming both PoDs, exit 1', async (t) => {
  const meter = await serveTcp([
    new MeterSimulator({ profile: builtinProfiles().get('carlo-gavazzi/em24'), unit: 1, clock: systemClock }),
  ]);
  t.teardown(() => meter.close());
  const gw = await serveChain2Http({ pod: OTHER_POD, startMs: Math.floor(Date.now() / 900_000) * 900_000 });
  t.teardown(() => gw.close());
  const { dir, configOut } = siteDir(t);
  const r = await commission(dir, configOut, ['--tcp', `127.0.0.1:${meter.port}`, '--chain2', gw.address]);
  t.is(r.code, 1, r.err);
  const out = JSON.parse(r.out) as Out;
  t.is(out.result, 'fail');
  t.deepEqual(
    out.checks.filter((c) => c.result === 'fail').map((c) => c.id),
    ['chain2'],
  );
  const c2 = out.checks.find((c) => c.id === 'chain2')!;
  t.true(c2.detail.includes(`reports POD ${OTHER_POD}, --pod is ${POD}`), c2.detail);
  t.like(out.chain2, { pod: OTHER_POD });
  // reported as a failed commissioning, signed all the same
  const env = JSON.parse(readFileSync(out.report!.json, 'utf8')) as SignedCommissioning;
  t.is(env.message.result, 'fail');
  const config = parseAgentConfig(JSON.parse(readFileSync(configOut, 'utf8')), configOut);
  t.deepEqual(checkEnvelope(env, config), { signer: out.deviceId.toLowerCase(), hashOk: true });
});
