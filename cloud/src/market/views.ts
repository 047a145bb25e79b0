/** What the market's routes answer about a session and its settlement. */
import type { PodRegistryEntry } from './documents.js';
import type { SettledService } from './settlement.js';
import type { SessionRow } from './store.js';

/** What `POST /sessions` answers. */
export interface SessionView {
  id: string;
  marketType: 'dayAhead';
  day: string;
  startTime: string;
  slots: number;
  gateClosure: string;
  /** The session's PoDs (with a PoM in the SCD). */
  pods: string[];
  /** PoDs of the SCD left out, with why. */
  skipped: { pod: string; reason: string }[];
}

export interface SettlementView {
  session: string;
  services: SettledService[];
}

export const view = (s: SessionRow, pods: readonly PodRegistryEntry[]): SessionView => ({
  id: s.id,
  marketType: s.marketType,
  day: s.day,
  startTime: s.startTime,
  slots: s.slots,
  gateClosure: new Date(s.gateClosureMs).toISOString(),
  pods: pods.map((p) => p.pod),
  skipped: s.skipped,
});
