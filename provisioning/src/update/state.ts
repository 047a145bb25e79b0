/**
 * The update lifecycle as pure transitions over `UpdateState` (state.json) and the installed releases; side effects
 * (symlink switches, systemctl) are returned as `Effect`s for the caller to carry out, state first.
 *
 * - `applied`: the new release becomes current and **pending** (kind `update`), the old one previous.
 * - `hookStart` (agent ExecStartPre): `starts += 1`; a second start of a pending release means it was restarted →
 *   roll back (reason from the last recorded stop, else `restarted`), before ExecStart resolves `current`.
 * - `hookStop` (ExecStopPost, `$SERVICE_RESULT`): `watchdog` → roll back now; `timeout` → `no-ready`;
 *   `exit-code|signal|core-dump` → `crash-loop` at the 2nd crash; `success` → recorded (the next start rolls back).
 * - `rollbackAuto` (OnFailure=): roll back with the recorded reason (else `no-ready`), then reset-failed + start.
 * - Rollback targets: a pending `update` → previous (else factory); a pending `rollback` → the factory; a pending
 *   `factory` → nowhere: **retry** mode, the retry timer restarts the agent every 15 min (`retryTick`).
 * - `confirm`: pending → confirmed (never rolled back by itself afterwards); `--auto` only when the agent is active,
 *   started once, and active for ≥ `confirmAfterS`.
 *
 * Crash safety of a transition: state.json is written (temp, fsync, rename) before the symlinks switch, and keeps the
 * pending entry it replaces in `was`: a reader takes the pending entry whose release is the current one (so an
 * interrupted switch leaves the old truth in force, never an unproven release that looks confirmed).
 */

export type Source = 'factory' | 'ota';

/** An installed release as the lifecycle sees it; `dir` is its absolute directory. */
export interface ReleaseRef {
  version: string;
  seq: number;
  arch: string;
  source: Source;
  dir: string;
}

/** How the last stop of a pending release went: `crash`, `success`, `watchdog`, `timeout` or another `$SERVICE_RESULT`. */
export type StopRecord = string;

export interface Pending {
  version: string;
  seq: number;
  source: Source;
  /** `update`: applied; `rollback`: rolled back to previous; `factory`: fell back to the factory release. */
  kind: 'update' | 'rollback' | 'factory';
  sinceMs: number;
  /** Agent starts of this release so far (ExecStartPre hook). */
  starts: number;
  crashes: number;
  lastStop: StopRecord | null;
  startedAtMs: number | null;
}

/** `crash-loop`, `watchdog`, `no-ready`, `restarted`, or a person's `--reason`. */
export type RollbackReason = string;

export interface LastAction {
  action: 'apply' | 'confirm' | 'rollback' | 'retry';
  result: 'ok' | 'refused' | 'failed' | 'skipped';
  reason: string | null;
  atMs: number;
  version?: string;
  from?: string;
  to?: string;
  file?: string;
}

export interface UpdateState {
  format: 1;
  pending: Pending | null;
  /** The pending entry this state replaced (see the crash-safety note above). */
  was: Pending | null;
  last: LastAction | null;
  retry: { sinceMs: number; reason: string; attempts: number; lastAttemptMs: number | null } | null;
}

export const emptyState = (): UpdateState => ({ format: 1, pending: null, was: null, last: null, retry: null });

export interface Installed {
  current: ReleaseRef;
  previous: ReleaseRef | null;
  factory: ReleaseRef | null;
}

export type Effect =
  | { type: 'switch'; current: ReleaseRef; previous: ReleaseRef | null }
  | { type: 'restart-agent' }
  | { type: 'reset-failed' }
  | { type: 'start-agent' };

export interface Step {
  state: UpdateState;
  effects: Effect[];
}

const same = (p: { version: string; source: Source } | null, r: ReleaseRef | null): boolean =>
  !!p && !!r && p.version === r.version && p.source === r.source;

/** The pending entry in force for the installed `current` (see the crash-safety note), or null. */
export function effectivePending(s: UpdateState, current: ReleaseRef): Pending | null {
  if (same(s.pending, current)) return s.pending;
  if (same(s.was, current)) return s.was;
  return null;
}

/** The state with the pending entry in force made explicit (`was` dropped). */
export function normalize(s: UpdateState, current: ReleaseRef): UpdateState {
  const pending = effectivePending(s, current);
  return { ...s, pending, was: null, retry: pending ? s.retry : null };
}

const newPending = (r: ReleaseRef, kind: Pending['kind'], nowMs: number, starts: number): Pending => ({
  version: r.version,
  seq: r.seq,
  source: r.source,
  kind,
  sinceMs: nowMs,
  starts,
  crashes: 0,
  lastStop: null,
  startedAtMs: starts > 0 ? nowMs : null,
});

