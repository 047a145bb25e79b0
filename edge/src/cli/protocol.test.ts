import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  addressFromPublicKey,
  fromHex,
  isLightNodeError,
  sampleProof,
  sealBatch,
  toHex,
  toHighS,
  type Command,
  type CommandIo,
} from '@lightnode/protocols';
import { testDomain, testSamples, testSigner } from '@lightnode/protocols/testing';
import group from './protocol.js';

const vectors = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'protocols', 'lightnode', 'vectors');
const dir = mkdtempSync(join(tmpdir(), 'ln-cli-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

async function run(cmd: 'verify' | 'keygen', argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CommandIo = {
    stdout: (s) => (out += s + '\n'),
    stderr: (s) => (err += s + '\n'),
    env: {},
    cwd: dir,
    signal: new AbortController().signal,
  };
  try {
    return { code: await (group.subcommands[cmd] as Command).run(argv, io), out, err };
  } catch (e) {
    if (isLightNodeError(e)) return { code: e.code === 'USAGE' ? 2 : 1, out, err: err + e.message };
    throw e;
  }
}
const write = (name: string, doc: unknown): string => {
  const p = join(dir, name);
  writeFileSync(p, JSON.stringify(doc));
  return p;
};

test('every published vector verifies (exit 0)', async (t) => {
  for (const v of ['batch-1', 'batch-7', 'batch-1000', 'setpoint', 'ack']) {
    const r = await run('verify', [join(vectors, `${v}.json`), '--json']);
    t.is(r.code, 0, r.err);
    t.true((JSON.parse(r.out) as { valid: boolean }).valid);
  }
});

test('each kind of forgery exits 1 with its reason', async (t) => {
  const dom = testDomain();
  const signer = testSigner();
  const samples = testSamples(5);
  const b = sealBatch(
    {
      deviceId: signer.address,
      podId: 'IT002E61899978',
      samples,
      windowStartMs: samples[0]!.tsMs,
      windowEndMs: samples[0]!.tsMs + 60_000,
    },
    signer,
    dom,
  );
  const doc = { kind: 'batch', header: b.header, samples: b.samples, signature: toHex(b.signature) };
  const cases: [string, unknown, RegExp][] = [
    [
      'bad signature',
      { ...doc, signature: toHex(new Uint8Array(65).fill(1)).replace(/01$/, '1b') },
      /SIGNATURE_INVALID|SIGNER_MISMATCH/,
    ],
    ['wrong signer', { ...doc, signer: '0x' + '22'.repeat(20) }, /SIGNER_MISMATCH/],
    [
      'tampered leaf',
      { ...doc, samples: [{ ...b.samples[0], tsMs: b.samples[0]!.tsMs + 1 }, ...b.samples.slice(1)] },
      /MERKLE_ROOT_MISMATCH/,
    ],
    ['high-s', { ...doc, signature: toHex(toHighS(b.signature)) }, /SIGNATURE_HIGH_S/],
    ['unknown version', { ...doc, header: { ...b.header, version: 9 } }, /VERSION_UNSUPPORTED/],
    [
      'bad proof',
      { ...sampleProof(b, 2), path: sampleProof(b, 2).path.map((p, i) => (i === 0 ? '0x' + '00'.repeat(32) : p)) },
      /PROOF_INVALID/,
    ],
  ];
  for (const [name, d, reason] of cases) {
    const r = await run('verify', [write(`${name}.json`, d)]);
    t.is(r.code, 1, name);
    t.regex(r.err, reason, name);
  }
  const good = await run('verify', [write('proof.json', sampleProof(b, 2))]);
  t.is(good.code, 0, good.err);
});

test('usage errors exit 2; unreadable or non-JSON files exit 1', async (t) => {
  t.is((await run('verify', [])).code, 2);
  t.is((await run('verify', ['a', '--bogus'])).code, 2);
  t.is((await run('verify', [join(dir, 'nope.json')])).code, 1);
  writeFileSync(join(dir, 'x.json'), '{"kind":');
  t.regex((await run('verify', [join(dir, 'x.json')])).err, /not JSON/);
});

test('keygen writes a 0600 key file and prints its address and public key, never the private key', async (t) => {
  const out = join(dir, 'dev.key');
  const r = await run('keygen', ['--out', out, '--json']);
  t.is(r.code, 0);
  const { keyFile, address, publicKey } = JSON.parse(r.out) as { keyFile: string; address: string; publicKey: string };
  t.is(statSync(out).mode & 0o777, 0o600);
  const key = JSON.parse(readFileSync(out, 'utf8')) as { privateKey: string; address: string };
  t.false(r.out.includes(key.privateKey.slice(2)));
  t.is(keyFile, out);
  t.is(address, key.address);
  t.regex(address, /^0x[0-9a-f]{40}$/);
  t.regex(publicKey, /^0x04[0-9a-f]{128}$/);
  t.is(addressFromPublicKey(fromHex(publicKey)), address);
});

test('keygen in plain text shows the address and the public key', async (t) => {
  const out = join(dir, 'plain.key');
  const r = await run('keygen', ['--out', out]);
  t.is(r.code, 0);
  const key = JSON.parse(readFileSync(out, 'utf8')) as { address: string };
  t.true(r.out.includes(key.address));
  t.regex(r.out, /publicKey +0x04[0-9a-f]{128}\n/);
});
