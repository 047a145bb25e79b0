/**
 * Small stateful helpers of the controller runtime: the PoD meter's latest figures (power, energy counters and
 * their integral), the refusal rate limit (≤ N acks per period, the rest counted), the readback of a write.
 */
import { isLightNodeError, LightNodeError, type Clock } from '@lightnode/protocols';
import type { Reading } from '../sources/index.js';
import type { MeterMark, ReadbackResult } from './state.js';
import type { EssState } from './types.js';

/** The latest reading of the `role: "pod"` meter. */
export class PodMeter {
  powerW?: number;
  private importWh?: number;
  private exportWh?: number;
  private integralWh = 0;
  /** Measurement time of `powerW`. */
  lastTsMs?: number;
  /** Measurement time of the energy counters (a meter may read them less often than the power). */
  private countersTsMs?: number;

  /** The time a mark taken now refers to: the counters' reading when there are counters, else the power's. */
  get markTsMs(): number | undefined {
    return this.importWh !== undefined ? this.countersTsMs : this.lastTsMs;
  }

  update(r: Reading): void {
    const p = r.values.activePowerW;
    const good = (v: { value?: number; quality: string } | undefined): number | undefined =>
      v && v.quality !== 'invalid' ? v.value : undefined;
    const w = good(p);
    if (w !== undefined) {
      if (this.powerW !== undefined && this.lastTsMs !== undefined && r.tsMs > this.lastTsMs)
        this.integralWh += (this.powerW * (r.tsMs - this.lastTsMs)) / 3.6e6;
      this.powerW = w;
      this.lastTsMs = r.tsMs;
    }
    const imp = good(r.values.energyImportWh);
    const exp = good(r.values.energyExportWh);
    if (imp !== undefined) {
      this.importWh = imp;
      this.countersTsMs = r.tsMs;
    }
    if (exp !== undefined) this.exportWh = exp;
  }

  mark(): MeterMark {
    return {
      integralWh: this.integralWh,
      ...(this.importWh !== undefined ? { importWh: this.importWh } : {}),
      ...(this.exportWh !== undefined ? { exportWh: this.exportWh } : {}),
      ...(this.markTsMs !== undefined ? { atMs: this.markTsMs } : {}),
    };
  }

  /**
   * Import − export from `from` to `to` (default: the latest reading), Wh: from the counters when both marks have
   * them, else the power's integral; `spanMs` is the time between the two readings (absent when either has none).
   */
  energySince(
    from: MeterMark | undefined,
    to: MeterMark = this.mark(),
  ): { wh: number; from: 'counters' | 'power' | 'none'; spanMs?: number } {
    if (!from) return { wh: 0, from: 'none' };
    const now = to;
    const span = from.atMs !== undefined && now.atMs !== undefined ? { spanMs: now.atMs - from.atMs } : {};
    if (from.importWh !== undefined && now.importWh !== undefined) {
      const exp = from.exportWh !== undefined && now.exportWh !== undefined ? now.exportWh - from.exportWh : 0;
      return { wh: now.importWh - from.importWh - exp, from: 'counters', ...span };
    }
    return { wh: now.integralWh - from.integralWh, from: 'power', ...span };
  }
}

/** At most `max` refusals acked per `periodMs` (monotonic); the rest are counted, not acked. */
export class RefusalLimiter {
  private windowStart = -Infinity;
  private inWindow = 0;
  private suppressed = 0;
  constructor(
    private readonly max: number,
    private readonly periodMs: number,
  ) {}

  /** `ok` whether this one may be acked; `suppressedBefore` how many the window just closed suppressed. */
  take(mono: number): { ok: boolean; suppressedBefore: number } {
    let suppressedBefore = 0;
    if (mono - this.windowStart >= this.periodMs) {
      suppressedBefore = this.suppressed;
      this.windowStart = mono;
      this.inWindow = 0;
      this.suppressed = 0;
    }
    if (this.inWindow < this.max) {
      this.inWindow++;
      return { ok: true, suppressedBefore };
    }
    this.suppressed++;
    return { ok: false, suppressedBefore };
  }
}

/**
 * Reads the asset until its power is within `toleranceW` of the command or `timeoutMs` passed (a read every
 * `pollMs`, one at the deadline): READBACK_MISMATCH with the last power, or ADAPTER_TIMEOUT when no read answered.
 */
