/**
 * `lightnode setpoint send` against the embedded broker (aedes): what a device subscribed to its setpoint topic
 * receives is a setpoint signed by the key file's address, with the documented defaults; bad flags are usage errors
 * naming the flag; an unreachable or silent broker is UPLINK_CONNECT within the bound.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import mqtt from 'mqtt';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  VECTOR_CHAIN_ID,
  VECTOR_VERIFYING_CONTRACT,
  addressFromPrivateKey,
  isLightNodeError,
  lightNodeDomain,
  topicCodecs,
  topics,
  verifySetpoint,
  type Command,
  type CommandIo,
  type LightNodeError,
  type SignedSetpoint,
} from '@lightnode/protocols';
import { FakeClock, TEST_OPERATOR_KEY, testSetpoint } from '@lightnode/protocols/testing';
import { startEmbeddedBroker, type EmbeddedBroker } from '../broker.js';
import { freePort } from '../chain/anvil.js';
import { publishSetpoint, setpointId } from '../operator/setpoint.js';
import group from './setpoint.js';

const BIN = fileURLToPath(new URL('../../../bin/lightnode.mjs', import.meta.url));
/** `lightnode ...args` (the real bin) to its exit: code, stdout, stderr. */
const lightnode = (args: string[]): Promise<{ code: number; out: string; err: string }> =>
  new Promise((resolve) =>
    execFile(process.execPath, [BIN, ...args], (e, out, err) =>
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, out, err }),
    ),
  );
const DEVICE = '0x' + '11'.repeat(20);
const OTHER = '0x' + '22'.repeat(20);
const POD = 'IT002E61899978';
const OPERATOR = addressFromPrivateKey(TEST_OPERATOR_KEY);
const dir = mkdtempSync(join(tmpdir(), 'ln-setpoint-'));
const jsonKey = join(dir, 'operator.key');
const hexKey = join(dir, 'operator.hex');
writeFileSync(jsonKey, JSON.stringify({ v: 1, address: OPERATOR, privateKey: TEST_OPERATOR_KEY }) + '\n', {
  mode: 0o600,
});
writeFileSync(hexKey, TEST_OPERATOR_KEY + '\n', { mode: 0o600 });

