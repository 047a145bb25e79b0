/**
 * The Chain 2 application message set as certified Chain 2 devices publish it (Chain2Gate's decoded JSON):
 * one JSON object with exactly one top-level key — `Chain2Info`, `Chain2State` or `Chain2Data` — the latter carrying
 * `Id`, `Ts` (`YYYY/MM/DD hh:mm:ss`, about UTC), `Meter` (M1, M2, M2_2 …), `Type` (CF1 …) and `Payload`.
 * Field names are kept exactly as published and unknown fields are preserved, so `encodeChain2Frame` reproduces
 * the published bytes of a compact frame. Decoding never throws: it returns a result with a diagnostic.
 * Source: ../shared/reference/chain2.md.
 */
import { parseDlmsDate, type DlmsDate } from './dlms-date.js';

export const CF_TYPES = ['CF1', 'CF5', 'CF9', 'CF10', 'CF20', 'CF21', 'CF22', 'CF23', 'CF51'] as const;
export type CfType = (typeof CF_TYPES)[number];

/** Numeric payload fields per CF type (integers: Wh, W, POSIX seconds, counters). Others (dates, text) are typed below. */
const NUMERIC: Record<CfType, readonly string[]> = {
  CF1: [
    'MessagePosixTimestamp',
    'MeasurePosixTimestamp',
    'TariffCode',
    'TotalActEnergy',
    'CurrQuartActEnergy',
    'PrevQuartActEnergy',
    'QuartAveragePower',
    'InstantPower',
  ],
  CF5: [
    'MessagePosixTimestamp',
    'MeasurePosixTimestamp',
    'DailyTotalActEnergyF1',
    'DailyTotalActEnergyF2',
    'DailyTotalActEnergyF3',
    'DailyTotalActEnergyF4',
    'DailyTotalActEnergyF5',
    'DailyTotalActEnergyF6',
    'DailyMaxInstantPower',
  ],
  CF9: [
    'WeeklyVeffMin',
    'WeeklyVeffMax',
    'CounterVeffBetween10Percent',
    'CounterVeffUpto15NegPercent',
    'CounterVeffUpto15PosPercent',
    'CounterVeffOver15PosPercent',
    'CounterVeffUnder15NegPercent',
  ],
  CF10: [
    'MessagePosixTimestamp',
    'MeasurePosixTimestamp',
    'MonthlyTotalActEnergyF1',
    'MonthlyTotalActEnergyF2',
    'MonthlyTotalActEnergyF3',
    'MonthlyTotalActEnergyF4',
    'MonthlyTotalActEnergyF5',
    'MonthlyTotalActEnergyF6',
    'MonthlyMaxQuartAveragePower',
  ],
  CF20: [
    'MessagePosixTimestamp',
    'EventType',
    'EventPosixTimestamp',
    'EventsCounter',
    'ContractPower',
    'AvailablePower',
    'Gap',
  ],
  CF21: ['MessagePosixTimestamp', 'EventType', 'EventPosixTimestamp', 'EventsCounter', 'InstantPower'],
  CF22: ['InstantPower', 'AvailablePower', 'SwitchOffCountdownSeconds', 'EventType', 'EventsCounter', 'OutageDuration'],
  CF23: ['EventType', 'EventsCounter', 'OutageDuration'],
  CF51: [
    'EventType',
    'EventsCounter',
    'InstantPower',
    'Gap',
    'ProdInstantPower',
    'EventPosixTimestamp',
    'MessagePosixTimestamp',
  ],
};
/** Fields that are DLMS date strings. */
const DATES = [
  'DailyMaxInstantPowerDateTime',
  'MonthlyMaxQuartAveragePowerDateTime',
  'WeeklyVeffMinDateTime',
  'WeeklyVeffMaxDateTime',
  'StartContract',
  'FreezingDay',
];
/** Fields required per type (the minimum a record is useful with). */
const REQUIRED: Partial<Record<CfType, readonly string[]>> = {
  CF1: ['MeasurePosixTimestamp', 'TotalActEnergy'],
  CF5: ['MeasurePosixTimestamp'],
  CF10: ['MeasurePosixTimestamp'],
  CF20: ['POD'],
  CF21: ['InstantPower'],
  CF51: ['InstantPower'],
};

export type Chain2Frame =
  | { kind: 'Chain2Info'; id: string | null; raw: Record<string, unknown> }
  | { kind: 'Chain2State'; raw: Record<string, unknown> }
  | {
      kind: 'Chain2Data';
      id: string;
      /** The gateway's timestamp as published, and as UTC ms (the gateway runs ~20 s behind the meter). */
      ts: string;
      tsMs: number | null;
      meter: string;
      /** CF1 … CF51 (see CF_TYPES), or an unknown type kept as published. */
      type: string;
      /** Numeric fields by name; dates parsed; `pod` trimmed (CF20). */
      values: Record<string, number>;
      dates: Record<string, DlmsDate>;
      pod?: string;
      /** Payload fields we do not type, preserved. */
      extra: Record<string, unknown>;
      raw: Record<string, unknown>;
    };