/** After a successful extraction: switch to `next`, pending; restart the agent. */
export function applied(s0: UpdateState, inst: Installed, next: ReleaseRef, nowMs: number, file?: string): Step {
  const s = normalize(s0, inst.current);
  return {
    state: {
      ...s,
      pending: newPending(next, 'update', nowMs, 0),
      was: s.pending,
      retry: null,
      last: {
        action: 'apply',
        result: 'ok',
        reason: null,
        atMs: nowMs,
        version: next.version,
        ...(file ? { file } : {}),
      },
    },
    effects: [{ type: 'switch', current: next, previous: inst.current }, { type: 'restart-agent' }],
  };
}

/** Records a refused apply (nothing else changes). */
export function refused(s0: UpdateState, inst: Installed, code: string, nowMs: number, file: string): UpdateState {
  return {
    ...normalize(s0, inst.current),
    last: { action: 'apply', result: 'refused', reason: code, atMs: nowMs, file },
  };
}

/** Where a failed pending release rolls back to, or null (retry mode). */
export function rollbackTarget(p: Pending, inst: Installed): ReleaseRef | null {
  const f = inst.factory && !same(p, inst.factory) ? inst.factory : null;
  if (p.kind === 'update') {
    const prev = inst.previous;
    if (prev && !same(p, prev) && prev.dir !== inst.current.dir) return prev;
    return f;
  }
  if (p.kind === 'rollback') return f;
  return null;
}

/** Rolls the pending release back (`startsAfter`: 1 when called from the start hook, the start then under way). */
function rollback(s: UpdateState, inst: Installed, reason: RollbackReason, nowMs: number, startsAfter: number): Step {
  const p = s.pending!;
  const target = rollbackTarget(p, inst);
  if (!target) {
    const retry = s.retry ?? { sinceMs: nowMs, reason, attempts: 0, lastAttemptMs: null };
    return {
      state: {
        ...s,
        pending: { ...p, lastStop: p.lastStop },
        retry: { ...retry, reason },
        last: { action: 'rollback', result: 'failed', reason, atMs: nowMs, from: p.version },
      },
      effects: [],
    };
  }
  const kind = target.source === 'factory' ? 'factory' : 'rollback';
  return {
    state: {
      ...s,
      pending: newPending(target, kind, nowMs, startsAfter),
      was: p,
      retry: null,
      last: { action: 'rollback', result: 'ok', reason, atMs: nowMs, from: p.version, to: target.version },
    },
    effects: [{ type: 'switch', current: target, previous: inst.current }],
  };
}

const reasonOfStop = (r: StopRecord | null): RollbackReason | null =>
  r === null
    ? null
    : r === 'crash'
      ? 'crash-loop'
      : r === 'watchdog'
        ? 'watchdog'
        : r === 'timeout'
          ? 'no-ready'
          : r === 'success'
            ? 'restarted'
            : 'no-ready';

const noop = (s: UpdateState): Step => ({ state: s, effects: [] });

/** ExecStartPre of the agent. */
export function hookStart(s0: UpdateState, inst: Installed, nowMs: number): Step {
  const s = normalize(s0, inst.current);
  if (!s.pending) return noop(s);
  const p = { ...s.pending, starts: s.pending.starts + 1, startedAtMs: nowMs };
  if (p.starts > 1 && !s.retry)
    return rollback({ ...s, pending: p }, inst, reasonOfStop(p.lastStop) ?? 'restarted', nowMs, 1);
  return noop({ ...s, pending: p });
}

/** ExecStopPost of the agent, `serviceResult` = `$SERVICE_RESULT`. */
export function hookStop(s0: UpdateState, inst: Installed, serviceResult: string, nowMs: number): Step {
  const s = normalize(s0, inst.current);
  if (!s.pending || s.pending.starts < 1) return noop(s);
  const p = { ...s.pending };
  const r = serviceResult || 'unknown';
  if (r === 'watchdog' || r === 'timeout') {
    p.lastStop = r;
    if (s.retry) return noop({ ...s, pending: p });
    return rollback({ ...s, pending: p }, inst, r === 'watchdog' ? 'watchdog' : 'no-ready', nowMs, 0);
  }
  if (r === 'exit-code' || r === 'signal' || r === 'core-dump') {
    p.crashes += 1;
    p.lastStop = 'crash';
    if (p.crashes >= 2 && !s.retry) return rollback({ ...s, pending: p }, inst, 'crash-loop', nowMs, 0);
    return noop({ ...s, pending: p });
  }
  p.lastStop = r;
  return noop({ ...s, pending: p });
}

