/**
 * A delivery from the BAL is checked here, once, before anything is stored (HTTP and the embedded BAL alike):
 *
 * - a window: its shape; each batch's wire bytes decoded; its EIP-712 digest computed in the window's domain; its
 *   anchor-window path leading from that digest's leaf to the root — so a proof the SCD later serves was true when
 *   it stored it;
 * - gaps: each signed Gap's fields within their EIP-712 types' ranges, firstSeq ≤ lastSeq, count = the span;
 * - messages (acks, QoS reports): each one's fields within their EIP-712 types' ranges, its topic device = the
 *   message's `deviceId`.
 *
 * Any failure is a LightNodeError naming the field (HTTP 400); the result carries the decoded batches and digests, so
 * the store only writes.
 */
import {
  LightNodeError,
  batchDigest,
  decodeBatchWire,
  fromHex,
  isLightNodeError,
  leafHash,
  lightNodeDomain,
  toHex,
  verifyMerkleProof,
  type SignedBatch,
} from '@lightnode/protocols';
import type { DeliveredMessage, GapDelivery, MessageDelivery, WindowDelivery } from '../delivery.js';
import { parseBody } from '../http/body.js';
import { canonicalMessage, gapDeliverySchema, messageDeliverySchema, windowDeliverySchema } from './schema.js';

export interface CheckedBatch {
  /** Base64 wire bytes as delivered (what the SCD stores and proofs are built from). */
  wire: string;
  index: number;
  path: string[];
  batch: SignedBatch;
  /** 0x hex EIP-712 digest of the header in the window's domain. */
  digest: string;
}

export interface CheckedWindow {
  delivery: WindowDelivery;
  batches: CheckedBatch[];
}

/** Checks a window delivery (any JSON value); throws naming the field. */
export function checkWindow(body: unknown): CheckedWindow {
  const d = parseBody<WindowDelivery>(windowDeliverySchema, body);
  const domain = lightNodeDomain(d.anchor.chainId, d.anchor.keyRegister);
  const root = fromHex(d.window.root, 'window.root');
  const batches = d.batches.map((b, i): CheckedBatch => {
    const field = `batches.${i}`;
    let batch: SignedBatch;
    try {
      batch = decodeBatchWire(new Uint8Array(Buffer.from(b.wire, 'base64')));
    } catch (e) {
      if (!isLightNodeError(e)) throw e;
      throw new LightNodeError(e.code, `${field}.wire: ${e.message}`, { ...e.context, field: `${field}.wire` });
    }
    const digest = batchDigest(batch.header, domain);
    const path = b.path.map((x, j) => fromHex(x, `${field}.path.${j}`));
    if (b.index >= d.window.leafCount || !verifyMerkleProof(leafHash(digest), b.index, d.window.leafCount, path, root))
      throw new LightNodeError(
        'PROOF_INVALID',
        `${field}: its anchor-window path does not lead to root ${d.window.root}`,
        {
          field: `${field}.path`,
        },
      );
    return { wire: b.wire, index: b.index, path: b.path, batch, digest: toHex(digest) };
  });
  return { delivery: d, batches };
}

/** Checks a gap delivery (any JSON value); throws naming the field. Nothing is rewritten: the signed JSON is kept. */
export function checkGaps(body: unknown): GapDelivery {
  return parseBody<GapDelivery>(gapDeliverySchema, body);
}

export interface CheckedMessage {
  kind: DeliveredMessage['kind'];
  /** Lowercase 0x address. */
  deviceId: string;
  seq: number;
  setpointId: string;
  atMs: number;
  /** The message's identity for dedupe (ingest/schema.ts `canonicalMessage`). */
  canonical: string;
  /** `{kind, message, signature}` as JSON: what a reader verifies. */
  signedJson: string;
  receivedMs: number;
  delivered: DeliveredMessage;
}

/** Checks a message delivery (any JSON value); throws naming the field (`messages.{i}.…`). */
export function checkMessages(body: unknown): { bal: string; messages: CheckedMessage[] } {
  const d = parseBody<MessageDelivery>(messageDeliverySchema, body);
  const messages = d.messages.map((m, i): CheckedMessage => {
    const deviceId = m.deviceId.toLowerCase();
    if (m.message.deviceId.toLowerCase() !== deviceId)
      throw new LightNodeError(
        'SCHEMA_INVALID',
        `messages.${i}.deviceId: ${m.kind} of ${m.message.deviceId.toLowerCase()} delivered as from ${deviceId}`,
        { field: `messages.${i}.deviceId` },
      );
    return {
      kind: m.kind,
      deviceId,
      seq: m.message.seq,
      setpointId: m.message.setpointId.toLowerCase(),
      atMs: m.message.atMs,
      canonical: canonicalMessage(m.kind, m.message),
      signedJson: JSON.stringify({ kind: m.kind, message: m.message, signature: m.signature }),
      receivedMs: m.receivedMs,
      delivered: m,
    };
  });
  return { bal: d.bal, messages };
}
