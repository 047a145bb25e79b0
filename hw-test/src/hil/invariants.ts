/**
 * The invariants of a HIL run, evaluated after the agents stopped, from what the run's subscriber received, what each
 * agent's outbox committed and what `lightnode status` said every second. Each yields an `InvariantResult` named by
 * its key, and the run's figures. The setpoint invariants (and `fallbackS`) are in setpoint-invariants.ts.
 */
import type { HilFigures, InvariantResult } from './result.js';
import type { ScenarioInvariant } from './scenario.js';
import { evaluateSetpointInvariant, fallbackSeconds, type SetpointFacts } from './setpoint-invariants.js';
import type { DeviceLog, RunSubscriber } from './subscriber.js';

/** What the runner knows of one agent at the end. */
export interface AgentOutcome {
  id: string;
  /** Its device id (the key's address), null when it never started. */
  deviceId: string | null;
  /** The outbox's next sample seq after the final stop (every seq below it was committed). */
  committedNextSeq: number | null;
  /** Run seconds during which it was up (status socket answering until exit). */
  upS: number;
  /** The shortest poll period of its meters, ms (null: no polled meter, coverage not defined). */
  pollMs: number | null;
  /** Polled meters it reads each cycle, dead ones excluded (coverage counts only what a live meter can give). */
  meters: number;
  /** Its meters left out of coverage: dead for the whole run (a `timeout` fault that always fires). */
  deadMeters?: string[];
  /** Exits nobody asked for. */
  crashes: string[];
  /** `lightnode buffer verify` of its outbox after the final stop: null when it passed, else what it said. */
  outboxVerify: string | null;
}

/** Status samples the runner took (run seconds). */
export interface OutboxSample {
  tS: number;
  agent: string;
  /** Undelivered samples (sealed and unsealed). */
  samples: number;
  /** Undelivered batches and gaps (0: everything sealed has been delivered). */
  items: number;
}

export interface EvalInput {
  invariants: readonly ScenarioInvariant[];
  sub: RunSubscriber;
  agents: readonly AgentOutcome[];
  outbox: readonly OutboxSample[];
  /** Run seconds when the last fault ended (null: no fault). */
  lastFaultEndS: number | null;
  rssMaxMB: number | null;
  /** What the run's setpoints did (runs with an ess device). */
  setpoints?: SetpointFacts;
}

const EMPTY: DeviceLog = { leaves: new Map(), received: new Map(), gaps: [], lastArrivalMs: 0 };

/** Seqs neither received nor inside a signed gap, in [0, end) ∪ [first received, last received]. */
export function missingSeqs(log: DeviceLog, committedNextSeq: number | null): number[] {
  const seqs = [...log.received.keys()];
  const last = seqs.length ? Math.max(...seqs) : -1;
  const end = Math.max(last + 1, committedNextSeq ?? 0);
  const out: number[] = [];
  for (let s = 0; s < end; s++)
    if (!log.received.has(s) && !log.gaps.some((g) => s >= g.first && s <= g.last)) out.push(s);
  return out;
}

/** Seqs received with two or more different leaves (signed twice with different content). */
export function conflictingSeqs(log: DeviceLog): number[] {
  return [...log.leaves].filter(([, l]) => l.size > 1).map(([s]) => s);
}

const sample = (xs: number[]) => xs.slice(0, 10).join(', ') + (xs.length > 10 ? ` … (${xs.length})` : '');
const logOf = (i: EvalInput, a: AgentOutcome) => (a.deviceId ? (i.sub.devices.get(a.deviceId) ?? EMPTY) : EMPTY);

/** How one device's batches arrived: first arrivals out of seq order, and the largest step back of their windows. */
export interface ArrivalSummary {
  batches: number;
  /** First arrivals whose first seq is below the one before (a resend of an earlier batch is not one). */
  outOfOrder: number;
  /** The largest drop of window start between consecutive first arrivals, ms (0: windows never went back). */
  maxWindowBackMs: number;
}