export async function readback(
  read: () => Promise<EssState>,
  clock: Clock,
  o: { commandW: number; toleranceW: number; timeoutMs: number; pollMs: number },
): Promise<ReadbackResult> {
  const deadline = clock.monotonic() + o.timeoutMs;
  let last: number | undefined;
  let lastError: { code: string; message: string } | undefined;
  for (;;) {
    try {
      const s = await read();
      last = s.essPowerW;
      if (Math.abs(s.essPowerW - o.commandW) <= o.toleranceW) return { ok: true, essPowerW: s.essPowerW };
    } catch (e) {
      lastError = { code: isLightNodeError(e) ? e.code : 'IO_ERROR', message: (e as Error).message };
    }
    const left = deadline - clock.monotonic();
    if (left <= 0) break;
    await clock.sleep(Math.min(o.pollMs, left));
  }
  if (last === undefined)
    return {
      ok: false,
      code: lastError?.code === 'ADAPTER_TIMEOUT' || !lastError ? 'ADAPTER_TIMEOUT' : lastError.code,
      message: `no readback within ${o.timeoutMs} ms${lastError ? `: ${lastError.message}` : ''}`,
    };
  return {
    ok: false,
    code: 'READBACK_MISMATCH',
    essPowerW: last,
    message: `asset at ${last} W, commanded ${o.commandW} W ± ${o.toleranceW} W after ${o.timeoutMs} ms`,
  };
}

/** `p`, or ADAPTER_TIMEOUT after `ms` of `clock` (an adapter call that never answers cannot hold the controller). */
export function withTimeout<T>(p: Promise<T>, clock: Clock, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cancel = clock.setTimer(ms, () =>
      reject(
        new LightNodeError('ADAPTER_TIMEOUT', `${what}: no answer within ${ms} ms`, {
          what,
          ms,
        }),
      ),
    );
    p.then(
      (v) => {
        cancel();
        resolve(v);
      },
      (e: unknown) => {
        cancel();
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/**
 * The battery's power at the time of a PoD reading (the command formula adds the two). PoD readings reach the
 * controller up to a cycle after they were taken: when the controller wrote or released since, the battery's power
 * now does not go with the reading, the one before that action does.
 */
export class EssAtPod {
  private lastActionMs = -Infinity;
  private prevActionMs = -Infinity;
  private beforeActionW: number | undefined;
  private lastW: number | undefined;

  /** The battery's power as just read. */
  seen(w: number): void {
    this.lastW = w;
  }

  /** A write or a release at `nowMs` (wall). */
  acted(nowMs: number): void {
    this.prevActionMs = this.lastActionMs;
    this.beforeActionW = this.lastW;
    this.lastActionMs = nowMs;
  }

  /** The battery's power for a PoD reading taken at `podTsMs`; undefined when two actions came since. */
  at(podTsMs: number, nowW: number): number | undefined {
    if (podTsMs > this.lastActionMs) return nowW;
    return podTsMs > this.prevActionMs ? this.beforeActionW : undefined;
  }
}

/**
 * The controller's view of the asset between its own reads: the telemetry source's latest state (one read per
 * `pollMs` on the bus, not one per cycle), used while younger than 1.5 periods. Each write or release invalidates
 * it, and for one period after one the telemetry's states are ignored (a read in flight across the write would show
 * the power from before it): the controller reads the asset itself then.
 */
export class AssetView {
  private recent: EssState | undefined;
  private lastActionMs = -Infinity;

  constructor(
    private readonly clock: Clock,
    private readonly pollMs: number,
  ) {}

  observe(s: EssState): void {
    if (this.clock.now() - this.lastActionMs < this.pollMs) return;
    this.recent = s;
  }

  fresh(): EssState | undefined {
    const r = this.recent;
    return r && this.clock.now() - r.atMs < 1.5 * this.pollMs ? r : undefined;
  }

  acted(): void {
    this.lastActionMs = this.clock.now();
    this.recent = undefined;
  }
}

/**
 * The site's own figure, PoD + battery at the PoD reading's time (house load − PV: what our commands do not change).
 * When the reading is older than two actions (`essAtPodW` unknown), the last site figure with the battery as it is
 * now stands in for the pair; none before the first.
 */
export class SiteFigure {
  private last: number | undefined;

  /** The last site figure, W; undefined before the first pair. */
  get siteW(): number | undefined {
    return this.last;
  }

  pair(podW: number, essAtPodW: number | undefined, now: EssState): { podW: number; essW: number } | undefined {
    if (essAtPodW !== undefined) {
      this.last = podW + essAtPodW;
      return { podW, essW: essAtPodW };
    }
    return this.held(now);
  }

  /** The last site figure with the battery as it is now (not updated: e.g. across a revert); none before the first. */
  held(now: EssState): { podW: number; essW: number } | undefined {
    return this.last === undefined ? undefined : { podW: this.last - now.essPowerW, essW: now.essPowerW };
  }
}
