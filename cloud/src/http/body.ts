/**
 * Request bodies: read up to a limit (over it → `BODY_TOO_LARGE`, HTTP 413), parsed as JSON (`DECODE_ERROR`, 400),
 * checked by a zod schema (`SCHEMA_INVALID` naming the field, 400).
 */
import type { IncomingMessage } from 'node:http';
import type { z } from 'zod';
import { LightNodeError, describeValue, invalidField } from '@lightnode/protocols';

/** Default body limit of a route (1 MiB). */
export const DEFAULT_BODY_LIMIT = 1 << 20;
/** How much of an oversized body is still drained so that the client reads the 413 (beyond it the socket closes). */
const DRAIN_BYTES = 8 << 20;

const tooLarge = (maxBytes: number, got: string): LightNodeError =>
  new LightNodeError('BODY_TOO_LARGE', `body: expected at most ${maxBytes} bytes, received ${got}`, {
    field: 'body',
    maxBytes,
  });

/** The body as bytes, at most `maxBytes`. */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n <= maxBytes) chunks.push(c);
    else if (n > maxBytes + DRAIN_BYTES) break; // stop draining: the connection is closed after the answer
  }
  if (n > maxBytes) throw tooLarge(maxBytes, Number.isFinite(declared) && declared > n ? `${declared}` : `${n}`);
  return Buffer.concat(chunks);
}

/** Parses JSON text; a failure is DECODE_ERROR naming `field`. */
export function parseJson(text: string, field = 'body'): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new LightNodeError('DECODE_ERROR', `${field}: not JSON (${(e as Error).message})`, { field });
  }
}

/** Validates a value; a failure is SCHEMA_INVALID naming the field (`a.b.0.c`), what was expected and received. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown, prefix = ''): T {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const i = r.error.issues[0]!;
  const path = i.path.map(String);
  const field = [prefix, ...path].filter(Boolean).join('.') || 'body';
  let received: unknown = body;
  for (const k of path) received = (received as Record<string, unknown> | undefined)?.[k];
  // a validator that already says "expected …, received …" (e.g. protocols' podIdSchema, zod's own type errors) is
  // not wrapped again
  const message = i.message.replace(/^Invalid input: /, '');
  if (message.startsWith('expected '))
    throw new LightNodeError('SCHEMA_INVALID', `${field}: ${message}`, { field, received: describeValue(received) });
  throw invalidField('SCHEMA_INVALID', field, message, received);
}