let broker: EmbeddedBroker;
test.before(async () => {
  broker = await startEmbeddedBroker();
});
test.after.always(async () => {
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function run(argv: string[]): Promise<{ code: number; out: string; err?: LightNodeError }> {
  let out = '';
  const io: CommandIo = {
    stdout: (s) => (out += s + '\n'),
    stderr: () => undefined,
    env: {},
    cwd: dir,
    signal: new AbortController().signal,
  };
  try {
    return { code: await (group.subcommands.send as Command).run(argv, io), out };
  } catch (e) {
    if (isLightNodeError(e)) return { code: e.code === 'USAGE' ? 2 : 1, out, err: e };
    throw e;
  }
}

/** Subscribes as the device would; resolves with the first setpoint received. */
async function device(id = DEVICE): Promise<{ next: Promise<SignedSetpoint>; close(): Promise<void> }> {
  const c = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
  await c.subscribeAsync(topics.setpoint(id), { qos: 1 });
  const next = new Promise<SignedSetpoint>((resolve) =>
    c.once('message', (_t, payload) => resolve(topicCodecs.setpoint.decode(payload))),
  );
  return { next, close: () => c.endAsync() };
}

const base = (key = jsonKey, id = DEVICE): string[] => [
  '--broker',
  broker.url,
  '--key-file',
  key,
  '--device',
  id,
  '--pod',
  POD,
  '--target-w',
  '-2500',
  '--baseline-w',
  '800',
  '--from',
  '2026-11-30T23:30:00Z',
  '--until',
  '2026-11-30T23:45:00Z',
];

test('publishes a setpoint signed by the key file (keygen JSON), with the documented defaults', async (t) => {
  const d = await device();
  try {
    const before = Date.now();
    const r = await run([...base(), '--json']);
    t.is(r.code, 0, r.err?.message);
    const printed = JSON.parse(r.out) as { id: string; topic: string; nonce: number };
    const got = await d.next;
    t.is(verifySetpoint(got, lightNodeDomain(VECTOR_CHAIN_ID, VECTOR_VERIFYING_CONTRACT)).signer, OPERATOR);
    t.deepEqual(printed, { id: got.message.id, topic: topics.setpoint(DEVICE), nonce: got.message.nonce });
    t.true(got.message.nonce >= before && got.message.nonce <= Date.now(), 'nonce = now in ms');
    t.is(got.message.id, setpointId(OPERATOR, got.message.nonce, POD));
    t.like(got.message, {
      version: 1,
      issuer: OPERATOR,
      podId: POD,
      activePowerW: -2500,
      baselineW: 800,
      validFromMs: Date.UTC(2026, 10, 30, 23, 30),
      validUntilMs: Date.UTC(2026, 10, 30, 23, 45),
      // 00:30 in Rome (UTC+1) on 1 December: that market day, its third quarter
      marketSession: 'MI-2026-12-01',
      slotIndex: 2,
      playerServiceId: '',
    });
  } finally {
    await d.close();
  }
});

test('a 0x-hex key file, explicit session, slot, service, nonce and domain; the id alone without --json', async (t) => {
  const d = await device(OTHER);
  try {
    const contract = '0x' + 'ab'.repeat(20);
    const r = await run([
      ...base(hexKey, OTHER),
      '--session',
      'MSD-1',
      '--slot',
      '7',
      '--service',
      'svc-9',
      '--nonce',
      '42',
      '--chain-id',
      '8453',
      '--contract',
      contract,
    ]);
    t.is(r.code, 0, r.err?.message);
    const got = await d.next;
    t.is(r.out, `${setpointId(OPERATOR, 42, POD)}\n`);
    t.is(verifySetpoint(got, lightNodeDomain(8453, contract)).signer, OPERATOR);
    t.like(got.message, { marketSession: 'MSD-1', slotIndex: 7, playerServiceId: 'svc-9', nonce: 42 });
    t.throws(() => verifySetpoint(got, lightNodeDomain(VECTOR_CHAIN_ID, VECTOR_VERIFYING_CONTRACT)));
  } finally {
    await d.close();
  }
});

const replace = (argv: string[], flag: string, value: string | undefined): string[] => {
  const i = argv.indexOf(flag);
  const copy = [...argv];
  if (value === undefined) copy.splice(i, 2);
  else copy[i + 1] = value;
  return copy;
};

test('bad flags are usage errors naming the flag; bad pod gives the validator reason', async (t) => {
  const cases: [string, string | undefined, RegExp][] = [
    ['--broker', undefined, /missing --broker/],
    ['--broker', 'localhost:1883', /--broker: expected mqtt:\/\//],
    ['--device', '0x12', /--device: expected a device address/],
    ['--pod', 'IT002E6189997', /--pod: /],
    ['--target-w', '1.5', /--target-w: expected an integer/],
    ['--baseline-w', undefined, /missing --baseline-w/],
    ['--from', '2026-11-30 23:30', /--from: expected an ISO 8601 time with a zone/],
    ['--until', '2026-11-30T23:45:00', /--until: expected an ISO 8601 time with a zone/],
  ];
  for (const [flag, value, re] of cases) {
    const r = await run(replace(base(), flag, value));
    t.is(r.code, 2, `${flag} ${value}`);
    t.is(r.err?.code, 'USAGE');
    t.regex(r.err?.message ?? '', re);
  }
  for (const extra of [
    ['--slot', '100'],
    ['--nonce', '0'],
    ['--chain-id', '5'],
    ['--contract', '0x' + '00'.repeat(20)],
    ['--chain-id', '5', '--contract', '0x12'],
    ['--bogus'],
  ]) {
    const r = await run([...base(), ...extra]);
    t.is(r.err?.code, 'USAGE', extra.join(' '));
    t.regex(
      r.err?.message ?? '',
      extra[0] === '--chain-id' || extra[0] === '--contract' ? /contract/ : /--(slot|nonce|bogus)/,
    );
  }
});

test('from ≥ until is SETPOINT_INVALID; a bad key file is KEY_INVALID (before any connection)', async (t) => {
  const inverted = await run(replace(base(), '--until', '2026-11-30T23:30:00Z'));
  t.is(inverted.code, 1);
  t.is(inverted.err?.code, 'SETPOINT_INVALID');
  t.regex(inverted.err?.message ?? '', /--until: expected after --from/);
  const bad = join(dir, 'bad.key');
  writeFileSync(bad, JSON.stringify({ v: 1, address: DEVICE, privateKey: TEST_OPERATOR_KEY }));
  const mismatch = await run([...replace(base(), '--key-file', bad)]);
  t.is(mismatch.err?.code, 'KEY_INVALID');
  t.regex(mismatch.err?.message ?? '', /does not belong to the key/);
  writeFileSync(bad, 'not a key\n');
  t.is((await run(replace(base(), '--key-file', bad))).err?.code, 'KEY_INVALID');
});

test('a broker that accepts TCP but never answers: UPLINK_CONNECT at the bound (injected clock)', async (t) => {
  const sockets = new Set<Socket>();
  let connected!: () => void;
  const reached = new Promise<void>((r) => (connected = r));
  const silent = createServer((s) => {
    sockets.add(s);
    connected();
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const port = (silent.address() as { port: number }).port;
  const clock = new FakeClock();
  try {
    const p = publishSetpoint(testSetpoint(1), {
      brokerUrl: `mqtt://127.0.0.1:${port}`,
      deviceId: DEVICE,
      timeoutMs: 60_000,
      clock,
    });
    const settled = p.catch((e: unknown) => e);
    await reached;
    await clock.advance(60_000);
    const e = (await settled) as LightNodeError;
    t.is(e.code, 'UPLINK_CONNECT');
    t.regex(e.message, /no connection in 60000 ms/);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => silent.close(() => r()));
  }
});

test('through the bin: an unreachable broker exits 1 with UPLINK_CONNECT and no stack; a usage error exits 2', async (t) => {
  const port = await freePort();
  const bin = (args: string[]) => lightnode(['setpoint', 'send', ...args]);
  const [down, usage] = await Promise.all([
    bin([...replace(base(), '--broker', `mqtt://127.0.0.1:${port}`), '--timeout', '5000']),
    bin(replace(base(), '--target-w', 'lots')),
  ]);
  t.is(down.code, 1, down.err);
  t.regex(down.err, /^lightnode setpoint send: UPLINK_CONNECT: broker mqtt:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/);
  t.notRegex(down.err, /\n\s+at /);
  t.is(down.out, '');
  t.is(usage.code, 2);
  t.regex(usage.err, /--target-w: expected an integer/);
});
