/**
 * JSON documents people and other platforms hand around — a batch, a signed setpoint / ack / gap / QoS report, a
 * single-sample proof, or a test-vector file — and one entry point that verifies any of them
 * (`lightnode protocol verify FILE`).
 */
import { LightNodeError, invalidField } from '../errors.js';
import { bytesEqual, fromHex, toHex } from './canonical.js';
import {
  batchDigest,
  verifyBatch,
  verifySampleProof,
  type BatchHeader,
  type SampleProof,
  type SignedBatch,
} from './batch.js';
import { lightNodeDomain, VECTOR_CHAIN_ID, VECTOR_VERIFYING_CONTRACT, type Eip712Domain } from './eip712.js';
import { merkleLevels, verifyMerkleProof } from './merkle.js';
import { verifySigned } from './messages.js';
import { checkConfigHash, checkReportHash } from './provisioning.js';
import { encodeSample, validateSample } from './sample.js';
import type { RecoverFn } from './signer.js';

/** The JSON form of a signed batch. */
export interface BatchDocument {
  kind: 'batch';
  header: BatchHeader;
  samples: unknown[];
  signature: string;
}

export function batchToDocument(b: SignedBatch): BatchDocument {
  return { kind: 'batch', header: b.header, samples: b.samples, signature: toHex(b.signature) };
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseHeader(h: unknown): BatchHeader {
  if (!isObj(h)) throw invalidField('SCHEMA_INVALID', 'header', 'an object', h);
  for (const k of ['version', 'firstSeq', 'lastSeq', 'count', 'windowStartMs', 'windowEndMs'])
    if (typeof h[k] !== 'number' || !Number.isSafeInteger(h[k]))
      throw invalidField('SCHEMA_INVALID', `header.${k}`, 'an integer', h[k]);
  for (const k of ['deviceId', 'podId', 'root'])
    if (typeof h[k] !== 'string') throw invalidField('SCHEMA_INVALID', `header.${k}`, 'a string', h[k]);
  return h as unknown as BatchHeader;
}

export function batchFromDocument(d: Record<string, unknown>): SignedBatch {
  if (!Array.isArray(d.samples)) throw invalidField('SCHEMA_INVALID', 'samples', 'an array of samples', d.samples);
  const samples = d.samples.map((s, i) => validateSample(s, `samples[${i}]`));
  if (typeof d.signature !== 'string')
    throw invalidField('SCHEMA_INVALID', 'signature', '0x + 130 hex digits', d.signature);
  return { header: parseHeader(d.header), samples, signature: fromHex(d.signature, 'signature') };
}

export interface VerifyDocumentResult {
  kind: string;
  signer: string;
  details: Record<string, unknown>;
}

function domainFrom(d: Record<string, unknown>, fallback: Eip712Domain): Eip712Domain {
  const td = d.typedData;
  if (isObj(td) && isObj(td.domain)) {
    const dom = td.domain;
    if (typeof dom.chainId === 'number' && typeof dom.verifyingContract === 'string')
      return lightNodeDomain(dom.chainId, dom.verifyingContract);
  }
  return fallback;
}

/**
 * Verifies any protocol JSON document; throws `LightNodeError` with the reason (bad signature, wrong signer, tampered
 * leaf, bad proof, high-s, unknown version, schema). Vector files (`privateKey`, `typedData`, `leaves`, `proofs`) are
 * checked in full: every leaf's bytes, the root, the typed data, the signature, the declared signer, every proof.
 */
export function verifyDocument(
  doc: unknown,
  opts: { domain?: Eip712Domain; recover?: RecoverFn } = {},
): VerifyDocumentResult {
  if (!isObj(doc)) throw invalidField('SCHEMA_INVALID', '$', 'a JSON object', doc);
  const domain = domainFrom(doc, opts.domain ?? lightNodeDomain(VECTOR_CHAIN_ID, VECTOR_VERIFYING_CONTRACT));
  const expectedSigner = typeof doc.signer === 'string' ? doc.signer.toLowerCase() : undefined;
  const vopts = { ...(expectedSigner ? { expectedSigner } : {}), ...(opts.recover ? { recover: opts.recover } : {}) };
  switch (doc.kind) {
    case 'batch': {
      const isVector = Array.isArray(doc.leaves);
      const header: unknown = doc.header ?? (isObj(doc.typedData) ? doc.typedData.message : undefined);
      const batch = batchFromDocument({ ...doc, header });
      const { signer, leafHashes } = verifyBatch(batch, domain, vopts);
      if (isVector) {
        const leaves = doc.leaves as unknown[];
        if (leaves.length !== batch.samples.length)
          throw invalidField('LEAF_TAMPERED', 'leaves', `${batch.samples.length} leaves`, leaves.length);
        batch.samples.forEach((s, i) => {
          if (!bytesEqual(encodeSample(s), fromHex(String(leaves[i]), `leaves[${i}]`)))
            throw new LightNodeError('LEAF_TAMPERED', `leaves[${i}]: not the canonical bytes of samples[${i}]`, {
              index: i,
            });
        });
        if (typeof doc.root === 'string' && doc.root.toLowerCase() !== batch.header.root.toLowerCase())
          throw invalidField('MERKLE_ROOT_MISMATCH', 'root', batch.header.root, doc.root);
        const levels = merkleLevels(leafHashes);
        const root = levels.at(-1)![0]!;
        if (Array.isArray(doc.proofs))
          (doc.proofs as unknown[]).forEach((p, k) => {
            if (!isObj(p) || typeof p.index !== 'number' || !Array.isArray(p.path))
              throw invalidField('PROOF_INVALID', `proofs[${k}]`, '{index, leafHash, path}', p);
            const leaf = leafHashes[p.index];
            if (
              !leaf ||
              typeof p.leafHash !== 'string' ||
              !bytesEqual(leaf, fromHex(p.leafHash, `proofs[${k}].leafHash`))
            )
              throw new LightNodeError('LEAF_TAMPERED', `proofs[${k}].leafHash does not match leaf ${p.index}`, {});
            if (
              !verifyMerkleProof(
                leaf,
                p.index,
                leafHashes.length,
                p.path.map((x, j) => fromHex(String(x), `proofs[${k}].path[${j}]`)),
                root,
              )
            )
              throw new LightNodeError(
                'PROOF_INVALID',
                `proofs[${k}]: the path of leaf ${p.index} does not lead to the root`,
                {},
              );
          });
      }
      return {
        kind: 'batch',
        signer,
        details: {
          deviceId: batch.header.deviceId,
          firstSeq: batch.header.firstSeq,
          lastSeq: batch.header.lastSeq,
          count: batch.header.count,
          root: batch.header.root,
          digest: toHex(batchDigest(batch.header, domain)),
        },
      };
    }
    case 'sample-proof': {
      const p = doc as unknown as SampleProof;
      if (!isObj(doc.sample)) throw invalidField('SCHEMA_INVALID', 'sample', 'a sample', doc.sample);
      parseHeader(doc.header);
      if (!Array.isArray(doc.path)) throw invalidField('SCHEMA_INVALID', 'path', 'an array of 0x hashes', doc.path);
      const { signer } = verifySampleProof(p, domain, vopts);
      return {
        kind: 'sample-proof',
        signer,
        details: { deviceId: p.header.deviceId, seq: p.sample.seq, root: p.header.root },
      };
    }
    case 'setpoint':
    case 'ack':
    case 'gap':
    case 'qos':
    case 'config':
    case 'config-ack':
    case 'enrollment':
    case 'commissioning': {
      if (typeof doc.signature !== 'string')
        throw invalidField('SCHEMA_INVALID', 'signature', '0x + 130 hex digits', doc.signature);
      const { signer } = verifySigned(
        { kind: doc.kind, message: doc.message, signature: doc.signature },
        domain,
        vopts,
      );
      // the signed-by-hash bodies: the signature covers their JCS keccak256
      if (doc.kind === 'config') checkConfigHash(doc as { message: { configHash?: unknown }; config: unknown });
      if (doc.kind === 'commissioning') checkReportHash(doc as { message: { reportHash?: unknown }; report: unknown });
      return { kind: doc.kind, signer, details: doc.message as Record<string, unknown> };
    }
    default:
      throw invalidField(
        'SCHEMA_INVALID',
        'kind',
        'batch | sample-proof | setpoint | ack | gap | qos | config | config-ack | enrollment | commissioning',
        doc.kind,
      );
  }
}
