// `lightnode commission` inputs: the PoD first (nothing touched, nothing opened), flag and --answers errors, defaults,
// and the skip details of steps whose input was not given.
import test from 'ava';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isLightNodeError } from '@lightnode/protocols';
import { POD, rig, run, tempDir } from '../testing/index.js';
import { resolveInputs } from './inputs.js';
import { STEP_IDS, type Check } from './types.js';

test('a malformed --pod exits 1 quoting the value and the format, before any file is touched or port opened', async (t) => {
  const dir = tempDir();
  const r = rig();
  const answers = join(dir, 'absent-answers.json');
  const res = await run(r, [
    '--answers',
    answers,
    '--rs485',
    '/dev/ttyFAKE0',
    '--tcp',
    '127.0.0.1',
    '--state-dir',
    join(dir, 'state'),
    '--config-out',
    join(dir, 'agent.json'),
    '--pod',
    'IT12E345',
    '--json',
  ]).catch((e: unknown) => e);
  t.true(isLightNodeError(res));
  if (!isLightNodeError(res)) return;
  t.is(res.code, 'POD_INVALID');
  t.regex(res.message, /"IT12E345" is not a PoD id/);
  t.regex(res.message, /IT \+ 3-digit distributor code \+ E \+ 8 digits/);
  t.deepEqual(readdirSync(dir), [], 'no state dir, key, config or report made');
  t.deepEqual(r.calls, { scanSerial: [], scanTcp: [], enroll: [], transports: 0 });
  t.deepEqual(r.events, []);
});

test('--pod=VALUE is checked first too, before an unknown flag', (t) => {
  const e = t.throws(() => resolveInputs(['--bogus', '--pod=XX']));
  t.is((e as { code?: string }).code, 'POD_INVALID');
});

test('flag errors: unknown flag, missing --pod, --enroll without --token, bad --cloud / --chain2 URLs are USAGE', (t) => {
  const usage = (argv: string[]): string => {
    const e = t.throws(() => resolveInputs(argv));
    t.is((e as { code?: string }).code, 'USAGE', argv.join(' '));
    return e.message;
  };
  t.regex(usage(['--pod', POD, '--frobnicate']), /frobnicate/);
  t.regex(usage([]), /missing --pod/);
  t.regex(usage(['--pod', POD, '--enroll', 'http://e.test']), /--enroll URL and --token T go together/);
  t.regex(usage(['--pod', POD, '--cloud', 'http://broker']), /--cloud: expected mqtt:/);
  t.regex(usage(['--pod', POD, '--chain2', 'gateway:81']), /--chain2: expected a ws:\/\/ or http:\/\//);
});

test('defaults: state dir, key file, config out, out dir; lists split on commas', (t) => {
  const i = resolveInputs(['--pod', POD, '--rs485', '/dev/ttyUSB0,/dev/ttyUSB1', '--tcp', '10.0.0.5:1502']);
  t.is(i.stateDir, '/var/lib/lightnode');
  t.is(i.keyFile, '/var/lib/lightnode/device.key');
  t.is(i.configOut, '/etc/lightnode/agent.json');
  t.is(i.out, '/var/lib/lightnode/commissioning');
  t.deepEqual(i.rs485, ['/dev/ttyUSB0', '/dev/ttyUSB1']);
  t.deepEqual(i.tcp, ['10.0.0.5:1502']);
  const j = resolveInputs(['--pod', POD, '--state-dir', '/tmp/x']);
  t.is(j.keyFile, '/tmp/x/device.key');
  t.is(j.out, '/tmp/x/commissioning');
});

test('--answers gives the same inputs; flags win; errors name the key', (t) => {
  const dir = tempDir();
  const file = join(dir, 'answers.json');
  writeFileSync(
    file,
    JSON.stringify({
      podId: POD,
      installer: 'Ada',
      rs485: ['/dev/ttyUSB0'],
      tcp: '10.0.0.5,10.0.0.6:1502',
      batteryTest: true,
      cloud: 'mqtts://broker.test',
      enroll: { url: 'https://enroll.test', token: 'T1' },
      stateDir: '/srv/ln',
    }),
  );
  const i = resolveInputs(['--answers', file, '--installer', 'Grace']);
  t.is(i.podId, POD);
  t.is(i.installer, 'Grace');
  t.deepEqual(i.rs485, ['/dev/ttyUSB0']);
  t.deepEqual(i.tcp, ['10.0.0.5', '10.0.0.6:1502']);
  t.true(i.batteryTest);
  t.deepEqual(i.enroll, { url: 'https://enroll.test', token: 'T1' });
  t.is(i.keyFile, '/srv/ln/device.key');
  const bad = (doc: unknown): string => {
    writeFileSync(file, JSON.stringify(doc));
    const e = t.throws(() => resolveInputs(['--answers', file]));
    return `${(e as { code?: string }).code} ${e.message}`;
  };
  t.regex(
    bad({ podId: POD, cloud: 'http://x' }),
    /^INPUT_INVALID .*answers\.json: cloud: an mqtt:\/\/ or mqtts:\/\/ URL/,
  );
  t.regex(bad({ podId: POD, batteryTest: 'yes' }), /batteryTest:/);
  t.regex(bad({ podId: POD, colour: 'red' }), /colour: unknown key/);
  t.regex(bad({ podId: POD, enroll: { url: 'https://e' } }), /enroll\.token:/);
  t.regex(bad({ podId: 'it001e1', rs485: 5 }), /^POD_INVALID .*podId: "it001e1" is not a PoD id/);
  writeFileSync(file, '{not json');
  t.regex(t.throws(() => resolveInputs(['--answers', file])).message, /cannot read a JSON document/);
});

test('steps whose input was not given are skip, each naming the flag that enables it', async (t) => {
  const dir = tempDir();
  const r = rig();
  const res = await run(r, ['--pod', POD, '--state-dir', dir, '--config-out', join(dir, 'agent.json'), '--json']);
  const out = JSON.parse(res.out[0]!) as { checks: Check[]; result: string };
  t.deepEqual(
    out.checks.map((c) => c.id),
    [...STEP_IDS],
  );
  const by = Object.fromEntries(out.checks.map((c) => [c.id, c]));
  t.is(by.identity!.result, 'pass');
  t.is(by.pod!.result, 'pass');
  t.regex(by.rs485!.detail, /no --rs485 PATH/);
  t.regex(by['modbus-tcp']!.detail, /no --tcp HOST/);
  t.regex(by.chain2!.detail, /no --chain2 URL/);
  t.regex(by.battery!.detail, /no --rs485 or --tcp/);
  t.regex(by.cloud!.detail, /no --cloud URL/);
  t.regex(by.enroll!.detail, /no --enroll URL --token T/);
  for (const id of ['rs485', 'modbus-tcp', 'chain2', 'battery', 'cloud', 'enroll']) t.is(by[id]!.result, 'skip', id);
  // no uplink: the config cannot be valid, which the installer is told how to fix
  t.is(by.config!.result, 'fail');
  t.regex(by.config!.detail, /uplink.*give --cloud URL/);
  t.is(out.result, 'fail');
  t.is(res.code, 1);
  t.false(existsSync(join(dir, 'agent.json')));
  t.true(existsSync(join(dir, 'device.key')), 'the key is made when absent');
  t.deepEqual(r.calls.scanSerial, []);
});
