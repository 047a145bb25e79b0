/**
 * The Modbus meter driver: a profile + a device on a line → readings of protocol quantities in integer units, each
 * with a quality, and optional raw-register provenance. It never throws on a bad frame or a dead device: failed
 * points report `stale` (last good value, younger than `staleAfterMs`) or `invalid`.
 */
import {
  QUANTITIES,
  REGISTER_UNITS,
  decodeRegisters,
  decodeString,
  isLightNodeError,
  planReads,
  pointRegisters,
  pointWordOrder,
  type Clock,
  type PlanOptions,
  type Profile,
  type ProfilePoint,
  type Quality,
  type QuantityName,
  type RawProvenance,
  type ReadRequest,
} from '@lightnode/protocols';
import type { LineDevice } from './line.js';

export interface ReadingValue {
  /** Integer in the quantity's unit; absent when invalid. */
  value?: number;
  quality: Quality;
}

export interface MeterReading {
  meter: string;
  profile: string;
  /** When the poll started (UTC ms). */
  tsMs: number;
  values: Partial<Record<QuantityName, ReadingValue>>;
  /** Named helper points (scale factors, identification, vendor registers), decoded; null = not available. */
  named: Record<string, number | string | null>;
  raw?: RawProvenance[];
  timings: { requests: number; failedRequests: number; totalMs: number };
  /** Error codes of failed requests this poll. */
  errors: string[];
}

export interface MeterOptions {
  id: string;
  profile: Profile;
  device: LineDevice;
  clock: Clock;
  /** For SunSpec model profiles: the absolute address of the model's ID register (from discovery). */
  baseAddress?: number;
  /** Read slow-class points every N polls (default 10; the first poll reads everything). */
  slowEvery?: number;
  /** A failed point keeps its last good value as `stale` for this long (default 3 × 60 s); then `invalid`. */
  staleAfterMs?: number;
  /** Keep raw registers for audits. */
  raw?: boolean;
  plan?: PlanOptions;
}

export class ModbusMeter {
  private polls = 0;
  private readonly last = new Map<QuantityName, { value: number; atMs: number }>();
  private readonly base: number;
  constructor(private readonly o: MeterOptions) {
    this.base = o.baseAddress ?? 0;
  }

  get id(): string {
    return this.o.id;
  }
  get profile(): Profile {
    return this.o.profile;
  }

  /** The read requests one poll makes (for `--json` timings and the planner bench). */
  plan(includeSlow: boolean): { requests: ReadRequest[]; points: ProfilePoint[] } {
    const named = new Set(this.o.profile.points.map((p) => p.scaleFactor).filter(Boolean));
    const points = this.o.profile.points.filter(
      (p) => includeSlow || p.class !== 'slow' || (p.name && named.has(p.name)),
    );
    const requests = planReads(
      points.map((p) => ({ fc: p.fc, address: this.base + p.address, count: pointRegisters(p) })),
      {
        ...this.o.plan,
        ...(this.o.profile.forbidden
          ? {
              forbidden: this.o.profile.forbidden.map((f) => ({
                ...f,
                start: f.start + this.base,
                end: f.end + this.base,
              })),
            }
          : {}),
      },
    );
    return { requests, points };
  }

  async read(opts: { includeSlow?: boolean } = {}): Promise<MeterReading> {
    const { clock, profile } = this.o;
    const includeSlow = opts.includeSlow ?? this.polls % (this.o.slowEvery ?? 10) === 0;
    this.polls++;
    const tsMs = clock.now();
    const t0 = clock.monotonic();
    const { requests, points } = this.plan(includeSlow);
    const words = new Map<number, number[] | null>(); // point index → words (null = request failed)
    const errors: string[] = [];
    let failed = 0;
    for (const r of requests) {
      let data: number[] | null = null;
      try {
        data = await this.o.device.read(r.fc, r.address, r.count);
      } catch (e) {
        failed++;
        errors.push(isLightNodeError(e) ? e.code : 'INTERNAL');
      }
      for (const i of r.points) {
        const p = points[i]!;
        const off = this.base + p.address - r.address;
        words.set(i, data ? data.slice(off, off + pointRegisters(p)) : null);
      }
    }
    // named points first (scale factors)
    const named: Record<string, number | string | null> = {};
    points.forEach((p, i) => {
      if (!p.name) return;
      const w = words.get(i);
      if (!w || w.length !== pointRegisters(p)) named[p.name] = null;
      else if (p.type === 'string') named[p.name] = decodeString(w);
      else named[p.name] = decodeRegisters(p.type, w, pointWordOrder(profile, p)).value;
    });
    const acc = new Map<QuantityName, { sum: number; quality: Quality; any: boolean }>();
    const raw: RawProvenance[] = [];
    points.forEach((p, i) => {
      if (!p.quantity) return;
      const q = p.quantity;
      const w = words.get(i);
      let v: ReadingValue;
      if (!w) v = this.fallback(q, tsMs);
      else {
        const d = decodeRegisters(p.type, w, pointWordOrder(profile, p));
        const sf = p.scaleFactor ? named[p.scaleFactor] : 0;
        if (d.value === null || typeof sf !== 'number') v = { quality: 'invalid' };
        else {
          const factor = REGISTER_UNITS[p.unit!]![QUANTITIES[q].unit]!;
          const exp = (p.scale ?? 0) + sf;
          const x = d.value * factor * 10 ** exp * (p.sign ?? 1);
          v =
            Number.isFinite(x) && Math.abs(x) <= Number.MAX_SAFE_INTEGER
              ? { value: Math.sign(x) * Math.round(Math.abs(x)) || 0, quality: 'good' }
              : { quality: 'invalid' };
        }
        if (this.o.raw)
          raw.push({
            quantity: q,
            fc: p.fc,
            address: this.base + p.address,
            words: w,
            type: p.type,
            scale: (p.scale ?? 0) + (typeof sf === 'number' ? sf : 0),
          });
      }
      const a = acc.get(q) ?? { sum: 0, quality: 'good' as Quality, any: false };
      if (v.value === undefined) a.quality = 'invalid';
      else {
        a.sum += v.value;
        a.any = true;
        if (v.quality === 'stale' && a.quality === 'good') a.quality = 'stale';
      }
      acc.set(q, a);
    });
    const values: Partial<Record<QuantityName, ReadingValue>> = {};
    for (const [q, a] of acc) {
      if (a.quality === 'invalid' || !a.any) values[q] = { quality: 'invalid' };
      else {
        values[q] = { value: a.sum, quality: a.quality };
        if (a.quality === 'good') this.last.set(q, { value: a.sum, atMs: tsMs });
      }
    }
    const reading: MeterReading = {
      meter: this.o.id,
      profile: profile.id,
      tsMs,
      values,
      named,
      timings: { requests: requests.length, failedRequests: failed, totalMs: clock.monotonic() - t0 },
      errors,
    };
    if (this.o.raw) reading.raw = raw;
    return reading;
  }

  private fallback(q: QuantityName, nowMs: number): ReadingValue {
    const l = this.last.get(q);
    if (l && nowMs - l.atMs <= (this.o.staleAfterMs ?? 180_000)) return { value: l.value, quality: 'stale' };
    return { quality: 'invalid' };
  }
}
