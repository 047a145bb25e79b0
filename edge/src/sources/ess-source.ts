/**
 * A battery (ESS asset) as a `MeterSource` of role `ess`: its adapter read every `pollMs` (the source's own
 * `Poller`) into one `Reading` with `source: "ess"`, shipped like a meter's (signed samples, so the aggregator gets
 * them from the SCD):
 * - `essPowerW` — battery AC power, W, ESS convention: **discharge positive** (as the adapter reports it);
 * - `socPermille` — state of charge, ‰, 0..1000;
 * - `essSetpointW` — the setpoint in force, W, discharge positive, from the controller's getter; absent while the
 *   controller has none (autonomous mode);
 * - `productionPowerW` — PV, W ≥ 0, only when the device reports it.
 * Values are rounded to integers (samples carry no floats); a value outside its range (SoC beyond 0..1000, negative
 * PV) or not finite is `invalid`. A failed read is counted in `health().errors` and emits the last good values as
 * `stale` for `staleAfterMs`, then `invalid` — never thrown. The adapter's lifecycle (`start`, `close`) belongs to
 * whoever created it (the controller writes through the same adapter); this source only reads.
 */
import { isLightNodeError, type Clock, type QuantityName } from '@lightnode/protocols';
import type { EssAdapter, EssState } from '../ess/types.js';
import type { ReadingValue } from '../modbus/meter.js';
import { Poller } from './poller.js';
import { readingQuality, type MeterSource, type Reading, type SourceHealth } from './reading.js';

export interface EssSourceOptions {
  adapter: EssAdapter;
  clock: Clock;
  /** Poll period, ms (the asset's `pollMs`). */
  pollMs: number;
  /** The setpoint the controller has in force, W, discharge positive; `undefined` when autonomous. */
  setpointW?: () => number | undefined;
  /** How long a failed read repeats the last good values as `stale` (default 180 000 ms, as the meters). */
  staleAfterMs?: number;
  /** Every good read (the controller's view of the battery, without a second poll of the device). */
  onState?: (s: EssState) => void;
  /** Source id (default the adapter's id = the asset id). */
  id?: string;
}

type EssQuantity = Extract<QuantityName, 'essPowerW' | 'socPermille' | 'productionPowerW'>;

const RANGES: Record<EssQuantity, [number, number]> = {
  essPowerW: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  socPermille: [0, 1000],
  productionPowerW: [0, Number.MAX_SAFE_INTEGER],
};

function value(q: EssQuantity, v: number): ReadingValue {
  const [min, max] = RANGES[q];
  const n = Math.round(v);
  return Number.isFinite(v) && n >= min && n <= max ? { value: n, quality: 'good' } : { quality: 'invalid' };
}

export class EssMeterSource implements MeterSource {
  readonly id: string;
  readonly role = 'ess' as const;
  private readonly poller: Poller;
  private readonly staleAfterMs: number;
  private emit: ((r: Reading) => void) | null = null;
  private last: Reading | null = null;
  private lastGood: { atMs: number; values: Reading['values'] } | null = null;
  private state: EssState | undefined;
  private readings = 0;
  private errors = 0;
  private errorsByCode: Record<string, number> = {};
  private lastError: string | undefined;
  private latencyMs: number | undefined;

  constructor(private readonly o: EssSourceOptions) {
    this.id = o.id ?? o.adapter.id;
    this.staleAfterMs = o.staleAfterMs ?? 180_000;
    this.poller = new Poller(o.clock, o.pollMs, async () => {
      await this.poll();
    });
  }

  /** The last good state read (undefined before the first). */
  get lastState(): EssState | undefined {
    return this.state;
  }

  start(emit: (r: Reading) => void): void {
    this.emit = emit;
    this.poller.start();
  }

  /** One poll now (the scheduler calls it; tests may too). Never throws. */
  async poll(): Promise<Reading> {
    const t0 = this.o.clock.monotonic();
    let r: Reading;
    try {
      const s = await this.o.adapter.read();
      this.latencyMs = Math.round((this.o.clock.monotonic() - t0) * 10) / 10;
      r = this.good(s);
      this.state = s;
      this.o.onState?.(s);
    } catch (e) {
      this.errors++;
      const code = isLightNodeError(e) ? e.code : 'INTERNAL';
      this.errorsByCode[code] = (this.errorsByCode[code] ?? 0) + 1;
      this.lastError = isLightNodeError(e) ? e.message : String(e);
      r = this.failed();
    }
    this.last = r;
    this.readings++;
    if (this.poller.active) this.emit?.(r);
    return r;
  }

  private reading(tsMs: number, values: Reading['values']): Reading {
    const sp = this.o.setpointW?.();
    return {
      sourceId: this.id,
      role: this.role,
      tsMs,
      source: 'ess',
      values: sp === undefined ? values : { ...values, essSetpointW: value('essPowerW', sp) },
    };
  }

  private good(s: EssState): Reading {
    const values: Reading['values'] = {
      essPowerW: value('essPowerW', s.essPowerW),
      socPermille: value('socPermille', s.socPermille),
      ...(s.productionPowerW !== undefined ? { productionPowerW: value('productionPowerW', s.productionPowerW) } : {}),
    };
    this.lastGood = { atMs: s.atMs, values };
    return this.reading(s.atMs, values);
  }

  /** A failed read: the last good values `stale` while recent enough, else `invalid`. */
  private failed(): Reading {
    const now = this.o.clock.now();
    const g = this.lastGood;
    const fresh = g !== null && now - g.atMs <= this.staleAfterMs;
    const values: Reading['values'] = {};
    const names = g ? (Object.keys(g.values) as EssQuantity[]) : (['essPowerW', 'socPermille'] as const);
    for (const q of names) {
      const v = g?.values[q]?.value;
      values[q] = fresh && v !== undefined ? { value: v, quality: 'stale' } : { quality: 'invalid' };
    }
    return this.reading(now, values);
  }

  async stop(): Promise<void> {
    await this.poller.stop();
    this.emit = null;
  }

  health(): SourceHealth {
    const w = this.last?.values.essPowerW;
    return {
      id: this.id,
      role: this.role,
      quality: this.last ? readingQuality(this.last) : 'invalid',
      readings: this.readings,
      errors: this.errors,
      ...(this.last ? { lastReadingMs: this.last.tsMs } : {}),
      ...(this.lastGood ? { lastGoodMs: this.lastGood.atMs } : {}),
      ...(this.latencyMs !== undefined ? { latencyMs: this.latencyMs } : {}),
      ...(w?.quality === 'good' && w.value !== undefined ? { lastPowerW: w.value } : {}),
      details: {
        kind: this.o.adapter.kind,
        ...(this.state ? { mode: this.state.mode } : {}),
        errorsByCode: { ...this.errorsByCode },
        ...(this.lastError ? { lastError: this.lastError } : {}),
      },
    };
  }
}
