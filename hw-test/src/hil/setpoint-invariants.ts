/**
 * The setpoint invariants of a HIL run (pure: facts in, verdicts out). Times are run seconds (simulated s from the
 * scenario's start): an ack's is when the run's subscriber received it (verified with ethers, device-signed), a
 * battery event's when the simulator emitted it, a setpoint's window converted from the agent's clock.
 *
 * - `setpointAppliedWithinS: N` — every `setpoint` action got an `applied` ack for its id within N s of its window's
 *   start.
 * - `rejectedWith: [codes]` — every forged, tampered or replayed setpoint got a `rejected` ack for its id whose reason
 *   is among the codes, no ack accepting it (`received` / `scheduled` after it was sent; for a forged id any other
 *   ack), and the battery never followed it: no battery command outside the genuine setpoints' windows.
 * - `autonomousWithinS: N` — what edge/src/setpoints does when the battery leaves the agent's hands, within N s:
 *   at a window's end (a driven setpoint, not superseded by a later overlapping one) the controller releases the
 *   battery and acks `expired` (or it fell back before: `autonomous`); the hand-back is the later of that ack and
 *   the battery's `release` / `revert` event, counted from the window's end. When the battery silently reverts (a
 *   simulator `fault` event), the controller takes it back: a `reverted` ack naming what saw it first
 *   (READBACK_MISMATCH: its read of the asset; POD_DEVIATION: a fresh PoD reading), then the command again — or it
 *   releases it (any of RETAKEN counts here; the library's battery-silent-revert checks for `reverted`); the hand-back is the later of the battery's next command / release
 *   event and the device's next ack, counted from the fault. When the battery fakes its mode or refuses a command,
 *   the controller reports it: the device's next `not_applied`, `autonomous` or `expired` ack (two failed
 *   readbacks in a row fall back to autonomous, READBACK_FAILED). A trigger less than N s before the run's end is
 *   not due.
 * - `fallbackS` (figure): the longest of those hand-back latencies (null: no trigger reacted to).
 *
 * A real battery (`--real-ports`; its device id in `unobserved`) emits no simulator events: its invariants are judged
 * from the device-signed acks alone, and each detail says what could not be observed — `rejectedWith` cannot see
 * whether the battery followed a refused setpoint (only that the agent rejected it), a window end is handed back at
 * the `expired` / `autonomous` ack (the battery's release unseen). Its faults are refused before the run
 * (HIL_FAULT_NEEDS_SIMULATOR), so no fault hand-back is due on it.
 */
import type { AckState } from '@lightnode/protocols';
import type { InvariantResult } from './result.js';

/** A setpoint the operator sent (`setpoint` action). */
export interface SentSetpoint {
  agent: string;
  deviceId: string;
  id: string;
  targetW: number;
  sentS: number;
  fromS: number;
  untilS: number;
}

/** A setpoint the device must refuse (`setpoint-forged`: a foreign key or a tampered signature; `setpoint-replay`). */
export interface RefusedSetpoint {
  agent: string;
  deviceId: string;
  id: string;
  kind: 'forged' | 'tampered' | 'replay';
  sentS: number;
}

export interface AckAt {
  deviceId: string;
  setpointId: string;
  state: AckState;
  reason: string;
  tS: number;
}

/** A battery event of the ESS simulator, with the device id of the agent that drives it. */
export interface BatteryEventAt {
  deviceId: string;
  tS: number;
  event: 'command' | 'revert' | 'release' | 'fault';
  fault?: string;
  commandW?: number;
}

export interface SetpointFacts {
  sent: readonly SentSetpoint[];
  refused: readonly RefusedSetpoint[];
  acks: readonly AckAt[];
  battery: readonly BatteryEventAt[];
  /** Acks that did not verify. */
  badAcks: readonly string[];
  /** The run's end, s. */
  endS: number;
  /** Device ids whose battery is real: no battery events (judged from the acks alone). */
  unobserved?: readonly string[];
}

