// The published vectors, checked WITHOUT our verifier: ethers' EIP-712 implementation recovers the signer, and the
// Merkle root is recomputed here from the leaves' bytes with ethers' keccak256. Then: the committed files equal
// what the deterministic builder produces, and `verifyDocument` accepts them / refuses tampered copies.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { concat, keccak256, verifyTypedData, Wallet, type TypedDataField } from 'ethers';
import { verifyDocument } from '../index.js';
import { buildVectors } from '../testing/index.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'lightnode', 'vectors');
const load = (name: string) => JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as Record<string, any>;
const NAMES = [
  'batch-1',
  'batch-7',
  'batch-1000',
  'setpoint',
  'ack',
  'qos',
  'config',
  'config-ack',
  'enrollment',
  'commissioning',
];

// Independent Merkle recomputation (the SPEC's rules, written again here with ethers' keccak256).
function independentRoot(leafBytes: string[]): string {
  let level = leafBytes.map((b) => keccak256(concat(['0x00', b])));
  while (level.length > 1) {
    const up: string[] = [];
    for (let i = 0; i < level.length; i += 2)
      up.push(i + 1 < level.length ? keccak256(concat(['0x01', level[i]!, level[i + 1]!])) : level[i]!);
    level = up;
  }
  return level[0]!;
}
function independentProofRoot(leafHash: string, index: number, count: number, path: string[]): string {
  let h = leafHash;
  let i = index;
  let n = count;
  let k = 0;
  while (n > 1) {
    if (i % 2 === 1) h = keccak256(concat(['0x01', path[k++]!, h]));
    else if (i + 1 < n) h = keccak256(concat(['0x01', h, path[k++]!]));
    i = Math.floor(i / 2);
    n = Math.ceil(n / 2);
  }
  return h;
}

for (const name of NAMES) {
  test(`vector ${name}: ethers verifyTypedData recovers the declared signer`, (t) => {
    const v = load(name);
    const { domain, types, message } = v.typedData as {
      domain: Record<string, unknown>;
      types: Record<string, TypedDataField[]>;
      message: Record<string, unknown>;
    };
    t.is(verifyTypedData(domain, types, message, v.signature as string).toLowerCase(), v.signer);
    t.is(new Wallet(v.privateKey as string).address.toLowerCase(), v.signer);
    t.is(domain.chainId, 31337);
    t.is(domain.verifyingContract, '0x5FbDB2315678afecb367f032d93F642f64180aa3');
    t.regex(String(v.privateKeyNote), /TEST KEY ONLY/);
  });
}

for (const name of ['batch-1', 'batch-7', 'batch-1000']) {
  test(`vector ${name}: an independent Merkle recomputation gives the signed root, and every proof leads to it`, (t) => {
    const v = load(name);
    const root = independentRoot(v.leaves as string[]);
    t.is(root, v.root);
    t.is((v.typedData as { message: { root: string } }).message.root, root);
    t.is((v.leaves as string[]).length, (v.samples as unknown[]).length);
    for (const p of v.proofs as { index: number; leafHash: string; path: string[] }[]) {
      t.is(keccak256(concat(['0x00', (v.leaves as string[])[p.index]!])), p.leafHash);
      t.is(independentProofRoot(p.leafHash, p.index, (v.leaves as string[]).length, p.path), root);
    }
  });
}

test('the committed vectors are exactly what the deterministic builder produces', (t) => {
  const built = buildVectors();
  for (const name of NAMES) t.deepEqual(JSON.parse(JSON.stringify(built[name])), load(name), name);
});

test('verifyDocument accepts every vector and refuses a tampered leaf, sample, signature or signer', (t) => {
  for (const name of NAMES) t.is(verifyDocument(load(name)).signer, load(name).signer);
  const b = load('batch-7');
  const leaves = [...(b.leaves as string[])];
  leaves[3] = leaves[3]!.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
  t.throws(() => verifyDocument({ ...b, leaves }), { message: /LEAF_TAMPERED|DECODE/ });
  const samples = structuredClone(b.samples) as { quantities: Record<string, number> }[];
  samples[2]!.quantities.activePowerW! += 1;
  t.throws(() => verifyDocument({ ...b, samples }), { message: /MERKLE_ROOT_MISMATCH/ });
  const sig =
    (b.signature as string).slice(0, 10) +
    ((b.signature as string)[10] === 'a' ? 'b' : 'a') +
    (b.signature as string).slice(11);
  t.throws(() => verifyDocument({ ...b, signature: sig }), { message: /SIGNATURE_INVALID|SIGNER_MISMATCH/ });
  t.throws(() => verifyDocument({ ...b, signer: '0x' + '12'.repeat(20) }), { message: /SIGNER_MISMATCH/ });
  const proofs = structuredClone(b.proofs) as { path: string[] }[];
  proofs[0]!.path[0] = '0x' + '00'.repeat(32);
  t.throws(() => verifyDocument({ ...b, proofs }), { message: /PROOF_INVALID/ });
});

// The bodies signed by hash: recomputed here with a hand-written RFC 8785 serializer (sorted keys, JSON.stringify's
// ECMAScript number and string forms: the RFC's §3.2 rules for our data) and ethers' keccak256.
function jcsIndependent(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(jcsIndependent).join(',')}]`;
  if (v !== null && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${jcsIndependent((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

test('vectors config and commissioning: the signed hash is keccak256 of the RFC 8785 bytes of the body; enrollment: of the token', (t) => {
  const c = load('config');
  t.is(keccak256(Buffer.from(jcsIndependent(c.config))), c.message.configHash);
  const r = load('commissioning');
  t.is(keccak256(Buffer.from(jcsIndependent(r.report))), r.message.reportHash);
  const e = load('enrollment');
  t.is(keccak256(Buffer.from(String(e.token), 'utf8')), e.message.tokenHash);
});

test('verifyDocument refuses a config or report whose body was changed after signing', (t) => {
  const c = load('config');
  t.throws(() => verifyDocument({ ...c, config: { ...c.config, batch: { periodS: 60 } } }), {
    message: /CONFIG_HASH_MISMATCH/,
  });
  const r = load('commissioning');
  t.throws(() => verifyDocument({ ...r, report: { ...r.report, checks: [] } }), { message: /REPORT_HASH_MISMATCH/ });
  const a = load('config-ack');
  t.throws(() => verifyDocument({ ...a, message: { ...a.message, state: 'maybe' } }), { message: /config-ack.state/ });
});
