/**
 * The shapes of what the BAL delivers to the SCD (`POST /ingest`, `POST /ingest/gaps`, or in process). Each Gap field
 * is held to the range of its EIP-712 type (protocols' `EIP712_TYPES.Gap`), so that what is stored is what could
 * have been signed; JSON numbers are exact only up to 2^53 − 1, which bounds the 64-bit types.
 */
import { z } from 'zod';
import { EIP712_TYPES, podIdSchema, type Gap } from '@lightnode/protocols';

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
 * The signed Gap message: every field of `EIP712_TYPES.Gap` (the PoD id by protocols' one validator), nothing else,
 * firstSeq ≤ lastSeq, count = the span.
 */
const gapFields = z.strictObject(
  Object.fromEntries(
    EIP712_TYPES.Gap.map(([name, type]) => [name, name === 'podId' ? podIdSchema : eip712Field(type)]),
  ),
) as unknown as z.ZodType<Gap>;

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