export function arrivalSummary(arrivals: readonly { firstSeq: number; windowStartMs: number }[]): ArrivalSummary {
  const seen = new Set<number>();
  const firsts = arrivals.filter((a) => !seen.has(a.firstSeq) && seen.add(a.firstSeq));
  let outOfOrder = 0;
  let maxWindowBackMs = 0;
  for (let k = 1; k < firsts.length; k++) {
    if (firsts[k]!.firstSeq < firsts[k - 1]!.firstSeq) outOfOrder++;
    maxWindowBackMs = Math.max(maxWindowBackMs, firsts[k - 1]!.windowStartMs - firsts[k]!.windowStartMs);
  }
  return { batches: firsts.length, outOfOrder, maxWindowBackMs };
}

/** The time from the last fault's end until every agent's outbox had nothing sealed left to deliver, s. */
export function drainSeconds(
  outbox: readonly OutboxSample[],
  lastFaultEndS: number | null,
  agents: string[],
): number | null {
  const from = lastFaultEndS ?? 0;
  const ticks = [...new Set(outbox.filter((o) => o.tS >= from).map((o) => o.tS))].sort((a, b) => a - b);
  for (const t of ticks) {
    const at = outbox.filter((o) => o.tS === t);
    if (agents.every((a) => at.some((o) => o.agent === a && o.items === 0)))
      return Math.max(0, Math.round((t - from) * 10) / 10);
  }
  return null;
}

