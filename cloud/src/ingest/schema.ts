/**
 * The shapes of what the BAL delivers to the SCD (`POST /ingest`, `POST /ingest/gaps`, `POST /ingest/messages`, or in
 * process). Each field of a signed Gap, Ack or QosReport is held to the range of its EIP-712 type (protocols'
 * `EIP712_TYPES`), so that what is stored is what could have been signed; JSON numbers are exact only up to
 * 2^53 − 1, which bounds the 64-bit types. The BAL checks a device's message with the same schema before it verifies
 * the signature.
 */
import { z } from 'zod';
import {
  ACK_STATES,
  EIP712_TYPES,
  podIdSchema,
  type Ack,
  type Gap,
  type PrimaryType,
  type QosReport,
} from '@lightnode/protocols';
import type { MessageDelivery } from '../delivery.js';

export const ADDRESS = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'a 0x address (40 hex digits)');
const HEX32 = z.string().regex(/^0x[0-9a-f]{64}$/, 'lowercase 0x + 64 hex');
const SIGNATURE = z.string().regex(/^0x[0-9a-fA-F]{130}$/, '0x + 130 hex (r‖s‖v)');

/** A zod schema for one EIP-712 field type, within its range. */
function eip712Field(type: string): z.ZodType {
  if (type === 'address') return ADDRESS;
  if (type === 'string') return z.string().max(1024);
  if (type === 'bytes32') return z.string().regex(/^0x[0-9a-fA-F]{64}$/, '0x + 64 hex digits');
  const m = /^(u?)int(\d+)$/.exec(type);
  if (!m) throw new Error(`no schema for EIP-712 type ${type}`);
  const bits = Number(m[2]);
  const unsigned = m[1] === 'u';
  const max = Math.min(Number.MAX_SAFE_INTEGER, 2 ** (unsigned ? bits : bits - 1) - 1);
  const min = unsigned ? 0 : Math.max(Number.MIN_SAFE_INTEGER, -(2 ** (bits - 1)));
  return z
    .number({ error: `an integer (${type})` })
    .int(`an integer (${type})`)
    .min(min, `${type}: at least ${min}`)
    .max(max, `${type}: at most ${max}`);
}

/**
 * Every field of a signed message's EIP-712 type and nothing else: the PoD id by protocols' one validator, an ack's
 * state one of `ACK_STATES`, each other field within its type's range.
 */
function eip712Message<T>(primary: PrimaryType): z.ZodType<T> {
  const field = (name: string, type: string): z.ZodType =>
    name === 'podId' ? podIdSchema : primary === 'Ack' && name === 'state' ? z.enum(ACK_STATES) : eip712Field(type);
  return z.strictObject(
    Object.fromEntries(EIP712_TYPES[primary].map(([name, type]) => [name, field(name, type)])),
  ) as unknown as z.ZodType<T>;
}

/** The signed Gap message: its EIP-712 fields, firstSeq ≤ lastSeq, count = the span. */
const gapFields = eip712Message<Gap>('Gap');

export const gapMessageSchema = gapFields.superRefine((m, ctx) => {
  if (m.firstSeq > m.lastSeq)
    ctx.addIssue({ code: 'custom', path: ['lastSeq'], message: `≥ firstSeq (${m.firstSeq})` });
  else if (m.count !== m.lastSeq - m.firstSeq + 1)
    ctx.addIssue({
      code: 'custom',
      path: ['count'],
      message: `lastSeq − firstSeq + 1 = ${m.lastSeq - m.firstSeq + 1}`,
    });
});

export const signedGapSchema = z.strictObject({
  kind: z.literal('gap'),
  message: gapMessageSchema,
  signature: SIGNATURE,
});

export const gapDeliverySchema = z.strictObject({
  v: z.literal(1),
  bal: z.string().min(1).max(128),
  gaps: z.array(z.strictObject({ signed: signedGapSchema, receivedMs: z.number().int().nonnegative() })),
});

export const windowDeliverySchema = z.strictObject({
  v: z.literal(1),
  bal: z.string().min(1).max(128),
  window: z.strictObject({
    root: HEX32,
    leafCount: z.number().int().min(1),
    startMs: z.number().int(),
    endMs: z.number().int(),
  }),
  anchor: z.strictObject({
    chainId: z.number().int().min(1),
    contract: ADDRESS,
    keyRegister: ADDRESS,
    txHash: HEX32,
    blockNumber: z.number().int().nonnegative(),
    anchorer: ADDRESS,
    anchoredAtS: z.number().int().nonnegative(),
  }),
  batches: z.array(
    z.strictObject({
      wire: z.string().min(1),
      index: z.number().int().nonnegative(),
      path: z.array(HEX32),
    }),
  ),
});

/** The signed Ack and QosReport messages: their EIP-712 fields, nothing else. */
export const ackMessageSchema = eip712Message<Ack>('Ack');
export const qosMessageSchema = eip712Message<QosReport>('QosReport');

/** The device messages the BAL forwards to the SCD (topic leaf = envelope kind). */
export const DEVICE_MESSAGE_KINDS = ['ack', 'qos'] as const;
export type DeviceMessageKind = (typeof DEVICE_MESSAGE_KINDS)[number];
export const deviceMessageSchemas: Record<DeviceMessageKind, z.ZodType<Ack> | z.ZodType<QosReport>> = {
  ack: ackMessageSchema,
  qos: qosMessageSchema,
};
const PRIMARY: Record<DeviceMessageKind, PrimaryType> = { ack: 'Ack', qos: 'QosReport' };

/**
 * A message's identity for dedupe on (deviceId, seq): its fields in EIP-712 order as JSON (the signature is not part
 * of it: it was verified by the BAL, and a signer need not be deterministic).
 */
export function canonicalMessage(kind: DeviceMessageKind, message: object): string {
  const m = message as Record<string, unknown>;
  return JSON.stringify(Object.fromEntries(EIP712_TYPES[PRIMARY[kind]].map(([name]) => [name, m[name]])));
}

/** At most this many messages in one `POST /ingest/messages`. */
export const MAX_MESSAGES_PER_DELIVERY = 1000;

const deliveredMessage = (kind: DeviceMessageKind) =>
  z.strictObject({
    kind: z.literal(kind),
    message: deviceMessageSchemas[kind],
    signature: SIGNATURE,
    /** The device of the topic it arrived on (= message.deviceId, checked). */
    deviceId: ADDRESS,
    receivedMs: z.number().int().nonnegative(),
  });

export const messageDeliverySchema = z.strictObject({
  v: z.literal(1),
  bal: z.string().min(1).max(128),
  messages: z
    .array(z.discriminatedUnion('kind', [deliveredMessage('ack'), deliveredMessage('qos')]))
    .min(1)
    .max(MAX_MESSAGES_PER_DELIVERY),
}) as unknown as z.ZodType<MessageDelivery>;
