/**
 * A silent revert (pure): the asset stops following a confirmed command on its own while its registers still say
 * `remote` and the command (evcc #33037). Two signals see it, whichever comes first: the asset's own power reading
 * (`READBACK_MISMATCH`), or the PoD meter — a PoD reading off the level the
 * command holds the PoD at by more than the readback tolerance (`POD_DEVIATION`; the controller then reads the asset
 * itself to confirm: a load step moves the PoD too, and is no revert). Either way one `reverted` ack names the signal,
 * and the command is re-planned from the site figure from before the revert (a PoD reading paired with a battery
 * state from before the revert would make the site look bigger by the lost power, and the rewrite overshoot).
 */
import { isReverted, type Drive } from './state.js';
import type { EssState } from './types.js';

/** What saw the revert first (the `reverted` ack's reason). */
export type RevertSeenBy = 'READBACK_MISMATCH' | 'POD_DEVIATION';

export interface PodView {
  /** The latest PoD meter power, W (import +). */
  podW: number | undefined;
  /** The site figure (PoD + battery, W) of the last consistent pair. */
  siteW: number | undefined;
}

/** `READBACK_MISMATCH` when the asset's state itself no longer follows the confirmed command. */
export function revertInState(d: Drive, s: EssState, toleranceW: number): RevertSeenBy | undefined {
  return isReverted(d, s, toleranceW) ? 'READBACK_MISMATCH' : undefined;
}

/**
 * True when the PoD reading is off the level the confirmed command holds the PoD at (site figure − command) by more
 * than `toleranceW` while the asset's state `s` still follows it: the asset must be read again before the reading is
 * paired with `s`. No test of which is newer: the two are polled on their own, and a reading's timestamp is its
 * poll's start, not the moment the device measured (a PoD read stamped before the battery's can show the later power).
 */
export function podDeviates(d: Drive, s: EssState, p: PodView, toleranceW: number): boolean {
  if (!d.confirmed || d.lastCommandW === undefined || isReverted(d, s, toleranceW)) return false;
  if (p.podW === undefined || p.siteW === undefined) return false;
  return Math.abs(p.podW - (p.siteW - d.lastCommandW)) > toleranceW;
}

/**
 * The asset's state for a control cycle and what saw a revert in it, if any: the telemetry's state `viewed` (else a
 * read); when the PoD deviates from a telemetry state that still follows, a read of the asset decides — a revert
 * (`POD_DEVIATION`), or the load moved and the fresh state regulates. A read that fails rejects.
 */
export async function observeAsset(
  d: Drive,
  viewed: EssState | undefined,
  read: () => Promise<EssState>,
  pod: PodView,
  toleranceW: number,
): Promise<{ state: EssState; seenBy?: RevertSeenBy }> {
  const state = viewed ?? (await read());
  const seenBy = revertInState(d, state, toleranceW);
  if (seenBy) return { state, seenBy };
  if (!viewed || !podDeviates(d, state, pod, toleranceW)) return { state };
  const now = await read();
  return revertInState(d, now, toleranceW) ? { state: now, seenBy: 'POD_DEVIATION' } : { state: now };
}

/** The drive after a `reverted` ack: unconfirmed, written again at once, the next readback acks applied / clipped. */
export function afterRevert(d: Drive): Drive {
  return { ...d, confirmed: false, lastWriteMono: -Infinity, reassert: true };
}

/** The audit log's `setpoint.reverted` entry: what saw it, the command, the asset's state, the PoD reading. */
export function revertedRecord(
  setpointId: string,
  seenBy: RevertSeenBy,
  d: Drive,
  s: EssState,
  podW: number | undefined,
): Record<string, unknown> {
  return {
    setpointId,
    reason: seenBy,
    commandW: d.lastCommandW,
    essPowerW: s.essPowerW,
    mode: s.mode,
    ...(podW !== undefined ? { podW } : {}),
  };
}
