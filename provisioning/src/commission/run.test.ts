// A whole `lightnode commission` run on a fake site (scans, bus, battery, Chain 2 gateway, enrollment), the fake
// clock: the config (valid, atomic, backup), the signed report and its HTML, the outbox item, the battery test,
// the Chain 2 POD check, exit codes.
import test from 'ava';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  builtinProfiles,
  lightNodeDomain,
  parseAgentConfig,
  systemClock,
  topicCodecs,
  verifyDocument,
  type SignedCommissioning,
} from '@lightnode/protocols';
import { signerFromKeyFile, SqliteStore } from '@lightnode/edge';
import { BASE_IMPORT_W, FOUND_METER, POD, PORT, rig, run, tempDir } from '../testing/index.js';
import type { CommissionResult } from './run.js';

type Out = Omit<CommissionResult, 'qrTerminal'>;

const site = (dir: string, extra: string[] = []): string[] => [
  '--non-interactive',
  '--pod',
  POD,
  '--installer',
  'Ada Installer',
  '--rs485',
  PORT,
  '--cloud',
  'mqtts://broker.invalid:8883',
  '--state-dir',
  join(dir, 'state'),
  '--config-out',
  join(dir, 'etc', 'agent.json'),
  '--out',
  join(dir, 'out'),
  '--json',
  ...extra,
];

/** The run without the cloud step (the broker is another test's): --cloud is only in the config then. */
const offline = (argv: string[]): string[] => {
  const i = argv.indexOf('--cloud');
  return [...argv.slice(0, i), ...argv.slice(i + 2)];
};

