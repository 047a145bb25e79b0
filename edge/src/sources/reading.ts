/**
 * One reading type from every source, and one source interface. A Modbus meter, a Chain 2 gateway (WebSocket, HTTP,
 * serial) and a Sinapsi Alfa all emit `Reading`s; the agent's loop commits them as they are — no shape changes on the
 * way from register to sample.
 */
import {
  worstQuality,
  type Quality,
  type QuantityName,
  type RawProvenance,
  type SampleSource,
} from '@lightnode/protocols';
import type { ReadingValue } from '../modbus/meter.js';

/** What a meter measures at the site: the PoD (exchange) meter, PV production, a load, the storage system. */
export type MeterRole = 'pod' | 'pv' | 'load' | 'ess';
export const METER_ROLES: readonly MeterRole[] = ['pod', 'pv', 'load', 'ess'];

export interface Reading {
  /** The emitting source's id (`lines[].meters[].id`, `chain2:NAME` or `chain2:NAME/SLOT`). */
  sourceId: string;
  role?: MeterRole;
  /** Measurement time, UTC epoch ms. */
  tsMs: number;
  source: SampleSource;
  values: Partial<Record<QuantityName, ReadingValue>>;
  raw?: RawProvenance[];
}

export interface SourceHealth {
  id: string;
  role?: MeterRole;
  /** The worst quality among the last reading's quantities (`invalid` before the first reading). */
  quality: Quality;
  readings: number;
  errors: number;
  lastReadingMs?: number;
  lastGoodMs?: number;
  latencyMs?: number;
  /**
   * The last reading's power, W, when it was good, in the source's own convention: a meter's `activePowerW` (import
   * positive at the PoD), a battery's `essPowerW` (discharge positive). What `lightnode status` shows of the site now.
   */
  lastPowerW?: number;
  /** Source-specific figures (line health, Chain 2 transport and diagnostics). */
  details?: unknown;
}

export interface MeterSource {
  readonly id: string;
  readonly role?: MeterRole;
  /** Starts polling / listening; every reading goes to `emit`. */
  start(emit: (r: Reading) => void): void;
  /** Stops its timers and waits for a poll in flight; emits nothing afterwards. */
  stop(): Promise<void>;
  health(): SourceHealth;
}

/** The quality of a reading: the worst of its quantities' (`invalid` when it has none). */
export function readingQuality(r: Pick<Reading, 'values'>): Quality {
  const qs = Object.values(r.values).map((v) => v.quality);
  return qs.length ? worstQuality(qs) : 'invalid';
}
