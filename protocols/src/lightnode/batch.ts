/**
 * Batches: the samples of one window as leaves of a Merkle tree, with one EIP-712 signature over the header.
 * A single sample is provable by (sample, Merkle path, header, signature).
 */
import { LightNodeError, invalidField } from '../errors.js';
import { encodeCanonical, fromHex, toHex } from './canonical.js';
import { typedDataDigest, type Eip712Domain } from './eip712.js';
import { leafHash, merkleLevels, merkleProof, verifyMerkleProof } from './merkle.js';
import {
  PROTOCOL_VERSION,
  decodeSample,
  encodeSample,
  isDecodedValid,
  sampleToCanonical,
  validateSample,
  type Sample,
} from './sample.js';
import { checkSignatureShape, recoverAddress, type RecoverFn, type Signer } from './signer.js';

/** The signed header: the EIP-712 `Batch` struct. */
export interface BatchHeader {
  version: number;
  /** Lowercase 0x address of the device key. */
  deviceId: string;
  podId: string;
  /** seq of the first and last sample; lastSeq − firstSeq + 1 = count (samples are consecutive). */
  firstSeq: number;
  lastSeq: number;
  count: number;
  /** The batch window [windowStartMs, windowEndMs), UTC epoch ms; every sample's tsMs lies in it. */
  windowStartMs: number;
  windowEndMs: number;
  /** Merkle root over the samples' canonical bytes, 0x hex. */
  root: string;
}

export interface SignedBatch {
  header: BatchHeader;
  /** The samples in seq order. */
  samples: Sample[];
  /** 65-byte r‖s‖v over the header's EIP-712 digest. */
  signature: Uint8Array;
}

export function batchDigest(header: BatchHeader, domain: Eip712Domain): Uint8Array {
  return typedDataDigest('Batch', header as unknown as Record<string, unknown>, domain);
}

/** Seals consecutive samples of one device into a signed batch. */
export function sealBatch(
  input: { deviceId: string; podId: string; samples: Sample[]; windowStartMs: number; windowEndMs: number },
  signer: Signer,
  domain: Eip712Domain,
): SignedBatch {
  const { samples } = input;
  if (samples.length === 0)
    throw new LightNodeError('INPUT_INVALID', 'sealBatch: a batch needs at least one sample', {});
  if (input.deviceId.toLowerCase() !== signer.address)
    throw new LightNodeError(
      'SIGNER_MISMATCH',
      `sealBatch: deviceId ${input.deviceId} is not the signer's address ${signer.address}`,
      {},
    );
  const leaves = samples.map((s) => leafHash(encodeSample(s)));
  const header: BatchHeader = {
    version: PROTOCOL_VERSION,
    deviceId: signer.address,
    podId: input.podId,
    firstSeq: samples[0]!.seq,
    lastSeq: samples[samples.length - 1]!.seq,
    count: samples.length,
    windowStartMs: input.windowStartMs,
    windowEndMs: input.windowEndMs,
    root: toHex(merkleLevels(leaves).at(-1)![0]!),
  };
  checkConsistency(header, samples);
  return { header, samples, signature: signer.signDigest(batchDigest(header, domain)) };
}

function checkConsistency(h: BatchHeader, samples: readonly Sample[]): void {
  if (h.version !== PROTOCOL_VERSION)
    throw new LightNodeError(
      'VERSION_UNSUPPORTED',
      `batch.header.version: ${h.version} is not supported (speaks ${PROTOCOL_VERSION})`,
      { field: 'header.version' },
    );
  if (h.count !== samples.length)
    throw invalidField('SCHEMA_INVALID', 'header.count', `${samples.length} (the number of samples)`, h.count);
  if (h.lastSeq - h.firstSeq + 1 !== h.count)
    throw invalidField(
      'SCHEMA_INVALID',
      'header.lastSeq',
      `firstSeq + count − 1 = ${h.firstSeq + h.count - 1}`,
      h.lastSeq,
    );
  if (h.windowEndMs <= h.windowStartMs)
    throw invalidField('SCHEMA_INVALID', 'header.windowEndMs', `> windowStartMs (${h.windowStartMs})`, h.windowEndMs);
  samples.forEach((s, i) => {
    if (s.seq !== h.firstSeq + i)
      throw invalidField('SCHEMA_INVALID', `samples[${i}].seq`, `${h.firstSeq + i} (consecutive from firstSeq)`, s.seq);
    if (s.deviceId !== h.deviceId)
      throw invalidField('SCHEMA_INVALID', `samples[${i}].deviceId`, h.deviceId, s.deviceId);
    if (s.podId !== h.podId) throw invalidField('SCHEMA_INVALID', `samples[${i}].podId`, h.podId, s.podId);
    if (s.tsMs < h.windowStartMs || s.tsMs >= h.windowEndMs)
      throw invalidField(
        'SCHEMA_INVALID',
        `samples[${i}].tsMs`,
        `within [${h.windowStartMs}, ${h.windowEndMs})`,
        s.tsMs,
      );
  });
}

