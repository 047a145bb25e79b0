/**
 * Device profiles are data: one JSON document per device model, checked by one zod schema (and a generated JSON
 * Schema, `profile.schema.json`, for editors). A profile says how to find the device, how to talk to it, where each
 * quantity lives and how to turn its registers into the protocol's integer units.
 *
 * Conversion of a point: value_in_quantity_unit = round(sign × decoded × 10^scale × 10^SF × unitFactor(unit → quantity unit)),
 * where `scale` is a fixed decimal exponent (e.g. −1 for "×0.1 V"), SF the value of the SunSpec scale-factor point named
 * by `scaleFactor` (if any), and unitFactor the exact conversion between the register's unit and the quantity's
 * (V → mV ×1000, kW → W ×1000, kWh → Wh ×1000, Hz → mHz ×1000, ratio → ‰ ×1000, % → ‰ ×10 …).
 */
import { z } from 'zod';
import { LightNodeError } from '../errors.js';
import { QUANTITIES, isQuantityName, type QuantityName } from '../lightnode/quantities.js';
import { REGISTER_TYPES, registerCount, type RegisterType, type WordOrder } from './registers.js';
import { IdentifySchema, checkIdentify } from './identify-schema.js';

/** Register units a profile may declare, and their factor to each quantity unit they convert to. */
export const REGISTER_UNITS: Record<string, Partial<Record<string, number>>> = {
  V: { mV: 1000 },
  mV: { mV: 1 },
  A: { mA: 1000 },
  mA: { mA: 1 },
  W: { W: 1 },
  kW: { W: 1000 },
  var: { var: 1 },
  kvar: { var: 1000 },
  VA: { VA: 1 },
  kVA: { VA: 1000 },
  Wh: { Wh: 1 },
  kWh: { Wh: 1000 },
  varh: { varh: 1 },
  kvarh: { varh: 1000 },
  Hz: { mHz: 1000 },
  mHz: { mHz: 1 },
  ratio: { '‰': 1000 },
  '%': { '‰': 10 },
  '‰': { '‰': 1 },
  band: { band: 1 },
  s: { s: 1 },
};

/** Serial parities a profile, the agent config and the CLI flags accept. */
export const PARITIES = ['none', 'even', 'odd'] as const;

const fc = z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)]);
const address = z.number().int().min(0).max(65535);

export const PointSchema = z
  .object({
    /** Name for reference (SunSpec point names such as `W_SF`); required when no quantity. */
    name: z.string().min(1).optional(),
    /** The protocol quantity this point feeds; omitted for helper points (scale factors, identification). */
    quantity: z.string().refine(isQuantityName, { message: 'not a quantity name of the v1 table' }).optional(),
    fc,
    /** 0-based PDU address (absolute, or relative to the model start for SunSpec model profiles). */
    address,
    type: z.enum(REGISTER_TYPES),
    /** Registers of a `string` point. */
    length: z.number().int().min(1).max(64).optional(),
    wordOrder: z.enum(['be', 'le']).optional(),
    /** The register's natural unit (see REGISTER_UNITS). */
    unit: z.string().optional(),
    /** Fixed decimal exponent: value × 10^scale (e.g. −1 for a register in 0.1 V). */
    scale: z.number().int().min(-9).max(9).optional(),
    /** Name of the SunSpec scale-factor point whose value is a further decimal exponent. */
    scaleFactor: z.string().optional(),
    /** −1 when the device's sign convention is the opposite of the quantity's (e.g. export positive). */
    sign: z.union([z.literal(1), z.literal(-1)]).optional(),
    /** Poll class: `fast` (every cycle) or `slow` (energy counters, identification). Default fast. */
    class: z.enum(['fast', 'slow']).optional(),
    access: z.enum(['r', 'rw']).optional(),
    /** `sum`: several points feed the same quantity and are added (e.g. import power + (−1) × export power). */
    combine: z.literal('sum').optional(),
  })
  .strict()
  .refine((p) => p.quantity !== undefined || p.name !== undefined, { message: 'a point needs a quantity or a name' })
  .refine((p) => p.type !== 'string' || p.length !== undefined, { message: 'a string point needs a length' });

