/**
 * The housekeeping job: free space of the state directory's file system (`fs.statfs`: blocks available to an
 * unprivileged process, as `df` shows them) — `DISK_LOW` under 10 % — and time sync. Time sync is read from the file
 * systemd-timesyncd touches once the clock is synchronized (`/run/systemd/timesync/synchronized`, systemd ≥ 239,
 * sd-timesyncd(8)): it needs no D-Bus and no privilege, so it works under the agent's sandbox (ProtectSystem=strict
 * keeps /run readable), where `timedatectl` would need the system bus. Unknown (no timesyncd on the machine) is not
 * an error.
 */
import { existsSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import type { JobOutcome } from './runner.js';

/** The figures of `fs.statfs` the job uses. */
export interface FsSpace {
  bsize: number;
  blocks: number;
  bavail: number;
}

export interface TimeSync {
  /** null: unknown (no systemd-timesyncd state on this machine). */
  synchronized: boolean | null;
  method: string;
}

export const DISK_LOW_PERCENT = 10;
const TIMESYNC_DIR = '/run/systemd/timesync';

/** systemd-timesyncd's flag file: present → synchronized; its directory without it → not yet; neither → unknown. */
export function timesyncdState(dir = TIMESYNC_DIR): TimeSync {
  const method = `${dir}/synchronized (systemd-timesyncd)`;
  if (existsSync(`${dir}/synchronized`)) return { synchronized: true, method };
  return { synchronized: existsSync(dir) ? false : null, method };
}

export interface HousekeepingOptions {
  stateDir: string;
  /** Injected in tests; default `fs.promises.statfs`. */
  statfs?: (path: string) => Promise<FsSpace>;
  timeSync?: () => TimeSync;
}

export async function housekeeping(o: HousekeepingOptions): Promise<JobOutcome> {
  const s = await (o.statfs ?? statfs)(o.stateDir);
  const totalBytes = s.blocks * s.bsize;
  const freeBytes = s.bavail * s.bsize;
  const freePercent = totalBytes > 0 ? Math.round((freeBytes / totalBytes) * 1000) / 10 : 0;
  const timeSync = (o.timeSync ?? timesyncdState)();
  const alarms: NonNullable<JobOutcome['alarms']> = [];
  if (freePercent < DISK_LOW_PERCENT)
    alarms.push({
      code: 'DISK_LOW',
      message: `the file system of ${o.stateDir} has ${freePercent} % free (${freeBytes} of ${totalBytes} B), under ${DISK_LOW_PERCENT} %`,
    });
  return { details: { stateDir: o.stateDir, freeBytes, totalBytes, freePercent, timeSync }, alarms };
}