export interface VerifyOptions {
  /** The address the signature must recover to (e.g. the key registered for the device); default header.deviceId. */
  expectedSigner?: string;
  /** Signature recovery; default the pure-JS one. The cloud injects the native secp256k1 package. */
  recover?: RecoverFn;
}

/**
 * Verifies a batch: version, field consistency, every leaf re-hashed into the root, the signature (low-s) and the
 * signer. Throws `LightNodeError` with the reason (`MERKLE_ROOT_MISMATCH`, `SIGNATURE_INVALID`, `SIGNATURE_HIGH_S`,
 * `SIGNER_MISMATCH`, `SCHEMA_INVALID`, `VERSION_UNSUPPORTED`).
 */
export function verifyBatch(
  batch: SignedBatch,
  domain: Eip712Domain,
  opts: VerifyOptions = {},
): { signer: string; digest: Uint8Array; leafHashes: Uint8Array[] } {
  const h = batch.header;
  checkConsistency(h, batch.samples);
  const leaves = batch.samples.map((s, i) =>
    leafHash(encodeCanonical(sampleToCanonical(isDecodedValid(s) ? s : validateSample(s, `samples[${i}]`)))),
  );
  const root = merkleLevels(leaves).at(-1)![0]!;
  if (toHex(root) !== h.root.toLowerCase())
    throw new LightNodeError(
      'MERKLE_ROOT_MISMATCH',
      `batch ${h.deviceId}/${h.firstSeq}..${h.lastSeq}: the samples hash to ${toHex(root)}, the header says ${h.root}`,
      { deviceId: h.deviceId, firstSeq: h.firstSeq },
    );
  const digest = batchDigest(h, domain);
  const signer = (opts.recover ?? recoverAddress)(digest, batch.signature);
  const expected = (opts.expectedSigner ?? h.deviceId).toLowerCase();
  if (signer !== expected)
    throw new LightNodeError(
      'SIGNER_MISMATCH',
      `batch ${h.deviceId}/${h.firstSeq}: signed by ${signer}, expected ${expected}`,
      { signer, expected },
    );
  return { signer, digest, leafHashes: leaves };
}

/** A single sample's proof: everything needed to check it alone. */
export interface SampleProof {
  kind: 'sample-proof';
  sample: Sample;
  index: number;
  leafHash: string;
  path: string[];
  header: BatchHeader;
  signature: string;
}

export function sampleProof(batch: SignedBatch, index: number, levels?: Uint8Array[][]): SampleProof {
  const lv = levels ?? merkleLevels(batch.samples.map((s) => leafHash(encodeSample(s))));
  return {
    kind: 'sample-proof',
    sample: batch.samples[index]!,
    index,
    leafHash: toHex(lv[0]![index]!),
    path: merkleProof(lv, index).map(toHex),
    header: batch.header,
    signature: toHex(batch.signature),
  };
}

/** Verifies a single sample's proof: leaf bytes → leaf hash → path → header root → signature → signer. */
export function verifySampleProof(p: SampleProof, domain: Eip712Domain, opts: VerifyOptions = {}): { signer: string } {
  const bytes = encodeSample(validateSample(p.sample, 'sample'));
  const leaf = leafHash(bytes);
  if (toHex(leaf) !== p.leafHash.toLowerCase())
    throw new LightNodeError(
      'LEAF_TAMPERED',
      `proof: the sample hashes to ${toHex(leaf)}, the proof says ${p.leafHash}`,
      {},
    );
  if (p.sample.seq !== p.header.firstSeq + p.index)
    throw invalidField(
      'PROOF_INVALID',
      'index',
      `${p.sample.seq - p.header.firstSeq} (sample.seq − header.firstSeq)`,
      p.index,
    );
  if (p.sample.deviceId !== p.header.deviceId)
    throw invalidField('PROOF_INVALID', 'sample.deviceId', p.header.deviceId, p.sample.deviceId);
  const path = p.path.map((x, i) => fromHex(x, `path[${i}]`));
  if (!verifyMerkleProof(leaf, p.index, p.header.count, path, fromHex(p.header.root, 'header.root')))
    throw new LightNodeError(
      'PROOF_INVALID',
      `proof: the Merkle path of leaf ${p.index}/${p.header.count} does not lead to root ${p.header.root}`,
      {},
    );
  const digest = batchDigest(p.header, domain);
  const sig = fromHex(p.signature, 'signature');
  checkSignatureShape(sig);
  const signer = (opts.recover ?? recoverAddress)(digest, sig);
  const expected = (opts.expectedSigner ?? p.header.deviceId).toLowerCase();
  if (signer !== expected)
    throw new LightNodeError('SIGNER_MISMATCH', `proof: header signed by ${signer}, expected ${expected}`, {
      signer,
      expected,
    });
  return { signer };
}

/** Canonical bytes of each sample (the leaves' bytes). */
export function batchLeaves(batch: SignedBatch): Uint8Array[] {
  return batch.samples.map((s) => encodeSample(s));
}

export function decodeLeaves(leaves: Uint8Array[]): Sample[] {
  return leaves.map((b) => decodeSample(b));
}