/**
 * A writable setpoint of a generic `kind: "ess"` profile. The commanded value (W, discharge positive) is checked
 * against [min, max] (W) and refused outside (the adapter never changes a command), then written as
 * raw = sign × W / (10^scale × unitFactor(unit → W)). `revert`: the device's own revert timer, written (in s) with
 * every command; `enable`: written `value` with every command (after the setpoint) and 0 on release.
 */
export const SetpointMapSchema = z
  .object({
    command: z.literal('essPowerW'),
    /** 6 (write single register, 1-register types only) or 16 (write multiple). */
    fc: z.union([z.literal(6), z.literal(16)]),
    address,
    type: z.enum(REGISTER_TYPES),
    wordOrder: z.enum(['be', 'le']).optional(),
    unit: z.string(),
    scale: z.number().int().min(-9).max(9).optional(),
    sign: z.union([z.literal(1), z.literal(-1)]).optional(),
    /** Smallest and largest command accepted, W (discharge positive). */
    min: z.number().int(),
    max: z.number().int(),
    revert: z
      .object({ address, type: z.enum(REGISTER_TYPES) })
      .strict()
      .optional(),
    enable: z
      .object({ address, value: z.number().int().min(0).max(65535) })
      .strict()
      .optional(),
  })
  .strict();

export const ProfileSchema = z
  .object({
    $schema: z.string().optional(),
    id: z.string().regex(/^[a-z0-9-]+\/[a-z0-9-]+$/, 'vendor/model in lowercase'),
    version: z.number().int().min(1),
    vendor: z.string().min(1),
    model: z.string().min(1),
    description: z.string().min(1),
    /** Where the register map comes from (manual, public source). */
    source: z.string().min(1),
    kind: z.enum(['meter', 'gateway', 'sunspec-model', 'ess']),
    phases: z.union([z.literal(1), z.literal(3)]).optional(),
    /** SunSpec model id when kind = sunspec-model (addresses are relative to the model's ID register). */
    sunspecModel: z.number().int().min(1).max(65534).optional(),
    /** SunSpec model length L (registers after the ID and L header) of the revision the points follow. */
    sunspecLength: z.number().int().min(1).max(65533).optional(),
    $import: z.array(z.string()).optional(),
    transport: z
      .object({
        baud: z.number().int().min(300).max(921600).optional(),
        parity: z.enum(PARITIES).optional(),
        dataBits: z.union([z.literal(7), z.literal(8)]).optional(),
        stopBits: z.union([z.literal(1), z.literal(2)]).optional(),
        unitId: z.number().int().min(0).max(255).optional(),
        tcpPort: z.number().int().min(1).max(65535).optional(),
        timeoutMs: z.number().int().min(10).max(60000).optional(),
        /** Pause after this device before addressing another on the bus (some meters need it). */
        turnaroundMs: z.number().int().min(0).max(5000).optional(),
        /** Only one TCP client at a time (gateways such as Sinapsi Alfa). */
        singleClient: z.boolean().optional(),
      })
      .strict(),
    wordOrder: z.enum(['be', 'le']).optional(),
    /** How detection tells this device (identify-schema.ts): model / meter-code registers, markers, the serial. */
    identify: IdentifySchema.optional(),
    /** Register ranges that must never be read (reading them errors or has side effects). Inclusive. */
    forbidden: z.array(z.object({ fc, start: address, end: address }).strict()).optional(),
    /** Quantities every reading of this device must carry (checked by the profile test). */
    required: z.array(z.string().refine(isQuantityName, { message: 'not a quantity name' })).optional(),
    points: z.array(PointSchema),
    /** Writable setpoints (kind = ess). */
    setpoints: z.array(SetpointMapSchema).optional(),
  })
  .strict();

export type SetpointMap = z.infer<typeof SetpointMapSchema>;

export type ProfilePoint = z.infer<typeof PointSchema> & { quantity?: QuantityName };
export type Profile = Omit<z.infer<typeof ProfileSchema>, 'points'> & { points: ProfilePoint[] };

/** The JSON Schema of a profile document (generated from the zod schema). */
export function profileJsonSchema(): unknown {
  return z.toJSONSchema(ProfileSchema, { io: 'input', unrepresentable: 'any' });
}

