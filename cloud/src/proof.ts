/**
 * The proof document of one sample, and its independent check.
 *
 *   sample ─(leaf = H(0x00‖canonical bytes), edge path)→ batch root ─(EIP-712 header, device signature)→ batch digest
 *   ─(leaf = H(0x00‖digest), BAL path)→ anchor-window root ─(Anchored event)→ transaction, block, contract
 *
 * Every byte of the document is checked by something: the sample and the header by the hashes, the signature by
 * recovery, the paths by the roots, the anchor fields by the chain. Hex is lowercase only (an upper-case twin of a
 * value would hash the same, so it is refused as a change), and unknown fields are refused.
 */
import { z } from 'zod';
import {
  LightNodeError,
  batchDigest,
  decodeBatchWire,
  fromHex,
  invalidField,
  leafHash,
  lightNodeDomain,
  recoverAddress,
  sampleProof,
  toHex,
  validateSample,
  verifyMerkleProof,
  verifySampleProof,
  addressFromPublicKey,
  type RecoverFn,
  type Sample,
} from '@lightnode/protocols';
import type { ChainClient } from './chain/client.js';

const hex32 = z.string().regex(/^0x[0-9a-f]{64}$/, 'lowercase 0x + 64 hex');
const address = z.string().regex(/^0x[0-9a-f]{40}$/, 'lowercase 0x + 40 hex');
const uint = z.number().int().nonnegative();

const HeaderSchema = z.strictObject({
  version: uint,
  deviceId: address,
  podId: z.string(),
  firstSeq: uint,
  lastSeq: uint,
  count: uint,
  windowStartMs: uint,
  windowEndMs: uint,
  root: hex32,
});

export const ProofDocumentSchema = z.strictObject({
  kind: z.literal('lightnode-proof'),
  v: z.literal(1),
  deviceId: address,
  seq: uint,
  sample: z.record(z.string(), z.unknown()),
  batch: z.strictObject({
    header: HeaderSchema,
    signature: z.string().regex(/^0x[0-9a-f]{130}$/, 'lowercase 0x + 130 hex'),
    index: uint,
    leafHash: hex32,
    path: z.array(hex32),
    digest: hex32,
  }),
  window: z.strictObject({
    root: hex32,
    leafCount: uint.min(1),
    startMs: uint,
    index: uint,
    leaf: hex32,
    path: z.array(hex32),
  }),
  anchor: z.strictObject({
    chainId: uint.min(1),
    contract: address,
    keyRegister: address,
    txHash: hex32,
    blockNumber: uint,
    anchorer: address,
  }),
});
export type ProofDocument = Omit<z.infer<typeof ProofDocumentSchema>, 'sample'> & { sample: Sample };

/** What a proof is built from: a stored batch (its wire bytes) with its anchor-window path and anchor. */
export interface ProofSource {
  deviceId: string;
  firstSeq: number;
  /** Base64 of the batch's wire bytes. */
  wire: string;
  windowRoot: string;
  windowIndex: number;
  windowPath: string[];
  windowLeafCount: number;
  windowStartMs: number;
  txHash: string;
  blockNumber: number;
  chainId: number;
  contract: string;
  keyRegister: string;
}

/** Builds the proof of (deviceId, seq) from a stored batch and the key that anchored its window. */
export function buildProof(row: ProofSource, seq: number, anchorer: string): ProofDocument {
  const batch = decodeBatchWire(new Uint8Array(Buffer.from(row.wire, 'base64')));
  const index = seq - batch.header.firstSeq;
  if (index < 0 || index >= batch.samples.length)
    throw new LightNodeError('NOT_FOUND', `seq ${seq} is not in batch ${row.deviceId}/${row.firstSeq}`, {});
  const p = sampleProof(batch, index);
  const domain = lightNodeDomain(row.chainId, row.keyRegister);
  const digest = batchDigest(batch.header, domain);
  return {
    kind: 'lightnode-proof',
    v: 1,
    deviceId: row.deviceId,
    seq,
    sample: p.sample,
    batch: {
      header: p.header,
      signature: p.signature,
      index,
      leafHash: p.leafHash,
      path: p.path,
      digest: toHex(digest),
    },
    window: {
      root: row.windowRoot,
      leafCount: row.windowLeafCount,
      startMs: row.windowStartMs,
      index: row.windowIndex,
      leaf: toHex(leafHash(digest)),
      path: row.windowPath,
    },
    anchor: {
      chainId: row.chainId,
      contract: row.contract.toLowerCase(),
      keyRegister: row.keyRegister.toLowerCase(),
      txHash: row.txHash,
      blockNumber: row.blockNumber,
      anchorer: anchorer.toLowerCase(),
    },
  };
}

