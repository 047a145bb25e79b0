/**
 * The `identify` block of a device profile: the registers detection reads to tell which device answers (a model or
 * meter code, a marker such as SunSpec's "SunS", the serial number). A profile matches a device when every register
 * with `accept` reads one of its values, and every register with `models` but no `accept` reads one of its keys;
 * `serial` registers (and `model` registers without either) are read and reported, never matched. Addresses are
 * absolute (also in SunSpec model profiles, whose points are relative to the model start). The matcher is in
 * identify.ts; this file holds the schema and the checks a schema cannot make (kept apart so that profile.ts and
 * identify.ts do not import each other).
 */
import { z } from 'zod';
import { REGISTER_TYPES, registerCount } from './registers.js';

/** What an identification register says: the device model, its serial number, or a marker of the family. */
export const IDENTIFY_ROLES = ['model', 'serial', 'marker'] as const;
export type IdentifyRole = (typeof IDENTIFY_ROLES)[number];

const address = z.number().int().min(0).max(65535);

export const IdentifyRegisterSchema = z
  .object({
    /** Name of the read (the key of `IdentifyMatch.values` and of the words passed to `matchIdentify`). */
    name: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'a name of letters, digits and _ (starting with a letter)'),
    /** 3 (holding registers) or 4 (input registers). */
    fc: z.union([z.literal(3), z.literal(4)]),
    /** Absolute 0-based PDU address. */
    address,
    type: z.enum(REGISTER_TYPES),
    /** Registers of a `string` register (2 ASCII characters each). */
    length: z.number().int().min(1).max(64).optional(),
    /** Word order (default: the profile's, else big-endian). */
    wordOrder: z.enum(['be', 'le']).optional(),
    role: z.enum(IDENTIFY_ROLES),
    /**
     * Values that identify the device: numbers for numeric types (compared with the raw decoded value, no scale and
     * no sentinel), strings for `string` (equal after trailing NUL/space trimming, or a prefix when ending in `*`).
     */
    accept: z
      .array(z.union([z.number(), z.string().min(1)]))
      .min(1)
      .optional(),
    /** Value (decimal for numeric types) → model name, e.g. `{"1651": "EM24DINAV53XE1X"}`. */
    models: z.record(z.string().min(1), z.string().min(1)).optional(),
  })
  .strict()
  .refine((r) => r.type !== 'string' || r.length !== undefined, {
    message: 'a string register needs a length',
    path: ['length'],
  })
  .refine((r) => r.type === 'string' || r.length === undefined, {
    message: 'length is for string registers only',
    path: ['length'],
  })
  .refine((r) => r.role !== 'serial' || (r.accept === undefined && r.models === undefined), {
    message: 'a serial register is read and reported, never matched: it takes no accept and no models',
    path: ['role'],
  })
  .refine((r) => (r.accept ?? []).every((v) => (r.type === 'string' ? typeof v === 'string' : typeof v === 'number')), {
    message: 'accepted values of a string register are strings, of a numeric register numbers',
    path: ['accept'],
  })
  .refine((r) => r.type === 'string' || Object.keys(r.models ?? {}).every((k) => /^-?\d+$/.test(k)), {
    message: 'the models keys of a numeric register are its values in decimal',
    path: ['models'],
  });

export const IdentifySchema = z
  .object({ registers: z.array(IdentifyRegisterSchema).min(1) })
  .strict()
  .refine((x) => new Set(x.registers.map((r) => r.name)).size === x.registers.length, {
    message: 'identify register names must be unique',
    path: ['registers'],
  })
  .refine((x) => x.registers.some((r) => r.accept !== undefined || r.models !== undefined), {
    message: 'at least one identify register needs accept or models (else every device would match)',
    path: ['registers'],
  });

export type IdentifyRegister = z.infer<typeof IdentifyRegisterSchema>;
export type Identify = z.infer<typeof IdentifySchema>;

/** Registers an identification register occupies. */
export function identifyRegisterCount(r: Pick<IdentifyRegister, 'type' | 'length'>): number {
  return registerCount(r.type, r.length ?? 0);
}

/** What a schema cannot check: registers within the address space and not overlapping each other. */
export function checkIdentify(identify: Identify, fail: (msg: string, ctx?: Record<string, unknown>) => never): void {
  const used = new Map<string, string>();
  for (const r of identify.registers) {
    const n = identifyRegisterCount(r);
    if (r.address + n - 1 > 65535) fail(`identify.${r.name} runs past register 65535`);
    for (let a = r.address; a < r.address + n; a++) {
      const other = used.get(`${r.fc}:${a}`);
      if (other) fail(`identify.${r.name} overlaps identify.${other} at fc ${r.fc} register ${a}`, { address: a });
      used.set(`${r.fc}:${a}`, r.name);
    }
  }
}