/** Validates a profile document; `PROFILE_INVALID` names the JSON path, what was expected and what was received. */
export function parseProfile(doc: unknown, origin = 'profile'): Profile {
  const r = ProfileSchema.safeParse(doc);
  if (!r.success) {
    const first = r.error.issues[0]!;
    const path = first.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
    const received = first.path.reduce<unknown>(
      (o, k) => (o && typeof o === 'object' ? (o as Record<string | number, unknown>)[k as string] : undefined),
      doc,
    );
    throw new LightNodeError(
      'PROFILE_INVALID',
      `${origin}${path}: ${first.message} (received ${JSON.stringify(received) ?? 'nothing'})`,
      {
        path: `${origin}${path}`,
        issues: r.error.issues.length,
      },
    );
  }
  const p = r.data as Profile;
  checkProfileSemantics(p, origin);
  return p;
}

type RawDoc = Record<string, unknown>;

/**
 * Resolves `$import` over raw profile documents, before validation. A document that imports others is a set of
 * overrides on them: its fields are those of its imports in order (a later import wins), then its own; `id` and
 * `$import` are never inherited; `points` are the imported points first (import order), then its own. So a SunSpec
 * model that differs from a sibling only in its id, model number and description is a few lines that import the
 * sibling (`sunspec/meter-202` imports `sunspec/meter-201`). `PROFILE_INVALID` names an unknown import or a cycle.
 * Documents without an `id` string are passed through (the schema check names them).
 */
export function resolveProfileImports(docs: readonly unknown[]): unknown[] {
  const byId = new Map<string, RawDoc>();
  for (const d of docs)
    if (typeof d === 'object' && d !== null && typeof (d as RawDoc).id === 'string')
      byId.set((d as RawDoc).id as string, d as RawDoc);
  const done = new Map<string, RawDoc>();
  const resolve = (id: string, chain: string[]): RawDoc => {
    const ready = done.get(id);
    if (ready) return ready;
    const doc = byId.get(id);
    if (!doc)
      throw new LightNodeError('PROFILE_INVALID', `${chain.at(-1) ?? id}: $import of unknown profile ${id}`, {
        profile: id,
      });
    if (chain.includes(id))
      throw new LightNodeError('PROFILE_INVALID', `${id}: $import cycle ${[...chain, id].join(' → ')}`, {
        profile: id,
      });
    const imports = Array.isArray(doc.$import) ? doc.$import.filter((x): x is string => typeof x === 'string') : [];
    if (imports.length === 0) {
      done.set(id, doc);
      return doc;
    }
    const merged: RawDoc = {};
    const points: unknown[] = [];
    for (const dep of imports) {
      const { id: _id, $import: _imp, points: depPoints, ...fields } = resolve(dep, [...chain, id]);
      Object.assign(merged, fields);
      if (Array.isArray(depPoints)) points.push(...(depPoints as unknown[]));
    }
    const { points: own, ...fields } = doc;
    Object.assign(merged, fields, { points: [...points, ...(Array.isArray(own) ? (own as unknown[]) : [])] });
    done.set(id, merged);
    return merged;
  };
  return docs.map((d) =>
    typeof d === 'object' && d !== null && typeof (d as RawDoc).id === 'string'
      ? resolve((d as RawDoc).id as string, [])
      : d,
  );
}