/** OnFailure= of the agent (its start limit hit): roll back, reset the failure, start it again. */
export function rollbackAuto(s0: UpdateState, inst: Installed, nowMs: number): Step {
  const s = normalize(s0, inst.current);
  if (!s.pending)
    return noop({ ...s, last: { action: 'rollback', result: 'skipped', reason: 'confirmed', atMs: nowMs } });
  if (s.retry) return noop(s);
  const step = rollback(s, inst, reasonOfStop(s.pending.lastStop) ?? 'no-ready', nowMs, 0);
  if (step.state.retry) return step;
  return { ...step, effects: [...step.effects, { type: 'reset-failed' }, { type: 'start-agent' }] };
}

/**
 * `update rollback [--reason R]` by a person: a pending release rolls back as `rollbackAuto` would; a confirmed one to
 * previous (else the factory), which then has to prove itself. Null when there is nothing to roll back to.
 */
export function rollbackManual(s0: UpdateState, inst: Installed, reason: string, nowMs: number): Step | null {
  const s = normalize(s0, inst.current);
  const p = s.pending ?? newPending(inst.current, inst.current.source === 'factory' ? 'factory' : 'update', nowMs, 0);
  const target = rollbackTarget(p, inst);
  if (!target) return null;
  const step = rollback({ ...s, pending: p, retry: null }, inst, reason, nowMs, 0);
  return { ...step, effects: [...step.effects, { type: 'restart-agent' }] };
}

/** The retry timer: in retry mode, give the (factory) release a fresh chance and start the agent. */
export function retryTick(s0: UpdateState, inst: Installed, nowMs: number, agent: AgentView): Step {
  const s = normalize(s0, inst.current);
  if (!s.retry || !s.pending) return noop(s);
  if (agent.activeState === 'active' || agent.activeState === 'activating') return noop(s);
  return {
    state: {
      ...s,
      pending: { ...s.pending, starts: 0, crashes: 0, lastStop: null },
      retry: { ...s.retry, attempts: s.retry.attempts + 1, lastAttemptMs: nowMs },
      last: { action: 'retry', result: 'ok', reason: s.retry.reason, atMs: nowMs, version: s.pending.version },
    },
    effects: [{ type: 'reset-failed' }, { type: 'start-agent' }],
  };
}

export interface AgentView {
  /** systemd's ActiveState of the agent, null when unknown (no systemctl: `--root`). */
  activeState: string | null;
  /** How long the agent has been active, ms, null when unknown. */
  activeForMs: number | null;
}

/** `update confirm` (`auto`: the timer's conditions). Returns null when there is nothing to confirm (yet). */
export function confirm(
  s0: UpdateState,
  inst: Installed,
  nowMs: number,
  auto: { confirmAfterS: number; agent: AgentView } | null,
): Step | null {
  const s = normalize(s0, inst.current);
  const p = s.pending;
  if (!p) return null;
  if (auto) {
    if (auto.agent.activeState !== null && auto.agent.activeState !== 'active') return null;
    if (p.starts !== 1) return null;
    const activeFor = auto.agent.activeForMs ?? (p.startedAtMs === null ? 0 : nowMs - p.startedAtMs);
    if (activeFor < auto.confirmAfterS * 1000) return null;
  }
  return {
    state: {
      ...s,
      pending: null,
      retry: null,
      last: { action: 'confirm', result: 'ok', reason: auto ? 'auto' : 'manual', atMs: nowMs, version: p.version },
    },
    effects: [],
  };
}

export interface StatusDoc {
  current: { version: string; seq: number; source: Source; confirmed: boolean };
  previous: { version: string; seq: number; source: Source } | null;
  factory: { version: string; seq: number } | null;
  pending: Pick<Pending, 'version' | 'seq' | 'kind' | 'sinceMs' | 'starts' | 'crashes' | 'lastStop'> | null;
  last: LastAction | null;
  retry?: UpdateState['retry'];
}

/** `update status`. */
export function statusOf(s0: UpdateState, inst: Installed): StatusDoc {
  const s = normalize(s0, inst.current);
  const p = s.pending;
  return {
    current: { version: inst.current.version, seq: inst.current.seq, source: inst.current.source, confirmed: !p },
    previous: inst.previous
      ? { version: inst.previous.version, seq: inst.previous.seq, source: inst.previous.source }
      : null,
    factory: inst.factory ? { version: inst.factory.version, seq: inst.factory.seq } : null,
    pending: p
      ? {
          version: p.version,
          seq: p.seq,
          kind: p.kind,
          sinceMs: p.sinceMs,
          starts: p.starts,
          crashes: p.crashes,
          lastStop: p.lastStop,
        }
      : null,
    last: s.last,
    ...(s.retry ? { retry: s.retry } : {}),
  };
}
