/**
 * The controller's state and its pure transitions: the per-issuer nonces, the schedule of accepted setpoints
 * (each in force in [validFromMs, validUntilMs); a newer one for an overlapping window supersedes the older), and
 * the drive of the setpoint in force (last command, confirmation by readback, failures, fallback).
 */
import type { AckState, ClipReason, FallbackReason, Setpoint } from '@lightnode/protocols';

export type Nonces = Readonly<Record<string, number>>;

/** Fallback causes (`autonomous` acks): the link down too long, two failed readbacks, the agent stopping. */
export type { FallbackReason };

/** PoD meter energy counters at a moment (Wh), and the integral of its power as a fallback. */
export interface MeterMark {
  importWh?: number;
  exportWh?: number;
  integralWh: number;
  /** Measurement time of the reading the mark was taken from. */
  atMs?: number;
}

export interface Entry {
  sp: Setpoint;
  /** True once seen in force (its QoS report comes at the window end). */
  started?: boolean;
  /** The PoD meter at the first reading in force. */
  startMark?: MeterMark;
  /** The PoD meter at the last reading inside the window (the QoS report's end). */
  endMark?: MeterMark;
  /** The setpoint fell back to autonomous: never driven again; its QoS still comes at the window end. */
  fallback?: FallbackReason;
}

export interface Drive {
  id: string;
  lastCommandW?: number;
  /** Monotonic ms of the last write. */
  lastWriteMono?: number;
  /** True after a readback matched the last command (so a deviation afterwards is a revert). */
  confirmed: boolean;
  failedReadbacks: number;
  /** The last write failed: write again at the next cycle. */
  retry?: boolean;
  /** The asset reverted on its own: the next successful readback acks applied / clipped again. */
  reassert?: boolean;
  /** The last applied / clipped / not_applied ack, to send only changes. */
  lastAck?: { state: AckState; reason: string };
}

export function advanceNonce(n: Nonces, issuer: string, nonce: number): Nonces {
  return { ...n, [issuer]: nonce };
}

const overlaps = (a: Setpoint, b: Setpoint): boolean =>
  a.validFromMs < b.validUntilMs && b.validFromMs < a.validUntilMs;

/** Adds an accepted setpoint; the entries whose windows overlap it are superseded (returned). */
export function accept(entries: readonly Entry[], sp: Setpoint): { entries: Entry[]; superseded: Entry[] } {
  const superseded = entries.filter((e) => overlaps(e.sp, sp));
  const kept = entries.filter((e) => !overlaps(e.sp, sp));
  return { entries: [...kept, { sp }].sort((a, b) => a.sp.validFromMs - b.sp.validFromMs), superseded };
}

/** The entry in force at `nowMs` (entries never overlap). */
export function inForce(entries: readonly Entry[], nowMs: number): Entry | undefined {
  return entries.find((e) => e.sp.validFromMs <= nowMs && nowMs < e.sp.validUntilMs);
}

/** Entries whose window has ended at `nowMs`, and the rest. */
export function ended(entries: readonly Entry[], nowMs: number): { done: Entry[]; rest: Entry[] } {
  return {
    done: entries.filter((e) => e.sp.validUntilMs <= nowMs),
    rest: entries.filter((e) => e.sp.validUntilMs > nowMs),
  };
}

/** The next window edge after `nowMs` (a start or an end), undefined when none. */
export function nextEdge(entries: readonly Entry[], nowMs: number): number | undefined {
  const edges = entries.flatMap((e) => [e.sp.validFromMs, e.sp.validUntilMs]).filter((t) => t > nowMs);
  return edges.length ? Math.min(...edges) : undefined;
}

export type ReadbackResult =
  { ok: true; essPowerW: number } | { ok: false; code: string; essPowerW?: number; message: string };

/**
 * After a write's readback: the new drive and the ack to send, if any (only on a change of state or reason, and
 * after a revert, always), `applied` / `clipped` not while the ramp still holds the command short of a reachable target), and whether
 * the failures call for the fallback (two failed readbacks in a row).
 */
export function afterReadback(
  d: Drive,
  r: ReadbackResult,
  plan: { reason?: ClipReason; ramping: boolean },
): { drive: Drive; ack?: { state: AckState; reason: string }; fallback?: FallbackReason } {
  if (!r.ok) {
    const failedReadbacks = d.failedReadbacks + 1;
    const drive: Drive = { ...d, confirmed: false, failedReadbacks, retry: true };
    if (failedReadbacks >= 2) return { drive, fallback: 'READBACK_FAILED' };
    const ack = { state: 'not_applied' as const, reason: r.code };
    return { drive: { ...drive, lastAck: ack }, ack };
  }
  const drive: Drive = { ...d, confirmed: true, failedReadbacks: 0, retry: false, reassert: false };
  if (plan.ramping && plan.reason === undefined) return { drive };
  const ack = plan.reason
    ? { state: 'clipped' as const, reason: plan.reason }
    : { state: 'applied' as const, reason: '' };
  if (!d.reassert && d.lastAck?.state === ack.state && d.lastAck.reason === ack.reason) return { drive };
  return { drive: { ...drive, lastAck: ack }, ack };
}

/** True when the battery no longer follows a confirmed command: the device reverted it on its own. */
export function isReverted(
  d: Drive,
  s: { essPowerW: number; mode: 'remote' | 'autonomous' },
  toleranceW: number,
): boolean {
  if (!d.confirmed || d.lastCommandW === undefined) return false;
  return s.mode === 'autonomous' || Math.abs(s.essPowerW - d.lastCommandW) > toleranceW;
}

/**
 * Whether the cycle writes `commandW`: the first command, a retry, a new figure beyond half the readback tolerance
 * (PoD meter noise does not rewrite the inverter's registers every cycle), a ramp / limit that moved it
 * (`commandW` ≠ `desiredW`), or `refreshMs` since the last write (monotonic `mono`).
 */
export function writeDue(
  d: Drive,
  p: { commandW: number; desiredW: number },
  mono: number,
  o: { readbackToleranceW: number; refreshMs: number },
): boolean {
  if (d.lastCommandW === undefined || d.retry === true) return true;
  if (Math.abs(p.commandW - d.lastCommandW) > o.readbackToleranceW / 2) return true;
  if (p.commandW !== d.lastCommandW && p.commandW !== p.desiredW) return true;
  return mono - (d.lastWriteMono ?? -Infinity) >= o.refreshMs;
}