/** Slack for comparing times from different clocks (the agent's window vs the subscriber's arrival), s. */
const SLACK_S = 1;
const r1 = (x: number) => Math.round(x * 10) / 10;
const r2 = (x: number) => Math.round(x * 100) / 100;
const BATTERY_FAULTS = ['silent-revert', 'fake-mode', 'refuse'];
/** Acks that answer a silent revert (re-asserted or given up), and those that report a refused / faked command. */
const RETAKEN: readonly AckState[] = ['reverted', 'applied', 'clipped', 'not_applied', 'autonomous', 'expired'];
const REPORTS: readonly AckState[] = ['not_applied', 'autonomous', 'expired'];
const DRIVEN: readonly AckState[] = ['applied', 'clipped', 'not_applied', 'reverted'];

/** The facts with acks and battery events in time order (what "the first after" reads). */
function ordered(f: SetpointFacts): SetpointFacts {
  const byT = <T extends { tS: number }>(xs: readonly T[]) => [...xs].sort((a, b) => a.tS - b.tS);
  return { ...f, acks: byT(f.acks), battery: byT(f.battery) };
}

/** Each sent setpoint's first `applied` ack, s after its window's start (null: none). */
export function appliedLatencies(facts: SetpointFacts): { sp: SentSetpoint; latencyS: number | null }[] {
  const f = ordered(facts);
  return f.sent.map((sp) => {
    const a = f.acks.find((x) => x.setpointId === sp.id && x.state === 'applied');
    return { sp, latencyS: a ? r2(Math.max(0, a.tS - sp.fromS)) : null };
  });
}

/** What became of each setpoint the device must refuse. */
export function refusals(facts: SetpointFacts): { sp: RefusedSetpoint; rejected: AckAt | null; accepted: AckAt[] }[] {
  const f = ordered(facts);
  return f.refused.map((sp) => {
    const after = f.acks.filter((a) => a.setpointId === sp.id && a.tS >= sp.sentS - SLACK_S);
    const accepted =
      sp.kind === 'replay'
        ? after.filter((a) => a.state === 'received' || a.state === 'scheduled')
        : after.filter((a) => a.state !== 'rejected');
    return { sp, rejected: after.find((a) => a.state === 'rejected') ?? null, accepted };
  });
}

/** Battery commands outside every genuine setpoint window of its device (± the slack). */
export function strayCommands(f: SetpointFacts): BatteryEventAt[] {
  return f.battery.filter(
    (e) =>
      e.event === 'command' &&
      !f.sent.some((sp) => sp.deviceId === e.deviceId && e.tS >= sp.fromS - SLACK_S && e.tS <= sp.untilS + SLACK_S),
  );
}

/** One moment the battery left the agent's hands, and how long until the hand-back / the report (null: never). */
export interface HandBack {
  what: 'window-end' | 'silent-revert' | 'fake-mode' | 'refuse';
  deviceId: string;
  setpointId?: string;
  atS: number;
  latencyS: number | null;
  /** What answered it, e.g. `expired ack + release`. */
  by?: string;
}