/** Checks what a schema cannot: units convert, scale factors exist, registers don't overlap, nothing forbidden is mapped. */
export function checkProfileSemantics(p: Profile, origin = p.id): void {
  const fail = (msg: string, ctx: Record<string, unknown> = {}): never => {
    throw new LightNodeError('PROFILE_INVALID', `${origin}: ${msg}`, { profile: p.id, ...ctx });
  };
  const names = new Set(p.points.map((x) => x.name).filter(Boolean));
  const used = new Map<string, string>();
  for (const [i, pt] of p.points.entries()) {
    const label = pt.name ?? pt.quantity ?? `points[${i}]`;
    if (pt.quantity) {
      const qUnit = QUANTITIES[pt.quantity].unit;
      if (!pt.unit) fail(`${label}: a quantity point needs a register unit`);
      const f = REGISTER_UNITS[pt.unit!];
      if (!f)
        fail(
          `${label}: unknown register unit ${JSON.stringify(pt.unit)} (known: ${Object.keys(REGISTER_UNITS).join(', ')})`,
        );
      if (f![qUnit] === undefined)
        fail(`${label}: unit ${pt.unit} does not convert to ${qUnit} (quantity ${pt.quantity})`);
    }
    if (pt.scaleFactor && !names.has(pt.scaleFactor))
      fail(`${label}: scale factor point ${pt.scaleFactor} is not defined`);
    const n = registerCount(pt.type, pt.length ?? 0);
    for (let a = pt.address; a < pt.address + n; a++) {
      const key = `${pt.fc}:${a}`;
      const other = used.get(key);
      if (other) fail(`${label} overlaps ${other} at fc ${pt.fc} register ${a}`, { address: a });
      used.set(key, label);
      for (const f of p.forbidden ?? [])
        if (f.fc === pt.fc && a >= f.start && a <= f.end) fail(`${label} maps forbidden register ${a} (fc ${pt.fc})`);
    }
    if (pt.address + n - 1 > 65535) fail(`${label} runs past register 65535`);
    if (p.sunspecLength !== undefined && pt.address + n - 1 > p.sunspecLength + 1)
      fail(`${label} runs past the model's length L = ${p.sunspecLength} (last register ${p.sunspecLength + 1})`);
  }
  const byQuantity = new Map<string, ProfilePoint[]>();
  for (const pt of p.points) if (pt.quantity) byQuantity.set(pt.quantity, [...(byQuantity.get(pt.quantity) ?? []), pt]);
  for (const [q, pts] of byQuantity)
    if (pts.length > 1 && !pts.every((x) => x.combine === 'sum'))
      fail(`quantity ${q} is mapped ${pts.length} times (declare combine: "sum" on each to add them)`);
  for (const q of p.required ?? [])
    if (!p.points.some((x) => x.quantity === q)) fail(`required quantity ${q} is not mapped`);
  if (p.identify) checkIdentify(p.identify, fail);
  checkSetpoints(p, fail);
}

/** An ESS profile commands essPowerW once, reads essPowerW and socPermille; setpoint registers fit their fc and unit. */
function checkSetpoints(p: Profile, fail: (msg: string, ctx?: Record<string, unknown>) => never): void {
  const sps = p.setpoints ?? [];
  if (p.kind !== 'ess') {
    if (sps.length > 0) fail(`setpoints are only for kind "ess" (kind is ${JSON.stringify(p.kind)})`);
    return;
  }
  if (sps.length !== 1) fail(`an ess profile needs exactly one setpoint of command essPowerW (found ${sps.length})`);
  for (const q of ['essPowerW', 'socPermille'] as const)
    if (!p.points.some((x) => x.quantity === q)) fail(`an ess profile reads ${q}: no point maps it`);
  for (const [i, sp] of sps.entries()) {
    const label = `setpoints[${i}]`;
    if (REGISTER_UNITS[sp.unit]?.W === undefined)
      fail(`${label}: unit ${JSON.stringify(sp.unit)} does not convert to W`);
    if (sp.type === 'string') fail(`${label}: a setpoint cannot be a string`);
    if (sp.fc === 6 && registerCount(sp.type) !== 1)
      fail(`${label}: fc 6 writes one register, type ${sp.type} has ${registerCount(sp.type)} (use fc 16)`);
    if (sp.min > sp.max) fail(`${label}: min ${sp.min} > max ${sp.max}`);
    if (sp.revert && sp.revert.type === 'string') fail(`${label}.revert: the revert timer cannot be a string`);
  }
}

/** Word order of a point (point overrides profile; default big-endian). */
export function pointWordOrder(p: Profile, pt: ProfilePoint): WordOrder {
  return pt.wordOrder ?? p.wordOrder ?? 'be';
}

/** Registers a point occupies. */
export function pointRegisters(pt: { type: RegisterType; length?: number | undefined }): number {
  return registerCount(pt.type, pt.length ?? 0);
}

/** Finds profiles by id. */
export interface ProfileLookup {
  get(id: string): Profile;
  list(): string[];
}
