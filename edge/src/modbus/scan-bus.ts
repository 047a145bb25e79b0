/**
 * The scan's bus: one request at a time, the scan's timeout rule, "did a device answer?", and the probe that turns an
 * identification plan into a ProbeResult. See scan.ts for the rules.
 */
import { identifyPlan, isLightNodeError, matchIdentify, type Clock, type Profile } from '@lightnode/protocols';
import type { DeviceHealth, LineDevice } from './line.js';
import type { ModbusTransport } from './transport.js';

/** What an identification probe concluded (an `IdentifyMatch` fits). */
export interface ProbeResult {
  matched: boolean;
  model?: string;
  serial?: string;
  values?: Record<string, number | string>;
  /** Why it matched or not. */
  detail: string;
}

/**
 * Identifies `profile` on `device` (its reads already carry the unit id and the scan's timeout). null: no answer.
 * A rejection is taken as no answer too (its message goes into the attempt's detail).
 */
export type ScanProbe = (device: LineDevice, profile: Profile) => Promise<ProbeResult | null>;

/** Timeout before any latency was measured, when the profile gives none (ms). */
export const SCAN_DEFAULT_TIMEOUT_MS = 300;
/** max(100 ms, 4 × latency) once a latency was measured, else the profile's timeout (or 300 ms). */
export function scanTimeoutMs(latencyMs: number | undefined, profileTimeoutMs?: number): number {
  if (latencyMs === undefined) return profileTimeoutMs ?? SCAN_DEFAULT_TIMEOUT_MS;
  return Math.max(100, Math.ceil(4 * latencyMs));
}

/** Did this read outcome prove a device answered (a frame with a valid CRC came back)? */
export function isAnswer(e: unknown): boolean {
  return isLightNodeError(e) && (e.code === 'MODBUS_EXCEPTION' || e.code === 'MODBUS_FRAME');
}

/**
 * The scan's view of one transport: requests one at a time with t3.5 (RTU) between them, the timeout rule, and
 * latency measured on every answer (data or exception) — not the agent's `ModbusLine`, whose backoff and retries
 * would slow a scan down for nothing.
 */
export class ScanBus {
  /** Largest latency measured on this bus, ms. */
  latencyMs: number | undefined;
  private lastEnd = -Infinity;
  constructor(
    readonly transport: ModbusTransport,
    private readonly clock: Clock,
    private readonly gapMs: number,
  ) {}

  /** A LineDevice at `unit` for one attempt; `answered` and `lastLatencyMs` tell what the bus saw. */
  device(name: string, unit: number, profileTimeoutMs?: number): LineDevice & ScanDeviceState {
    const state: ScanDeviceState = { answered: false, requests: 0 };
    const run = async <T>(fn: (timeoutMs: number) => Promise<T>): Promise<T> => {
      const wait = this.lastEnd + this.gapMs - this.clock.monotonic();
      if (wait > 0) await this.clock.sleep(wait);
      const t0 = this.clock.monotonic();
      state.requests++;
      const done = (answered: boolean): void => {
        this.lastEnd = this.clock.monotonic();
        if (!answered) return;
        const dt = this.lastEnd - t0;
        state.answered = true;
        state.lastLatencyMs = dt;
        this.latencyMs = Math.max(this.latencyMs ?? 0, dt);
      };
      try {
        const v = await fn(scanTimeoutMs(this.latencyMs, profileTimeoutMs));
        done(true);
        return v;
      } catch (e) {
        done(isAnswer(e));
        throw e;
      }
    };
    const health = (): DeviceHealth => ({
      name,
      unit,
      state: 'ok',
      requests: state.requests,
      failures: 0,
      consecutiveFailures: 0,
      errors: {},
      busMs: 0,
      ...(state.lastLatencyMs !== undefined ? { lastLatencyMs: state.lastLatencyMs } : {}),
    });
    return Object.assign(state, {
      name,
      unit,
      read: (fc: 1 | 2 | 3 | 4, address: number, count: number) =>
        run((timeoutMs) => this.transport.read({ fc, unit, address, count, timeoutMs })),
      write: (fc: 6 | 16, address: number, values: number[]) =>
        run((timeoutMs) => this.transport.write({ fc, unit, address, values, timeoutMs })),
      health,
    });
  }
}

export interface ScanDeviceState {
  answered: boolean;
  requests: number;
  lastLatencyMs?: number;
}

/** One identification register read (the shape of `IdentifyRead` in @lightnode/protocols). */
export interface IdentifyReadLike {
  name: string;
  fc: 3 | 4;
  address: number;
  count: number;
}

/**
 * A probe from an identification plan and matcher (`identifyPlan` / `matchIdentify` of @lightnode/protocols, passed
 * in): reads every planned register, then lets the matcher decide. A refused read (exception) is left out of the words
 * — a device there that refuses, say, its serial register may still be this profile; the matcher says whether the
 * registers it needs were read — and named in the detail when nothing matched. A read with no answer means no answer
 * (null).
 */
export function identifyProbe(id: {
  plan: (profile: Profile) => readonly IdentifyReadLike[];
  match: (profile: Profile, words: Record<string, number[]>) => ProbeResult;
}): ScanProbe {
  return async (device, profile) => {
    const plan = id.plan(profile);
    if (plan.length === 0) return { matched: false, detail: `${profile.id} declares no identification registers` };
    const words: Record<string, number[]> = {};
    const refused: string[] = [];
    for (const r of plan) {
      try {
        words[r.name] = await device.read(r.fc, r.address, r.count);
      } catch (e) {
        if (!isAnswer(e)) return null;
        const why = e instanceof Error ? e.message : String(e);
        refused.push(`${r.name} (fc ${r.fc} @${r.address}×${r.count}) refused: ${why}`);
      }
    }
    const m = id.match(profile, words);
    return m.matched || refused.length === 0 ? m : { ...m, detail: `${m.detail}; ${refused.join('; ')}` };
  };
}

/** The scans' default probe: each profile's own `identify` registers (`identifyPlan` / `matchIdentify`). */
export const identifyRegistersProbe: ScanProbe = identifyProbe({ plan: identifyPlan, match: matchIdentify });
