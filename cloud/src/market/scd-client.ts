/**
 * The SCD seen from the market over REST, with the market's token: the PoD registry (PoM, aggregator), baselines,
 * measurements, and the append-only outcome rows it writes.
 */
import type { MeasurementRow, OutcomeRow, PodRow } from '../scd/rows.js';
import type { OutcomeBody } from '../scd/service.js';
import { JsonClient } from '../http/client.js';

/** What the market needs of the SCD (a fake in unit tests). */
export interface MarketScd {
  pods(): Promise<PodRow[]>;
  /** A PoD's baseline for a market day (W per slot), undefined when the SCD has none. */
  baselineW(podId: string, day: string): Promise<number[] | undefined>;
  /** A PoD's samples with fromMs ≤ tsMs < toMs, in time order. */
  measurements(podId: string, fromMs: number, toMs: number): Promise<MeasurementRow[]>;
  /** Writes rows in one transaction (append-only). */
  addOutcomes(rows: OutcomeBody[]): Promise<void>;
  outcomes(q?: { session?: string; kind?: string }): Promise<OutcomeRow[]>;
}

export class HttpMarketScd implements MarketScd {
  private readonly http: JsonClient;
  constructor(url: string, token: string, timeoutMs = 30_000) {
    this.http = new JsonClient(url, token, { name: 'SCD', timeoutMs });
  }

  pods(): Promise<PodRow[]> {
    return this.http.request('GET', '/pods');
  }

  async baselineW(podId: string, day: string): Promise<number[] | undefined> {
    try {
      const b = await this.http.request<{ slotsW: number[] }>(
        'GET',
        `/pods/${encodeURIComponent(podId)}/baseline?day=${day}`,
      );
      return b.slotsW;
    } catch (e) {
      if ((e as { code?: string }).code === 'NOT_FOUND') return undefined;
      throw e;
    }
  }

  measurements(podId: string, fromMs: number, toMs: number): Promise<MeasurementRow[]> {
    const q = new URLSearchParams({ podId, fromMs: String(fromMs), toMs: String(toMs), limit: '100000' });
    return this.http.request('GET', `/measurements?${q.toString()}`);
  }

  async addOutcomes(rows: OutcomeBody[]): Promise<void> {
    if (rows.length > 0) await this.http.request('POST', '/market-outcomes', rows);
  }

  outcomes(q: { session?: string; kind?: string } = {}): Promise<OutcomeRow[]> {
    const p = new URLSearchParams(q as Record<string, string>);
    return this.http.request('GET', `/market-outcomes${p.size ? `?${p.toString()}` : ''}`);
  }
}