export function handBacks(facts: SetpointFacts): HandBack[] {
  const f = ordered(facts);
  const out: HandBack[] = [];
  for (const sp of f.sent) {
    const superseded = f.sent.some(
      (o) => o !== sp && o.deviceId === sp.deviceId && o.sentS > sp.sentS && o.fromS < sp.untilS && sp.fromS < o.untilS,
    );
    const driven = f.acks.some((a) => a.setpointId === sp.id && DRIVEN.includes(a.state));
    if (superseded || !driven || sp.untilS > f.endS) continue;
    const ack = f.acks.find((a) => a.setpointId === sp.id && (a.state === 'expired' || a.state === 'autonomous'));
    const from = Math.min(sp.untilS, ack?.tS ?? sp.untilS) - SLACK_S;
    const rel = f.battery.find(
      (e) => e.deviceId === sp.deviceId && (e.event === 'release' || e.event === 'revert') && e.tS >= from,
    );
    const base = { what: 'window-end' as const, deviceId: sp.deviceId, setpointId: sp.id, atS: sp.untilS };
    if (f.unobserved?.includes(sp.deviceId))
      out.push({
        ...base,
        latencyS: ack ? r2(Math.max(0, ack.tS - sp.untilS)) : null,
        by: ack ? `${ack.state} ack (real battery: its release not observed)` : 'no expired / autonomous ack',
      });
    else if (!ack || !rel)
      out.push({ ...base, latencyS: null, by: !ack ? 'no expired / autonomous ack' : 'no release' });
    else
      out.push({
        ...base,
        latencyS: r2(Math.max(0, Math.max(ack.tS, rel.tS) - sp.untilS)),
        by: `${ack.state} ack + battery ${rel.event}`,
      });
  }
  for (const e of f.battery) {
    if (e.event !== 'fault' || !e.fault || !BATTERY_FAULTS.includes(e.fault)) continue;
    const silent = e.fault === 'silent-revert';
    const states = silent ? RETAKEN : REPORTS;
    const ack = f.acks.find((a) => a.deviceId === e.deviceId && a.tS >= e.tS && states.includes(a.state));
    const next = silent
      ? f.battery.find((b) => b.deviceId === e.deviceId && b.tS > e.tS && b.event !== 'fault')
      : undefined;
    const done = ack && (!silent || next);
    const took = next ? `battery ${next.event}${next.commandW !== undefined ? ` ${next.commandW} W` : ''} + ` : '';
    out.push({
      what: e.fault as HandBack['what'],
      deviceId: e.deviceId,
      atS: e.tS,
      latencyS: done ? r2(Math.max(ack.tS, next?.tS ?? 0) - e.tS) : null,
      ...(ack ? { setpointId: ack.setpointId } : {}),
      by: done
        ? `${took}${ack.state} ack${ack.reason ? ` ${ack.reason}` : ''}`
        : `no ${silent && ack ? 'battery command / release' : `${states.join(' / ')} ack`} after it`,
    });
  }
  return out.sort((a, b) => a.atS - b.atS);
}

/** The longest hand-back latency, s (null: none reacted to). */
export function fallbackSeconds(f: SetpointFacts): number | null {
  const xs = handBacks(f).flatMap((h) => (h.latencyS === null ? [] : [h.latencyS]));
  return xs.length ? Math.max(...xs) : null;
}

const short = (id: string) => `${id.slice(0, 10)}…`;
const list = (xs: string[]) => xs.slice(0, 6).join('; ') + (xs.length > 6 ? ` … (${xs.length})` : '');
const unverified = (f: SetpointFacts) =>
  f.badAcks.length ? [`${f.badAcks.length} acks did not verify: ${f.badAcks.slice(0, 2).join('; ')}`] : [];
/** What a detail adds when batteries are real: `what` could not be observed on them. */
const realNote = (f: SetpointFacts, devices: readonly string[], what: string) => {
  const real = [...new Set(devices.filter((d) => f.unobserved?.includes(d)))];
  return real.length ? `; real battery of ${real.map(short).join(', ')}: ${what}` : '';
};

export type SetpointInvariant =
  { setpointAppliedWithinS: number } | { rejectedWith: string[] } | { autonomousWithinS: number };