export interface ProofCheck {
  check: string;
  ok: boolean;
  detail: string;
}

export interface ProofReport {
  /** Every check made passed (without a chain: the mathematics only, see `chainChecked`). */
  ok: boolean;
  /** Whether the key and the anchor were checked on chain. */
  chainChecked: boolean;
  deviceId?: string;
  seq?: number;
  checks: ProofCheck[];
}

/**
 * Checks a proof document. Without `chain` only the mathematics (hashes, paths, signature: `chainChecked` false —
 * the caller decides whether that is enough); with it also the key registered for the device and the Anchored event
 * of the transaction, against the contracts the chain client pins. Never throws: failures are in the report.
 */
export async function verifyProof(
  input: unknown,
  opts: { chain?: ChainClient; recover?: RecoverFn } = {},
): Promise<ProofReport> {
  const checks: ProofCheck[] = [];
  const pass = (check: string, detail: string): void => void checks.push({ check, ok: true, detail });
  const fail = (check: string, e: unknown): ProofReport => {
    checks.push({ check, ok: false, detail: e instanceof Error ? e.message : String(e) });
    return { ok: false, chainChecked: false, checks };
  };
  let doc: ProofDocument;
  try {
    const r = ProofDocumentSchema.safeParse(input);
    if (!r.success) {
      const i = r.error.issues[0]!;
      throw invalidField('SCHEMA_INVALID', i.path.join('.') || 'document', i.message, undefined);
    }
    doc = r.data as unknown as ProofDocument;
    validateSample(doc.sample, 'sample');
    if (doc.sample.deviceId !== doc.deviceId)
      throw invalidField('PROOF_INVALID', 'deviceId', doc.sample.deviceId, doc.deviceId);
    if (doc.sample.seq !== doc.seq) throw invalidField('PROOF_INVALID', 'seq', String(doc.sample.seq), doc.seq);
    pass('document', 'well-formed');
  } catch (e) {
    return fail('document', e);
  }
  const report = (chainChecked = false): ProofReport => ({
    ok: checks.every((c) => c.ok),
    chainChecked,
    deviceId: doc.deviceId,
    seq: doc.seq,
    checks,
  });
  const domain = lightNodeDomain(doc.anchor.chainId, doc.anchor.keyRegister);
  const recover = opts.recover ?? recoverAddress;
  try {
    const { signer } = verifySampleProof(
      {
        kind: 'sample-proof',
        sample: doc.sample,
        index: doc.batch.index,
        leafHash: doc.batch.leafHash,
        path: doc.batch.path,
        header: doc.batch.header,
        signature: doc.batch.signature,
      },
      domain,
      { recover },
    );
    pass(
      'sample → batch root',
      `leaf ${doc.batch.index} of ${doc.batch.header.count} leads to ${doc.batch.header.root}`,
    );
    pass('device signature', `the batch header is signed by ${signer} (EIP-712, chain ${doc.anchor.chainId}, low-s)`);
  } catch (e) {
    return { ...fail('sample → batch root → signature', e), deviceId: doc.deviceId, seq: doc.seq };
  }
  try {
    const digest = batchDigest(doc.batch.header, domain);
    if (toHex(digest) !== doc.batch.digest)
      throw invalidField('PROOF_INVALID', 'batch.digest', toHex(digest), doc.batch.digest);
    const leaf = leafHash(digest);
    if (toHex(leaf) !== doc.window.leaf)
      throw invalidField('PROOF_INVALID', 'window.leaf', toHex(leaf), doc.window.leaf);
    const ok = verifyMerkleProof(
      leaf,
      doc.window.index,
      doc.window.leafCount,
      doc.window.path.map((x, i) => fromHex(x, `window.path[${i}]`)),
      fromHex(doc.window.root, 'window.root'),
    );
    if (!ok)
      throw new LightNodeError(
        'PROOF_INVALID',
        `window.path: leaf ${doc.window.index} of ${doc.window.leafCount} does not lead to ${doc.window.root}`,
        {},
      );
    pass(
      'batch → anchor-window root',
      `leaf ${doc.window.index} of ${doc.window.leafCount} leads to ${doc.window.root}`,
    );
  } catch (e) {
    fail('batch → anchor-window root', e);
    return report();
  }
  if (!opts.chain) return report();
  const chain = opts.chain;
  if (chain.book.chainId !== doc.anchor.chainId) {
    fail('chain', `the RPC serves chain ${chain.book.chainId}, the proof is for chain ${doc.anchor.chainId}`);
    return report(true);
  }
  let anchoredAtS = 0;
  try {
    const ev = await chain.anchorEventOf(doc.anchor.txHash);
    if (!ev)
      throw new LightNodeError(
        'PROOF_INVALID',
        `transaction ${doc.anchor.txHash}: no Anchored event (or no such transaction)`,
        {},
      );
    const want: [string, unknown, unknown][] = [
      ['anchor.contract', ev.contract.toLowerCase(), doc.anchor.contract],
      ['window.root', ev.root, doc.window.root],
      ['window.leafCount', ev.leafCount, doc.window.leafCount],
      ['window.startMs', ev.slotStartMs, doc.window.startMs],
      ['anchor.blockNumber', ev.blockNumber, doc.anchor.blockNumber],
      ['anchor.anchorer', ev.anchorer.toLowerCase(), doc.anchor.anchorer],
    ];
    for (const [field, onChain, inDoc] of want)
      if (onChain !== inDoc) throw invalidField('PROOF_INVALID', field, `${String(onChain)} (on chain)`, inDoc);
    anchoredAtS = ev.anchoredAtS;
    pass(
      'anchor on chain',
      `tx ${doc.anchor.txHash} in block ${ev.blockNumber} anchored the root (contract ${ev.contract})`,
    );
  } catch (e) {
    fail('anchor on chain', e);
  }
  try {
    const k = await chain.keyOf(doc.deviceId);
    if (k.registeredAtS === 0)
      throw new LightNodeError(
        'DEVICE_UNREGISTERED',
        `device ${doc.deviceId} has no key in register ${doc.anchor.keyRegister}`,
        {},
      );
    const addr = addressFromPublicKey(fromHex(`0x04${k.publicKey.slice(2)}`));
    if (addr !== doc.deviceId) throw invalidField('SIGNER_MISMATCH', 'registered key', doc.deviceId, addr);
    if (chain.book.keyRegister.toLowerCase() !== doc.anchor.keyRegister)
      throw invalidField(
        'PROOF_INVALID',
        'anchor.keyRegister',
        chain.book.keyRegister.toLowerCase(),
        doc.anchor.keyRegister,
      );
    if (k.revokedAtS !== 0 && anchoredAtS !== 0 && k.revokedAtS <= anchoredAtS)
      throw new LightNodeError('DEVICE_REVOKED', `device ${doc.deviceId} was revoked before the anchor`, {});
    pass(
      'registered key',
      `device ${doc.deviceId} registered at ${new Date(k.registeredAtS * 1000).toISOString()}${k.revokedAtS ? `, revoked later at ${new Date(k.revokedAtS * 1000).toISOString()}` : ', active'}`,
    );
  } catch (e) {
    fail('registered key', e);
  }
  return report(true);
}