export type DecodeResult =
  { ok: true; frame: Chain2Frame } | { ok: false; error: string; code: 'CHAIN2_DECODE'; text: string };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseTs(ts: string): number | null {
  const m = /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(ts);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : null;
}

/** Decodes one frame (a JSON text or an already-parsed value). Never throws. */
export function decodeChain2Frame(input: unknown): DecodeResult {
  const text = typeof input === 'string' ? input : JSON.stringify(input);
  const bad = (error: string): DecodeResult => ({
    ok: false,
    error,
    code: 'CHAIN2_DECODE',
    text: text.length > 200 ? text.slice(0, 197) + '...' : text,
  });
  let doc: unknown = input;
  if (typeof input === 'string') {
    try {
      doc = JSON.parse(input);
    } catch (e) {
      return bad(`malformed JSON (${(e as Error).message})`);
    }
  }
  if (!isObj(doc)) return bad('a frame is a JSON object');
  const keys = Object.keys(doc);
  if (keys.length !== 1)
    return bad(
      `a frame has exactly one top-level key (Chain2Info, Chain2State or Chain2Data), this one has ${keys.length}: ${keys.join(', ')}`,
    );
  const kind = keys[0]!;
  const body = doc[kind];
  if (!isObj(body)) return bad(`${kind}: expected an object`);
  if (kind === 'Chain2Info')
    return { ok: true, frame: { kind, id: typeof body.Id === 'string' ? body.Id : null, raw: body } };
  if (kind === 'Chain2State') return { ok: true, frame: { kind, raw: body } };
  if (kind !== 'Chain2Data')
    return bad(`unknown envelope ${JSON.stringify(kind)} (expected Chain2Info, Chain2State or Chain2Data)`);
  for (const f of ['Id', 'Ts', 'Meter', 'Type'] as const)
    if (typeof body[f] !== 'string')
      return bad(`Chain2Data.${f}: expected a string, received ${JSON.stringify(body[f]) ?? 'nothing'}`);
  if (!isObj(body.Payload)) return bad('Chain2Data.Payload: expected an object');
  const type = body.Type as string;
  const payload = body.Payload;
  const numeric = (CF_TYPES as readonly string[]).includes(type) ? NUMERIC[type as CfType] : [];
  const values: Record<string, number> = {};
  const dates: Record<string, DlmsDate> = {};
  const extra: Record<string, unknown> = {};
  let pod: string | undefined;
  for (const [k, v] of Object.entries(payload)) {
    if (numeric.includes(k)) {
      if (typeof v !== 'number' || !Number.isFinite(v))
        return bad(`${type}.${k}: expected a number, received ${JSON.stringify(v)}`);
      values[k] = v;
    } else if (DATES.includes(k)) {
      if (typeof v !== 'string') return bad(`${type}.${k}: expected a DLMS date string, received ${JSON.stringify(v)}`);
      const d = parseDlmsDate(v);
      if (!d) return bad(`${type}.${k}: ${JSON.stringify(v)} is not a DLMS date (dd/mm/yyyy[ hh:mm:ss] [d])`);
      dates[k] = d;
    } else if (k === 'POD') {
      if (typeof v !== 'string') return bad(`${type}.POD: expected a string, received ${JSON.stringify(v)}`);
      pod = v.trim();
    } else extra[k] = v;
  }
  for (const f of REQUIRED[type as CfType] ?? [])
    if (!(f in values) && !(f === 'POD' && pod)) return bad(`${type}.${f}: missing`);
  const frame: Chain2Frame = {
    kind,
    id: body.Id as string,
    ts: body.Ts as string,
    tsMs: parseTs(body.Ts as string),
    meter: body.Meter as string,
    type,
    values,
    dates,
    extra,
    raw: body,
  };
  if (pod !== undefined) frame.pod = pod;
  return { ok: true, frame };
}

/** The frame's JSON text (compact; the published field order and unknown fields preserved). */
export function encodeChain2Frame(f: Chain2Frame): string {
  return JSON.stringify({ [f.kind]: f.raw });
}

/** Builds a Chain2Data frame from fields (simulators, tests): payload fields in the order given. */
export function makeChain2Data(o: {
  id: string;
  tsMs: number;
  meter: string;
  type: CfType;
  payload: Record<string, unknown>;
}): Chain2Frame {
  const d = new Date(Math.floor(o.tsMs / 1000) * 1000);
  const p2 = (n: number) => String(n).padStart(2, '0');
  const ts = `${d.getUTCFullYear()}/${p2(d.getUTCMonth() + 1)}/${p2(d.getUTCDate())} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;
  const r = decodeChain2Frame({ Chain2Data: { Id: o.id, Ts: ts, Meter: o.meter, Type: o.type, Payload: o.payload } });
  if (!r.ok) throw new Error(r.error);
  return r.frame;
}

/** Pads a PoD to the 16 characters Chain 2 publishes (right-padded with spaces). */
export function padPod(pod: string): string {
  return pod.padEnd(16, ' ');
}
