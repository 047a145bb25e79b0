/**
 * Device identification from a profile's `identify` block (schema and rules: identify-schema.ts): the reads to make
 * (`identifyPlan`), the verdict on what they returned (`matchIdentify`), and the other side, the registers a device
 * of this profile answers (`identifyImage`, for the simulator and tests). Pure: the caller does the reads.
 */
import { RegisterImage } from './image.js';
import { identifyRegisterCount, type IdentifyRegister } from './identify-schema.js';
import type { Profile } from './profile.js';
import { decodeRegisters, decodeString, encodeRegisters, encodeString } from './registers.js';

export * from './identify-schema.js';

/** One read of the plan: `count` registers from the absolute 0-based `address` with function code `fc`. */
export interface IdentifyRead {
  name: string;
  fc: 3 | 4;
  address: number;
  count: number;
}

/** The verdict on a device against one profile. */
export interface IdentifyMatch {
  matched: boolean;
  /** The model register's value, through `models` when it names it (e.g. "EM24DINAV53XE1X", "SDM630Modbus", "203"). */
  model?: string;
  serial?: string;
  /** Decoded identify registers by name (raw: no scale, no sentinel); absent when not read or not decodable. */
  values: Record<string, number | string>;
  /** Why it matched or not, e.g. "ModelCode 1651 ∉ {71..73, 1648..1653}". */
  detail: string;
}

/** The reads that identify a device of `profile`, one per identify register, in declaration order (none: []). */
export function identifyPlan(profile: Profile): IdentifyRead[] {
  return (profile.identify?.registers ?? []).map((r) => ({
    name: r.name,
    fc: r.fc,
    address: r.address,
    count: identifyRegisterCount(r),
  }));
}

function decode(profile: Profile, r: IdentifyRegister, words: readonly number[]): number | string | null {
  if (r.type === 'string')
    return decodeString(words)
      .replace(/\0/g, '')
      .replace(/^\s+|\s+$/g, '');
  return decodeRegisters(r.type, words, r.wordOrder ?? profile.wordOrder ?? 'be', { sentinels: false }).value;
}

function accepts(accepted: number | string, v: number | string): boolean {
  if (typeof accepted === 'string' && typeof v === 'string')
    return accepted.endsWith('*') ? v.startsWith(accepted.slice(0, -1)) : v === accepted;
  return accepted === v;
}

/** `{71..73, 1648..1653}`: runs of consecutive integers shortened. */
function describeSet(values: readonly (number | string)[]): string {
  const parts: string[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    let j = i;
    if (typeof v === 'number' && Number.isInteger(v))
      while (typeof values[j + 1] === 'number' && values[j + 1] === (values[j] as number) + 1) j++;
    parts.push(j >= i + 2 ? `${v}..${String(values[j])}` : JSON.stringify(v));
    if (j >= i + 2) i = j;
  }
  return `{${parts.join(', ')}}`;
}

/**
 * Judges the words read for each plan entry (by name, as `identifyPlan` gave them) against the profile: matched when
 * every register with `accept` holds an accepted value and every register with only `models` one of its keys. A
 * missing or short read of such a register does not match; of a serial or plain model register it is only not
 * reported. A profile without `identify` never matches.
 */
export function matchIdentify(profile: Profile, words: Record<string, number[]>): IdentifyMatch {
  const registers = profile.identify?.registers ?? [];
  const values: Record<string, number | string> = {};
  if (registers.length === 0) return { matched: false, values, detail: `${profile.id} declares no identify registers` };
  const reasons: string[] = [];
  const hits: string[] = [];
  let model: string | undefined;
  let serial: string | undefined;
  for (const r of registers) {
    const constrained = r.accept !== undefined || r.models !== undefined;
    const w = words[r.name];
    const n = identifyRegisterCount(r);
    if (!w || w.length !== n) {
      if (constrained) reasons.push(`${r.name}: ${w ? `${w.length} registers read, ${n} expected` : 'not read'}`);
      continue;
    }
    const v = decode(profile, r, w);
    if (v === null) {
      if (constrained) reasons.push(`${r.name}: not a ${r.type} value`);
      continue;
    }
    values[r.name] = v;
    const named = r.models?.[String(v)];
    if (r.role === 'model' && model === undefined) model = named ?? String(v);
    if (r.role === 'serial' && serial === undefined && String(v) !== '') serial = String(v);
    if (r.accept) {
      if (r.accept.some((a) => accepts(a, v))) hits.push(`${r.name} ${JSON.stringify(v)}${named ? ` (${named})` : ''}`);
      else reasons.push(`${r.name} ${JSON.stringify(v)} ∉ ${describeSet(r.accept)}`);
    } else if (r.models) {
      if (named !== undefined) hits.push(`${r.name} ${JSON.stringify(v)} (${named})`);
      else reasons.push(`${r.name} ${JSON.stringify(v)} is none of the models ${describeSet(Object.keys(r.models))}`);
    }
  }
  const matched = reasons.length === 0;
  return {
    matched,
    ...(model !== undefined ? { model } : {}),
    ...(serial !== undefined ? { serial } : {}),
    values,
    detail: matched ? `${profile.id}: ${hits.join(', ')}` : `${profile.id}: ${reasons.join('; ')}`,
  };
}

/** The value a device of this profile shows in `r`: the first accepted (a prefix without its `*`), else the first model. */
function identifyingValue(r: IdentifyRegister): number | string | undefined {
  const first = r.accept?.[0] ?? Object.keys(r.models ?? {})[0];
  if (first === undefined) return undefined;
  if (r.type !== 'string') return Number(first);
  return typeof first === 'string' && first.endsWith('*') ? first.slice(0, -1) : first;
}

/**
 * Writes into `image` (or a new one) the identify registers a device of this profile answers: the identifying value
 * of each register with `accept` / `models` (always, over whatever is there), and — where the image holds nothing yet
 * — the serial (`serial`, default 1; string registers get "SN" and six digits) and a plain model register (the
 * profile's model). The inverse of `matchIdentify`: the plan read from this image matches.
 */
export function identifyImage(profile: Profile, opts: { image?: RegisterImage; serial?: number } = {}): RegisterImage {
  const img = opts.image ?? new RegisterImage();
  const serial = opts.serial ?? 1;
  for (const r of profile.identify?.registers ?? []) {
    const n = identifyRegisterCount(r);
    let v = identifyingValue(r);
    if (v === undefined) {
      if (img.has(r.fc, r.address)) continue;
      v = r.role === 'serial' ? (r.type === 'string' ? `SN${String(serial).padStart(6, '0')}` : serial) : profile.model;
    }
    const order = r.wordOrder ?? profile.wordOrder ?? 'be';
    if (r.type === 'string') img.set(r.fc, r.address, encodeString(String(v), n));
    else img.set(r.fc, r.address, encodeRegisters(r.type, typeof v === 'number' ? v : 0, order));
  }
  return img;
}