/** The verdict of one setpoint invariant. */
export function evaluateSetpointInvariant(inv: SetpointInvariant, f: SetpointFacts): InvariantResult {
  if ('setpointAppliedWithinS' in inv) {
    const n = inv.setpointAppliedWithinS;
    const ls = appliedLatencies(f);
    const bad = ls.filter((x) => x.latencyS === null || x.latencyS > n);
    const worst = ls.reduce((m, x) => Math.max(m, x.latencyS ?? Infinity), 0);
    const problems = [
      ...bad.map((x) =>
        x.latencyS === null
          ? `${x.sp.agent} ${short(x.sp.id)} (${x.sp.targetW} W at t=${r1(x.sp.fromS)} s): no applied ack`
          : `${x.sp.agent} ${short(x.sp.id)}: applied ${x.latencyS} s after its start`,
      ),
      ...unverified(f),
      ...(ls.length ? [] : ['no setpoint was sent']),
    ];
    return {
      name: 'setpointAppliedWithinS',
      passed: problems.length === 0,
      value: Number.isFinite(worst) ? worst : 'never',
      detail: problems.length
        ? list(problems)
        : `${ls.length} setpoints applied, at most ${worst} s after their window's start (≤ ${n} s asked): ` +
          ls.map((x) => `${x.sp.targetW} W ${x.latencyS} s`).join(', ') +
          realNote(
            f,
            ls.map((x) => x.sp.deviceId),
            "from the device-signed applied acks (the agent's readback), the battery's own commands not observed",
          ),
    };
  }
  if ('rejectedWith' in inv) {
    const codes = inv.rejectedWith;
    const rs = refusals(f);
    const stray = strayCommands(f);
    const problems = [
      ...rs.flatMap((x) => {
        const what = `${x.sp.kind} ${short(x.sp.id)} (t=${r1(x.sp.sentS)} s)`;
        const p: string[] = [];
        if (!x.rejected) p.push(`${what}: no rejected ack`);
        else if (!codes.includes(x.rejected.reason)) p.push(`${what}: rejected with ${x.rejected.reason}`);
        if (x.accepted.length) p.push(`${what}: accepted (${x.accepted.map((a) => a.state).join(', ')} ack)`);
        return p;
      }),
      ...stray.map((e) => `battery command ${e.commandW ?? '?'} W at t=${r1(e.tS)} s outside every genuine window`),
      ...unverified(f),
      ...(rs.length ? [] : ['no forged or replayed setpoint was sent']),
    ];
    const seen = [...new Set(rs.flatMap((x) => (x.rejected ? [x.rejected.reason] : [])))];
    return {
      name: 'rejectedWith',
      passed: problems.length === 0,
      value: seen.join(', ') || 'none',
      detail: problems.length
        ? list(problems)
        : `${rs.length} refused with device-signed rejected acks (${rs.map((x) => `${x.sp.kind} ${x.rejected!.reason}`).join(', ')}); ` +
          (rs.every((x) => f.unobserved?.includes(x.sp.deviceId))
            ? 'the battery is real: whether it followed them is not observed (no simulator events), only the acks'
            : 'the battery followed only genuine setpoints' +
              realNote(
                f,
                rs.map((x) => x.sp.deviceId),
                'not observed whether it followed them (acks only)',
              )),
    };
  }
  const n = inv.autonomousWithinS;
  const hs = handBacks(f);
  const due = hs.filter((h) => h.latencyS !== null || h.atS + n <= f.endS);
  const bad = due.filter((h) => h.latencyS === null || h.latencyS > n);
  const worst = fallbackSeconds(f);
  const problems = [
    ...bad.map((h) =>
      h.latencyS === null
        ? `${h.what} at t=${r1(h.atS)} s: ${h.by ?? 'no reverted / not_applied / autonomous / expired ack'}`
        : `${h.what} at t=${r1(h.atS)} s: handed back after ${h.latencyS} s (${h.by})`,
    ),
    ...unverified(f),
    ...(due.length ? [] : ['nothing to hand back: no setpoint window ended and the battery never left a command']),
  ];
  return {
    name: 'autonomousWithinS',
    passed: problems.length === 0,
    value: worst ?? 'never',
    detail: problems.length
      ? list(problems)
      : `${due.length} hand-backs, the longest ${worst} s (≤ ${n} s asked): ` +
        list(due.map((h) => `${h.what} ${h.latencyS} s (${h.by})`)) +
        (due.length > 6 ? `; by kind: ${tally(due)}` : '') +
        realNote(
          f,
          due.map((h) => h.deviceId),
          'handed back at the ack, its release not observed',
        ),
  };
}

/** What answered each kind of hand-back, counted (the list above shows 6): `silent-revert: reverted ack X ×3, …`. */
function tally(hs: readonly HandBack[]): string {
  const by = new Map<string, Map<string, number>>();
  for (const h of hs) {
    const ack = /\S+ ack(?: [A-Z_]+)?/.exec(h.by ?? '')?.[0] ?? h.by ?? '?';
    const m = by.get(h.what) ?? new Map<string, number>();
    by.set(h.what, m.set(ack, (m.get(ack) ?? 0) + 1));
  }
  return [...by].map(([what, m]) => `${what}: ${[...m].map(([a, c]) => `${a} ×${c}`).join(', ')}`).join('; ');
}
