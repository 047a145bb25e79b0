// `lightnode config push|status|history` without a broker: usage errors name the flag, a local-only key is refused
// before any connection, status and history read the state directory of an agent config (`--config`).
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  isLightNodeError,
  lightNodeDomain,
  privateKeySigner,
  signConfig,
  VECTOR_CHAIN_ID,
  VECTOR_VERIFYING_CONTRACT,
  type Command,
  type CommandIo,
} from '@lightnode/protocols';
import { TEST_OPERATOR_KEY } from '@lightnode/protocols/testing';
import { ConfigFiles } from '@lightnode/edge';
import group from './config.js';

const dir = mkdtempSync(join(tmpdir(), 'ln-config-cli-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
const key = join(dir, 'op.key');
writeFileSync(key, TEST_OPERATOR_KEY + '\n', { mode: 0o600 });
const DEVICE = '0x' + '11'.repeat(20);
const op = privateKeySigner(TEST_OPERATOR_KEY);

async function run(sub: string, argv: string[]): Promise<{ code: number; out: string; error?: string }> {
  let out = '';
  const io: CommandIo = {
    stdout: (s) => (out += s + '\n'),
    stderr: () => undefined,
    env: {},
    cwd: dir,
    signal: new AbortController().signal,
  };
  try {
    return { code: await (group.subcommands[sub] as Command).run(argv, io), out };
  } catch (e) {
    if (!isLightNodeError(e)) throw e;
    return { code: e.code === 'USAGE' ? 2 : 1, out, error: `${e.code}: ${e.message}` };
  }
}

const file = (name: string, doc: unknown): string => {
  const f = join(dir, name);
  writeFileSync(f, JSON.stringify(doc));
  return f;
};

test('push: usage errors name the flag; a local-only key is refused before connecting', async (t) => {
  const f = file('c.json', { lines: [] });
  const base = ['--key-file', key, '--broker', 'mqtt://127.0.0.1:1'];
  t.regex((await run('push', [f, '--device', '0x12', ...base])).error!, /--device: expected a 0x address/);
  t.regex((await run('push', ['--device', DEVICE, ...base])).error!, /expected one FILE, received 0/);
  t.regex((await run('push', [f, '--device', DEVICE, '--key-file', key, '--broker', 'http://x'])).error!, /--broker/);
  t.regex(
    (await run('push', [f, '--device', DEVICE, ...base, '--chain-id', '5'])).error!,
    /--chain-id and --contract together/,
  );
  const prot = await run('push', [
    file('p.json', { uplink: { url: 'mqtt://b', password: 'x' } }),
    '--device',
    DEVICE,
    ...base,
  ]);
  t.is(prot.code, 1);
  t.regex(prot.error!, /^CONFIG_KEY_PROTECTED: .*uplink\.password/);
  const notJson = file('n.json', 'x');
  writeFileSync(notJson, '{');
  t.regex((await run('push', [notJson, '--device', DEVICE, ...base])).error!, /^CONFIG_INVALID/);
  t.regex((await run('push', [f, '--device', DEVICE, ...base])).error!, /^UPLINK_CONNECT/);
});

test('status and history from the state directory of the agent config', async (t) => {
  const stateDir = join(dir, 'state');
  const cfg = file('agent.json', {
    podId: 'IT002E61899978',
    stateDir,
    uplink: { url: 'mqtt://127.0.0.1:1' },
    remoteConfig: { issuers: [op.address] },
  });
  t.like(JSON.parse((await run('status', ['--config', cfg, '--json'])).out), { state: 'base', revision: 0 });
  t.deepEqual(JSON.parse((await run('history', ['--config', cfg, '--json'])).out), { entries: [] });
  const files = new ConfigFiles(stateDir);
  const doc = signConfig(
    { lines: [] },
    { deviceId: DEVICE, revision: 3, atMs: 1000 },
    op,
    lightNodeDomain(VECTOR_CHAIN_ID, VECTOR_VERIFYING_CONTRACT),
  );
  files.setPending(doc, 1000);
  t.like(JSON.parse((await run('status', ['--config', cfg, '--json'])).out), {
    state: 'pending',
    revision: 3,
    appliedMs: null,
    pending: { revision: 3 },
  });
  files.promotePending(2000);
  files.record({
    revision: 3,
    configHash: doc.message.configHash,
    issuer: op.address,
    state: 'applied',
    reason: '',
    detail: 'ok',
    atMs: 2000,
  });
  t.like(JSON.parse((await run('status', ['--config', cfg, '--json'])).out), {
    state: 'applied',
    revision: 3,
    appliedMs: 2000,
    pending: null,
  });
  t.regex((await run('history', ['--config', cfg])).out, /r3 {2}applied {2}ok/);
  t.regex((await run('status', ['--config', cfg, '--socket', 'x'])).error!, /one of them/);
  const plain = file('plain.json', { podId: 'IT002E61899978', stateDir, uplink: { url: 'mqtt://127.0.0.1:1' } });
  t.regex((await run('status', ['--config', plain])).error!, /no remoteConfig key/);
});
