/**
 * What a run's Chain 2 sources went through, as events for the report: each source's health from the agent's last
 * status (`details.chain2[name]`: connects, diagnostics, the gaps it reported with their energy) and the quarters the
 * independent subscriber received (every quarter between the first and the last one received is a sample with its
 * energy, an untrusted one — a rebooted gateway's, energy marked invalid — or missing, and then inside a reported gap).
 */

/** One Chain 2 source in an agent's status details (edge's `Chain2SourceStats`, the part the report uses). */
export interface Chain2Health {
  transport?: { connects?: number };
  diagnostics?: Record<string, number>;
  gaps?: { missedQuarters: number; energyWh: number }[];
}

const QUARTER_MS = 900_000;

/** `gw: 3 connects; CHAIN2_GAP 2, CHAIN2_TOTAL_DECREASED 1; 2 gaps reported, 3 missed quarters (210, 140 Wh)`. */
export function chain2HealthLine(name: string, h: Chain2Health): string {
  const diag = Object.entries(h.diagnostics ?? {})
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const gaps = h.gaps ?? [];
  const missed = gaps.reduce((n, g) => n + g.missedQuarters, 0);
  return (
    `${name}: ${h.transport?.connects ?? 0} connects; ${diag || 'no diagnostics'}; ${gaps.length} gaps reported, ` +
    `${missed} missed quarters (${gaps.map((g) => g.energyWh).join(', ') || 'no'} Wh)`
  );
}

/** The quarters one device delivered (quarter end UTC ms → energy Wh, null when untrusted), counted. */
export function quarterCounts(q: ReadonlyMap<number, number | null>): {
  received: number;
  untrusted: number;
  span: number;
  missing: number;
} {
  const ends = [...q.keys()].sort((a, b) => a - b);
  const span = ends.length ? (ends[ends.length - 1]! - ends[0]!) / QUARTER_MS + 1 : 0;
  const untrusted = [...q.values()].filter((v) => v === null).length;
  return { received: ends.length, untrusted, span, missing: span - ends.length };
}

/** `14 quarters received (1 untrusted) over a span of 16; 2 not received`. */
export function quarterLine(q: ReadonlyMap<number, number | null>): string {
  const c = quarterCounts(q);
  return `${c.received} quarters received (${c.untrusted} untrusted) over a span of ${c.span}; ${c.missing} not received`;
}