export function evaluate(i: EvalInput): { invariants: InvariantResult[]; figures: HilFigures } {
  const lostBy = i.agents.map((a) => ({ a, missing: missingSeqs(logOf(i, a), a.committedNextSeq) }));
  const conflictsBy = i.agents.map((a) => ({ a, seqs: conflictingSeqs(logOf(i, a)) }));
  const lost = lostBy.reduce((n, x) => n + x.missing.length, 0);
  const conflicts = conflictsBy.reduce((n, x) => n + x.seqs.length, 0);
  const samples = i.agents.reduce((n, a) => n + logOf(i, a).received.size, 0);
  const gaps = i.agents.reduce((n, a) => n + logOf(i, a).gaps.length, 0);
  const drainS = drainSeconds(
    i.outbox,
    i.lastFaultEndS,
    i.agents.map((a) => a.id),
  );
  const figures: HilFigures = {
    samples,
    lost,
    conflicts,
    gaps,
    maxOutboxDepth: i.outbox.reduce((m, o) => Math.max(m, o.samples), 0),
    drainS,
    fallbackS: i.setpoints ? fallbackSeconds(i.setpoints) : null,
    rssMaxMB: i.rssMaxMB === null ? null : Math.round(i.rssMaxMB * 10) / 10,
  };
  const results = i.invariants.map((inv): InvariantResult => {
    if (inv === 'noSampleLost') {
      const bad = lostBy.filter((x) => x.missing.length);
      return {
        name: inv,
        passed: bad.length === 0 && samples > 0,
        value: lost,
        detail: bad.length
          ? bad
              .map(
                (x) =>
                  `${x.a.id}: ${x.missing.length} seqs neither received nor in a signed gap (${sample(x.missing)})`,
              )
              .join('; ')
          : samples === 0
            ? 'no sample arrived at all'
            : `${samples} samples received, every committed seq there or in one of ${gaps} signed gaps`,
      };
    }
    if (inv === 'noSeqConflict') {
      const bad = conflictsBy.filter((x) => x.seqs.length);
      return {
        name: inv,
        passed: bad.length === 0,
        value: conflicts,
        detail: bad.length
          ? bad
              .map((x) => `${x.a.id}: ${x.seqs.length} seqs signed with two different leaves (${sample(x.seqs)})`)
              .join('; ')
          : 'no (deviceId, seq) received with two different leaves',
      };
    }
    if (inv === 'batchesVerify') {
      // at the subscriber (ethers) and in each outbox (`lightnode buffer verify`: integrity, every undelivered batch
      // and gap, sequence continuity)
      const outboxes = i.agents.filter((a) => a.outboxVerify !== null);
      const problems = [
        ...(i.sub.bad.length ? [`${i.sub.bad.length} did not verify: ${i.sub.bad.slice(0, 3).join('; ')}`] : []),
        ...outboxes.map((a) => `${a.id}: buffer verify: ${a.outboxVerify!.slice(0, 300)}`),
        ...(i.sub.batches ? [] : ['no batch arrived']),
      ];
      return {
        name: inv,
        passed: problems.length === 0,
        value: i.sub.bad.length + outboxes.length,
        detail: problems.length
          ? problems.join('; ')
          : `${i.sub.batches} batches verified with ethers; every outbox passes lightnode buffer verify`,
      };
    }
    if (inv.coveragePct !== undefined) {
      const per = i.agents
        .filter((a) => a.pollMs !== null && a.upS > 0)
        .map((a) => {
          // samples with a measurement (a poll that failed is an `invalid` sample, not coverage) over the polls of
          // its live meters while it was up
          const expected = (a.upS * 1000 * a.meters) / a.pollMs!;
          const log = logOf(i, a);
          const got = log.valid ? log.valid.size : log.received.size;
          return { a, pct: expected > 0 ? Math.min(100, (100 * got) / expected) : 0 };
        });
      const worst = per.reduce((m, x) => Math.min(m, x.pct), 100);
      const pct = Math.round(worst * 10) / 10;
      return {
        name: 'coveragePct',
        passed: per.length > 0 && worst >= inv.coveragePct,
        value: pct,
        detail: per.length
          ? per
              .map(
                (x) =>
                  `${x.a.id}: ${x.pct.toFixed(1)} % of poll periods of ${x.a.meters} live meters while up ${x.a.upS.toFixed(1)} s` +
                  (x.a.deadMeters?.length ? ` (dead, not counted: ${x.a.deadMeters.join(', ')})` : ''),
              )
              .join('; ') + ` (≥ ${inv.coveragePct} % asked)`
          : 'no agent with a polled meter was up',
      };
    }
    if (inv.drainedWithinS !== undefined)
      return {
        name: 'drainedWithinS',
        passed: drainS !== null && drainS <= inv.drainedWithinS,
        value: drainS ?? 'never',
        detail:
          drainS === null
            ? `the outbox still held sealed items at every status sample after the last fault (t=${i.lastFaultEndS ?? 0} s)`
            : `drained ${drainS} s after the last fault (≤ ${inv.drainedWithinS} s asked)`,
      };
    if (inv.rssMaxMB !== undefined)
      return {
        name: 'rssMaxMB',
        passed: i.rssMaxMB !== null && i.rssMaxMB <= inv.rssMaxMB,
        value: figures.rssMaxMB ?? 'unknown',
        detail:
          i.rssMaxMB === null
            ? 'no RSS sample (no agent process was up at a sample)'
            : `agent RSS peaked at ${figures.rssMaxMB} MB (≤ ${inv.rssMaxMB} MB asked)`,
      };
    const key = Object.keys(inv)[0]!;
    if (i.setpoints && (inv.setpointAppliedWithinS ?? inv.autonomousWithinS ?? inv.rejectedWith) !== undefined)
      return evaluateSetpointInvariant(inv as Parameters<typeof evaluateSetpointInvariant>[0], i.setpoints);
    return { name: key, passed: false, detail: `${key}: this run has no ess device, so no setpoint facts` };
  });
  const crashes = i.agents.flatMap((a) => a.crashes.map((c) => `${a.id}: ${c}`));
  if (crashes.length)
    results.push({
      name: 'noUnexpectedExit',
      passed: false,
      value: crashes.length,
      detail: crashes.slice(0, 3).join('\n'),
    });
  return { invariants: results, figures };
}