test('a site run: meter and ESS found, read, battery tested, config written, report signed and queued', async (t) => {
  const dir = tempDir();
  const r = rig({ gatewayPod: POD });
  const cfgPath = join(dir, 'etc', 'agent.json');
  // an earlier config: kept as .bak, its uplink credentials carried over
  mkdirSync(join(dir, 'etc'));
  const oldText = JSON.stringify({ podId: POD, uplink: { url: 'mqtt://old.test', username: 'dev-1' } });
  writeFileSync(cfgPath, oldText);
  const res = await run(r, [
    ...offline(
      site(dir, [
        '--battery-test',
        '--chain2',
        'ws://gateway.test:81',
        '--enroll',
        'https://enroll.test',
        '--token',
        'TOKEN-1',
      ]),
    ),
  ]);
  const out = JSON.parse(res.out[0]!) as Out;
  const by = Object.fromEntries(out.checks.map((c) => [c.id, c]));
  t.is(by.rs485!.result, 'pass', by.rs485!.detail);
  t.regex(by.rs485!.detail, /eastron\/sdm630 \(meter\) at \/dev\/ttyFAKE0 unit 1 @ 19200 8E1 s\/n SDM-0042/);
  t.is(by['modbus-tcp']!.result, 'skip');
  t.is(by.chain2!.result, 'pass', by.chain2!.detail);
  t.regex(by.chain2!.detail, new RegExp(`reports POD ${POD} = --pod ${POD}`));
  t.is(by.battery!.result, 'pass', by.battery!.detail);
  t.regex(by.battery!.detail, /wrote 0 W → read back 0 W, remote; released → autonomous/);
  t.regex(
    by.battery!.detail,
    new RegExp(
      `${BASE_IMPORT_W} W, discharging \\+500 W → ${BASE_IMPORT_W - 500} W, charging −500 W → ${BASE_IMPORT_W + 500} W`,
    ),
  );
  t.deepEqual(
    r.ess.commands.map((c) => c.w),
    [0, 500, -500],
  );
  t.true(r.ess.releases >= 2);
  t.is(by.cloud!.result, 'skip');
  t.is(by.enroll!.result, 'pass');
  t.is(r.calls.enroll[0]!.token, 'TOKEN-1');
  t.is(r.calls.enroll[0]!.serial, 'LN-TEST-0001');
  t.is(by.config!.result, 'pass', by.config!.detail);
  t.is(by.report!.result, 'pass', by.report!.detail);
  t.is(out.result, 'pass');
  t.is(res.code, 0);

  // --json shape
  t.is(out.serial, 'LN-TEST-0001');
  t.is(out.podId, POD);
  const key = signerFromKeyFile(join(dir, 'state', 'device.key'));
  t.is(out.deviceId, key.address);
  t.is(out.meters.length, 1);
  const m = out.meters[0]!;
  t.like(m, { profile: 'eastron/sdm630', unit: 1, port: PORT, baud: 19200, parity: 'even', serialNumber: 'SDM-0042' });
  t.is(m.readings.activePowerW, BASE_IMPORT_W);
  t.is(m.readings.voltageL1mV, 230_100);
  t.like(out.chain2, { url: 'ws://gateway.test:81', pod: POD });
  t.is(out.configPath, cfgPath);

  // config: valid, from what was found, the old one kept
  const doc: unknown = JSON.parse(readFileSync(cfgPath, 'utf8'));
  const cfg = parseAgentConfig(doc);
  t.is(cfg.podId, POD);
  t.is(cfg.stateDir, join(dir, 'state'));
  t.is(cfg.keyFile, join(dir, 'state', 'device.key'));
  t.is(cfg.uplink.url, 'mqtt://old.test', 'no --cloud: the old uplink is kept');
  t.is(cfg.uplink.username, 'dev-1');
  t.deepEqual(cfg.lines[0]!.transport, { rtu: { path: PORT, baud: 19200, parity: 'even', dataBits: 8, stopBits: 1 } });
  t.like(cfg.lines[0]!.meters[0], { profile: 'eastron/sdm630', unit: 1 });
  t.is(cfg.lines[0]!.meters[0]!.role, undefined, 'with Chain 2 the gateway M1 is the PoD meter');
  t.like(cfg.assets[0], {
    kind: 'ess',
    adapter: { modbus: { line: cfg.lines[0]!.name, unit: 3, profile: 'generic/ess-example' } },
  });
  t.deepEqual(
    cfg.chain2.map((c) => c.ws),
    ['ws://gateway.test:81'],
  );
  t.is(readFileSync(`${cfgPath}.bak`, 'utf8'), oldText);
  t.deepEqual(readdirSync(join(dir, 'etc')).sort(), ['agent.json', 'agent.json.bak'], 'no temp file left');

  // the report: a signed envelope that verifies, with the hash of its body
  const json = out.report!.json;
  t.regex(json, /commissioning-LN-TEST-0001-20210622T220\d{3}Z\.json$/);
  const env = JSON.parse(readFileSync(json, 'utf8')) as SignedCommissioning;
  const v = verifyDocument(env, { domain: lightNodeDomain(cfg.chain.chainId, cfg.chain.keyRegister) });
  t.is(v.kind, 'commissioning');
  t.is(v.signer, key.address.toLowerCase());
  t.like(env.message, { podId: POD, serial: 'LN-TEST-0001', installer: 'Ada Installer', result: 'pass' });
  const body = env.report;
  t.like(body, { podId: POD, installer: 'Ada Installer', device: { agentVersion: '0.1.0-test' } });
  t.is((body.checks as unknown[]).length, 9, 'every check before the report');
  t.like((body.meters as unknown[])[0], { serialNumber: 'SDM-0042', readings: { activePowerW: BASE_IMPORT_W } });
  t.like(body.battery, { serialNumber: 'ESS-7', socPermille: 640, test: { baselineW: BASE_IMPORT_W } });
  // a tampered body does not verify
  t.throws(() => verifyDocument({ ...env, report: { ...body, installer: 'Mallory' } }), { message: /JCS keccak256/ });

  // the HTML: self-contained, the QR inline
  const html = readFileSync(out.report!.html, 'utf8');
  t.notRegex(html, /(src|href)\s*=\s*["']?\s*(https?:)?\/\//i, 'no external resource');
  t.notRegex(html, /<link|<script/i);
  t.regex(html, /<svg[^>]*viewBox/);
  t.true(html.includes(key.address) || html.includes(key.address.toLowerCase()));
  t.true(html.includes('SDM-0042'));

  // queued in the outbox, as the agent would find it
  const store = SqliteStore.open({
    path: join(cfg.stateDir, 'outbox.db'),
    seqFile: join(cfg.stateDir, 'seq.hwm'),
    signer: key,
    domain: lightNodeDomain(cfg.chain.chainId, cfg.chain.keyRegister),
    podId: POD,
    clock: systemClock,
    quotaBytes: cfg.outbox.quotaBytes,
  });
  t.teardown(() => store.close());
  const pending = store.pending(10);
  t.is(pending.length, 1);
  t.is(pending[0]!.kind, 'report');
  const queued = topicCodecs.report.decode(pending[0]!.payload) as unknown as SignedCommissioning;
  t.deepEqual(queued, env);
  t.is(pending[0]!.firstSeq, env.message.seq);

  // the UI's events: each step started and ended, in order; scan progress forwarded
  t.deepEqual(
    r.events.filter((e) => e.type === 'step-end').map((e) => (e.type === 'step-end' ? e.check.id : '')),
    out.checks.map((c) => c.id),
  );
  t.true(r.events.some((e) => e.type === 'progress' && e.id === 'rs485'));
  t.true(r.gateway!.stopped);
});

test('without Chain 2 the first meter is the PoD meter; a second run keeps the first config as .bak and queues a second report', async (t) => {
  const dir = tempDir();
  const r = rig();
  const first = await run(r, offline(site(dir)));
  t.is(first.code, 1, 'no uplink anywhere: config fails');
  const argv = site(dir);
  // a run with --cloud (the broker is unreachable: the cloud check fails, the config is still written)
  const res = await run(r, argv);
  const out = JSON.parse(res.out[0]!) as Out;
  const by = Object.fromEntries(out.checks.map((c) => [c.id, c]));
  t.is(by.cloud!.result, 'fail');
  t.regex(by.cloud!.detail, /broker\.invalid.*dns/);
  t.is(res.code, 1);
  const cfgPath = join(dir, 'etc', 'agent.json');
  const cfg = parseAgentConfig(JSON.parse(readFileSync(cfgPath, 'utf8')));
  t.is(cfg.uplink.url, 'mqtts://broker.invalid:8883');
  t.is(cfg.lines[0]!.meters[0]!.role, 'pod');
  t.false(existsSync(`${cfgPath}.bak`));
  const again = await run(r, argv);
  t.is(again.code, 1);
  t.is(readFileSync(`${cfgPath}.bak`, 'utf8'), readFileSync(cfgPath, 'utf8'));
  const o2 = JSON.parse(again.out[0]!) as Out;
  t.truthy(o2.report, JSON.stringify(o2.checks));
  const env = JSON.parse(readFileSync(o2.report!.json, 'utf8')) as SignedCommissioning;
  t.is(env.message.result, 'fail');
  // every run's report is queued, a failed one too (the first run's is seq 0)
  t.is(env.message.seq, 2, 'the third report takes the next message seq');
});

test('a gateway reporting another POD fails the chain2 check naming both; nothing found on a port fails rs485', async (t) => {
  const dir = tempDir();
  const r = rig({ gatewayPod: 'IT001E99999999', found: [] });
  const res = await run(r, offline(site(dir, ['--chain2', 'ws://gateway.test:81'])));
  const out = JSON.parse(res.out[0]!) as Out;
  const by = Object.fromEntries(out.checks.map((c) => [c.id, c]));
  t.is(by.chain2!.result, 'fail');
  t.regex(by.chain2!.detail, new RegExp(`reports POD IT001E99999999, --pod is ${POD}`));
  t.is(by.rs485!.result, 'fail');
  t.regex(by.rs485!.detail, /nothing found \(\/dev\/ttyFAKE0: 19200 8E1 answered\)/);
  t.is(by.battery!.result, 'skip');
  t.regex(by.battery!.detail, /no battery \(ESS\) found/);
  t.is(res.code, 1);
});

test('--battery-test fails when the PoD meter moves the wrong way (CT reversed)', async (t) => {
  const dir = tempDir();
  const r = rig();
  // a reversed CT: the meter sees the battery's power with the opposite sign
  const command = r.ess.command.bind(r.ess);
  r.ess.command = (w, s) => command(-w, s);
  const res = await run(r, offline(site(dir, ['--battery-test'])));
  const by = Object.fromEntries((JSON.parse(res.out[0]!) as Out).checks.map((c) => [c.id, c]));
  t.is(by.battery!.result, 'fail');
  t.regex(
    by.battery!.detail,
    /1200 W, discharging \+500 W → 1700 W, charging −500 W → 700 W: expected ≤ 950 W then ≥ 1450 W/,
  );
  t.is(res.code, 1);
});

test('the readable summary lists every check and the QR code; the profile of a found meter is a builtin', async (t) => {
  const dir = tempDir();
  const r = rig();
  const argv = offline(site(dir)).filter((a) => a !== '--json');
  const res = await run(r, argv);
  const text = res.out.join('\n');
  for (const id of ['identity', 'pod', 'rs485', 'battery', 'config', 'report']) t.regex(text, new RegExp(`  ${id} `));
  t.regex(text, /[▀▄█]/, 'the terminal QR code');
  t.true(builtinProfiles().list().includes(FOUND_METER.profile));
});

test('a config that cannot be valid leaves the old file as it was: no .bak, no temp file', async (t) => {
  const dir = tempDir();
  const cfgPath = join(dir, 'etc', 'agent.json');
  mkdirSync(join(dir, 'etc'));
  const oldText = JSON.stringify({ podId: POD, lines: 'not a list' });
  writeFileSync(cfgPath, oldText);
  const res = await run(rig(), offline(site(dir)));
  const by = Object.fromEntries((JSON.parse(res.out[0]!) as Out).checks.map((c) => [c.id, c]));
  t.is(by.config!.result, 'fail');
  t.regex(by.config!.detail, /agent\.json\.uplink: .*give --cloud URL/);
  t.is(by.report!.result, 'pass', 'a failed commissioning is reported too');
  t.is(readFileSync(cfgPath, 'utf8'), oldText);
  t.deepEqual(readdirSync(join(dir, 'etc')), ['agent.json']);
  t.is(res.code, 1);
});

test('Ctrl-C during the battery test: the battery is released, and no config nor report is written', async (t) => {
  const dir = tempDir();
  const r = rig();
  const ac = new AbortController();
  const command = r.ess.command.bind(r.ess);
  r.ess.command = (w, s) => {
    if (w === 500) queueMicrotask(() => ac.abort(new Error('interrupted')));
    return command(w, s);
  };
  const e = await run(r, offline(site(dir, ['--battery-test'])), ac.signal).catch((x: unknown) => x as Error);
  t.true(e instanceof Error);
  t.regex(
    (e as Error).message,
    /interrupted \(identity pass, pod pass, rs485 pass, .*battery fail\): no config and no report written/,
  );
  t.deepEqual(
    r.ess.commands.map((c) => c.w),
    [0, 500],
  );
  t.true(r.ess.releases >= 2, 'released after the harmless write and after the interruption');
  t.true(r.ess.closed);
  t.false(existsSync(join(dir, 'etc', 'agent.json')));
  t.false(existsSync(join(dir, 'out')));
});
