/**
 * The cellular month, pure arithmetic: how many of each exchange a traffic profile makes in a month, and the bytes
 * that come to from the measured (IP) size of each exchange. The cellular bench measures the sizes; this adds up.
 *
 * Keepalive (mqtt.js 5 `KeepaliveManager`): the client sends PINGREQ `keepaliveS` after the last acknowledged packet
 * (PUBACK, SUBACK and PINGRESP reschedule it), so an idle gap of g seconds holds ceil(g / keepaliveS) − 1 pings: 14 in
 * an hour at 240 s (the one due at 3600 s coincides with the next publish). Publishes at one cadence — the batch and
 * the hourly status fall in the same gap structure — so the gap is the shortest publish period.
 */

export interface CellularProfile {
  days: number;
  /** Sampling period, ms (one sample per meter per period). */
  sampleMs: number;
  /** Batch window, ms; `sampleMs` means one publish per sample (the naive form). */
  batchMs: number;
  keepaliveS: number;
  /** Status publication period, ms (the retained status document). */
  statusMs: number;
  /** Extra status documents per reconnect ("on change": the link came back). */
  statusPerReconnect: number;
  /** Reconnects per day, of which `fullPerWeek / 7` per day need a full TLS handshake; the rest resume. */
  reconnectsPerDay: number;
  fullPerWeek: number;
  /** Signed config acks per month (one remote config change). */
  configAcksPerMonth: number;
}

/** "1-min sampling, 60-min batches, keepalive 240 s, status hourly or on change, one resumed reconnect a day, one full a week". */
export const CELLULAR_PROFILE: CellularProfile = {
  days: 30,
  sampleMs: 60_000,
  batchMs: 3_600_000,
  keepaliveS: 240,
  statusMs: 3_600_000,
  statusPerReconnect: 1,
  reconnectsPerDay: 1,
  fullPerWeek: 1,
  configAcksPerMonth: 1,
};

export interface MonthCounts {
  samples: number;
  /** Uplink publishes of data: batches, or samples in the naive form. */
  dataPublishes: number;
  pings: number;
  statuses: number;
  fullConnects: number;
  resumedConnects: number;
  configAcks: number;
}

/** Keepalive cycles in one idle gap of `gapMs` between acknowledged publishes. */
export function pingsPerGap(gapMs: number, keepaliveS: number): number {
  if (keepaliveS <= 0) return 0;
  return Math.max(0, Math.ceil(gapMs / (keepaliveS * 1000)) - 1);
}

export function monthCounts(p: CellularProfile): MonthCounts {
  const monthMs = p.days * 86_400_000;
  const gapMs = Math.min(p.batchMs, p.statusMs);
  const reconnects = p.days * p.reconnectsPerDay;
  const fullConnects = Math.min(reconnects, (p.days / 7) * p.fullPerWeek);
  return {
    samples: monthMs / p.sampleMs,
    dataPublishes: monthMs / p.batchMs,
    pings: (monthMs / gapMs) * pingsPerGap(gapMs, p.keepaliveS),
    statuses: monthMs / p.statusMs + reconnects * p.statusPerReconnect,
    fullConnects,
    resumedConnects: reconnects - fullConnects,
    configAcks: p.configAcksPerMonth,
  };
}

/** Measured IP bytes (both directions) of each exchange; `data` is one data publish with its PUBACK. */
export interface ExchangeBytes {
  data: number;
  ping: number;
  status: number;
  fullConnect: number;
  resumedConnect: number;
  configAck: number;
}

export interface MonthBytes {
  total: number;
  parts: Record<keyof ExchangeBytes, number>;
}

export function monthBytes(c: MonthCounts, b: ExchangeBytes): MonthBytes {
  const parts = {
    data: c.dataPublishes * b.data,
    ping: c.pings * b.ping,
    status: c.statuses * b.status,
    fullConnect: c.fullConnects * b.fullConnect,
    resumedConnect: c.resumedConnects * b.resumedConnect,
    configAck: c.configAcks * b.configAck,
  };
  return { total: Object.values(parts).reduce((a, x) => a + x, 0), parts };
}
