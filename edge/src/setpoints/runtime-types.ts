/** The setpoint controller's options and its status block (`lightnode status` details `setpoints`). */
import type { AckState, Clock, Eip712Domain, FallbackReason, Logger, Signer } from '@lightnode/protocols';
import type { Link } from '../link/link.js';
import type { DurableQueue } from '../store/index.js';
import type { RefusalCode } from './checks.js';
import type { AuditSink } from './outbound.js';
import { inForce, type Drive, type Entry } from './state.js';
import type { EssAdapter, EssLimits, SetpointsOptions } from './types.js';

export interface ControllerOptions {
  clock: Clock;
  logger?: Logger;
  link: Link;
  queue: DurableQueue;
  signer: Signer;
  domain: Eip712Domain;
  podId: string;
  stateDir: string;
  options: SetpointsOptions;
  limits: EssLimits;
  adapter: EssAdapter;
  audit: AuditSink;
  /** How often the readback reads the asset, ms (the asset's `pollMs`). Default 1000. */
  pollMs?: number;
  /** Called after an ack or report was queued (the agent ships at once). */
  onQueued?: () => void;
}

export interface ControllerStatus {
  inForce?: { setpointId: string; activePowerW: number; validFromMs: number; validUntilMs: number; commandW?: number };
  scheduled: number;
  lastAck?: { setpointId: string; state: AckState; reason: string; atMs: number };
  refusals: { acked: number; suppressed: number; byCode: Partial<Record<RefusalCode, number>> };
  link: { lost: boolean; downSinceMs?: number };
  commands: number;
  readbackFailures: number;
  fallbacks: Partial<Record<FallbackReason, number>>;
  adapterErrors: number;
  lastAdapterError?: { code: string; message: string };
}

export function newStatus(): ControllerStatus {
  return {
    scheduled: 0,
    refusals: { acked: 0, suppressed: 0, byCode: {} },
    link: { lost: false },
    commands: 0,
    readbackFailures: 0,
    fallbacks: {},
    adapterErrors: 0,
  };
}

/** The status block from the counters, the schedule and the drive at `nowMs`. */
export function statusOf(
  s: ControllerStatus,
  entries: readonly Entry[],
  d: Drive | null,
  nowMs: number,
  link: ControllerStatus['link'],
): ControllerStatus {
  const e = inForce(entries, nowMs);
  const commandW = e && d?.id === e.sp.id ? d.lastCommandW : undefined;
  const { inForce: _was, ...counters } = s;
  return {
    ...counters,
    ...(e
      ? {
          inForce: {
            setpointId: e.sp.id,
            activePowerW: e.sp.activePowerW,
            validFromMs: e.sp.validFromMs,
            validUntilMs: e.sp.validUntilMs,
            ...(commandW !== undefined ? { commandW } : {}),
          },
        }
      : {}),
    scheduled: entries.filter((x) => x.sp.validFromMs > nowMs).length,
    refusals: { ...s.refusals, byCode: { ...s.refusals.byCode } },
    fallbacks: { ...s.fallbacks },
    link,
  };
}

/** The link as the controller sees it at `nowMs`: lost when down longer than `linkLossMs`. */
export function linkStateOf(
  l: Pick<Link, 'state' | 'since'>,
  nowMs: number,
  linkLossMs: number,
): ControllerStatus['link'] {
  if (l.state === 'connected') return { lost: false };
  return { lost: nowMs - l.since > linkLossMs, downSinceMs: l.since };
}
