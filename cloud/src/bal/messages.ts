/**
 * The signed JSON messages a device publishes to the cloud besides its batches — declared gaps (`ln/v1/{id}/gap`),
 * acks (`…/ack`) and QoS reports (`…/qos`) — checked one way: the envelope by the topic codec, the fields by the
 * SCD's own schema (ingest/schema.ts), the topic device = the message's `deviceId`, then the EIP-712 signature
 * (low-s) against the device's registered key (DEVICE_UNREGISTERED / DEVICE_REVOKED / SIGNER_MISMATCH).
 *
 * Verified acks and QoS reports wait in the ledger's `messages` table (the outbox here) until the SCD has them; the
 * table keeps each (deviceId, seq) afterwards, so a redelivery is recognised (duplicate) and other content for a seq
 * already accepted is refused (SEQ_CONFLICT).
 */
import type Database from 'better-sqlite3';
import type { z } from 'zod';
import {
  LightNodeError,
  topicCodecs,
  verifySigned,
  type Ack,
  type Eip712Domain,
  type Gap,
  type QosReport,
  type RecoverFn,
  type TopicPayloads,
} from '@lightnode/protocols';
import type { RegisteredKey } from '../chain/client.js';
import { parseBody } from '../http/body.js';
import { canonicalMessage, deviceMessageSchemas, gapMessageSchema } from '../ingest/schema.js';
import { ledgerIo, messageFromDb, type MessageDbRow, type MessageRow } from './ledger-rows.js';
import { expectedSigner } from './registry.js';

export type SignedLeaf = 'gap' | 'ack' | 'qos';
interface Messages {
  gap: Gap;
  ack: Ack;
  qos: QosReport;
}

export interface VerifiedMessage<L extends SignedLeaf> {
  /** Lowercase 0x address (= the topic's device). */
  deviceId: string;
  /** The envelope as it arrived (what was verified). */
  signed: TopicPayloads[L];
  /** Its fields as the schema parsed them. */
  message: Messages[L];
}

/** Decodes and verifies a device's signed message on `ln/v1/{topicDevice}/{leaf}`; throws with the reason. */
export async function verifyDeviceMessage<L extends SignedLeaf>(
  leaf: L,
  topicDevice: string,
  payload: Uint8Array,
  v: { keyOf(deviceId: string): Promise<RegisteredKey>; domain: Eip712Domain; recover: RecoverFn },
): Promise<VerifiedMessage<L>> {
  const signed = topicCodecs[leaf].decode(payload);
  const schema = (leaf === 'gap' ? gapMessageSchema : deviceMessageSchemas[leaf]) as z.ZodType<Messages[L]>;
  const message = parseBody(schema, signed.message, `${leaf}.message`);
  const deviceId = message.deviceId.toLowerCase();
  if (deviceId !== topicDevice)
    throw new LightNodeError('SCHEMA_INVALID', `${leaf} for ${deviceId} arrived on the topic of ${topicDevice}`, {
      topicDevice,
      messageDevice: deviceId,
    });
  const expected = expectedSigner(await v.keyOf(deviceId));
  verifySigned(signed, v.domain, { expectedSigner: expected, recover: v.recover });
  return { deviceId, signed, message };
}

export class MessageOutbox {
  private readonly st;
  constructor(db: Database.Database) {
    this.st = {
      bySeq: db.prepare<[string, number], MessageDbRow>('SELECT * FROM messages WHERE device_id = ? AND seq = ?'),
      insert: db.prepare(
        'INSERT INTO messages (device_id, seq, kind, canonical, signed, received_ms) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      pending: db.prepare<[number], MessageDbRow>(
        'SELECT * FROM messages WHERE forwarded = 0 ORDER BY received_ms, device_id, seq LIMIT ?',
      ),
      forwarded: db.prepare('UPDATE messages SET forwarded = 1 WHERE device_id = ? AND seq = ?'),
      refuse: db.prepare('UPDATE messages SET forwarded = 2 WHERE device_id = ? AND seq = ?'),
    };
    this.markForwarded = db.transaction((rows: readonly MessageRow[]) => {
      for (const r of rows) this.st.forwarded.run(r.deviceId, r.seq);
    });
  }

  /**
   * Records a verified ack / QoS report: `duplicate` when the same message is here already (idempotent), SEQ_CONFLICT
   * when its (deviceId, seq) holds other content. Storage failures are IO_ERROR (do not acknowledge).
   */
  record(v: VerifiedMessage<'ack' | 'qos'>, kind: 'ack' | 'qos', receivedMs: number): 'accepted' | 'duplicate' {
    return ledgerIo('recording a message', () => {
      const seq = v.message.seq;
      const canonical = canonicalMessage(kind, v.message);
      const had = this.st.bySeq.get(v.deviceId, seq);
      if (had && had.kind === kind && had.canonical === canonical) return 'duplicate';
      if (had)
        throw new LightNodeError(
          'SEQ_CONFLICT',
          `${kind} ${v.deviceId}/${seq}: the ${had.kind} accepted with that message seq has other content (a replayed seq)`,
          { deviceId: v.deviceId, seq },
        );
      this.st.insert.run(v.deviceId, seq, kind, canonical, JSON.stringify(v.signed), receivedMs);
      return 'accepted';
    });
  }

  /** The oldest messages not yet forwarded to the SCD. */
  pending(limit: number): MessageRow[] {
    return this.st.pending.all(limit).map(messageFromDb);
  }

  /** After the SCD has them: kept for dedupe, no longer pending. */
  readonly markForwarded: (rows: readonly MessageRow[]) => void;

  /**
   * A message the SCD refused for good (SEQ_CONFLICT: another BAL stored other content for its seq): no longer
   * pending; kept, so that a redelivery is a duplicate rather than another refusal.
   */
  refuse(r: MessageRow): void {
    this.st.refuse.run(r.deviceId, r.seq);
  }
}

/** The index of the message a SEQ_CONFLICT from the SCD names (`messages.{i}`, in process or over HTTP). */
export function conflictIndex(e: LightNodeError): number | undefined {
  if (typeof e.context.index === 'number') return e.context.index;
  const field = e.context.field;
  const m = typeof field === 'string' ? /^messages\.(\d+)/.exec(field) : null;
  return m ? Number(m[1]) : undefined;
}
