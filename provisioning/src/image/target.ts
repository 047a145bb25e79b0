/**
 * Whether a flash target may be written: the pure decision over what the system says about it (its block devices,
 * `/proc/self/mountinfo`, `/proc/swaps`), so it is tested with fixtures. `probeTarget` (probe.ts) gathers the facts.
 * Refusals in the order of the issue: the system's own disk first, then mounted, too small, invalid.
 */
import { LightNodeError } from '@lightnode/protocols';

/** Mount points whose disk is the running system's: writing it would destroy the machine doing the flashing. */
export const SYSTEM_MOUNTS = ['/', '/boot', '/boot/efi', '/usr', '/var'] as const;

/** A block device that writing the target overwrites or pulls out from under its users. */
export interface TargetDev {
  /** `MAJOR:MINOR`, as in mountinfo's third field. */
  majMin: string;
  /** Its `/dev` path (`/dev/sdb1`, `/dev/loop3`, `/dev/dm-0`). */
  path: string;
}

export interface TargetFacts {
  /** The path as given (`--device`). */
  path: string;
  kind: 'block' | 'file' | 'missing' | 'other';
  /** Size in bytes: a block device's (sysfs / BLKGETSIZE64); a regular file grows, so `undefined`. */
  sizeBytes?: number | undefined;
  /**
   * The devices whose content the write replaces or undermines: the device itself, its partitions, their holders
   * (device-mapper, md) and, for a regular file, the loop devices it backs (with theirs).
   */
  devs: TargetDev[];
}

export interface MountEntry {
  majMin: string;
  mountPoint: string;
  source: string;
  fsType: string;
}

/** `\040`-style octal escapes of mountinfo / proc swaps fields. */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Parses `/proc/self/mountinfo` (proc(5)): `id parent MAJ:MIN root mountpoint opts [optional…] - fstype source …`. */
export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(' ');
    const sep = f.indexOf('-');
    if (f.length < 7 || sep < 6) continue;
    out.push({
      majMin: f[2]!,
      mountPoint: unescape(f[4]!),
      fsType: f[sep + 1] ?? '',
      source: unescape(f[sep + 2] ?? ''),
    });
  }
  return out;
}

/** Active swap areas from `/proc/swaps` (`Filename Type Size Used Priority`, header first). */
export function parseSwaps(text: string): { path: string; type: string }[] {
  return text
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 2 && f[0])
    .map((f) => ({ path: unescape(f[0]!), type: f[1]! }));
}

export type TargetDecision = { ok: true; mountPoints: [] } | { ok: false; error: LightNodeError };

/**
 * Decides whether `target` may receive an image of `imageBytes`, from mountinfo and swaps text. `swapDevs` maps a
 * swap area's path to the `MAJOR:MINOR` of the device it lives on (a swap partition: its own; a swap file: its
 * file system's), when the caller could resolve it.
 */
export function decideTarget(
  target: TargetFacts,
  imageBytes: number,
  mountinfo: string,
  swaps: string,
  swapDevs: Readonly<Record<string, string>> = {},
): TargetDecision {
  const device = target.path;
  const ours = new Set(target.devs.map((d) => d.majMin));
  const ourPaths = new Set(target.devs.map((d) => d.path));
  const mounts = parseMountinfo(mountinfo).filter((m) => ours.has(m.majMin) || ourPaths.has(m.source));
  const system = mounts.filter((m) => (SYSTEM_MOUNTS as readonly string[]).includes(m.mountPoint));
  const swapOn = parseSwaps(swaps).filter((s) => {
    const dev = swapDevs[s.path];
    return ourPaths.has(s.path) || (dev !== undefined && ours.has(dev));
  });
  if (system.length || swapOn.length) {
    const holds = [...new Set(system.map((m) => m.mountPoint))];
    const what = [...holds, ...swapOn.map((s) => `swap ${s.path}`)].join(', ');
    return {
      ok: false,
      error: new LightNodeError(
        'FLASH_TARGET_SYSTEM',
        `${device} holds this system's ${what}: refusing to overwrite the running system's disk`,
        { device, mountPoints: holds, swaps: swapOn.map((s) => s.path) },
      ),
    };
  }
  if (mounts.length) {
    const points = [...new Set(mounts.map((m) => m.mountPoint))];
    return {
      ok: false,
      error: new LightNodeError(
        'FLASH_TARGET_MOUNTED',
        `${device} is mounted at ${points.join(', ')}: unmount it first (umount ${points.join(' ')})`,
        { device, mountPoints: points },
      ),
    };
  }
  if (target.kind === 'block' && target.sizeBytes !== undefined && target.sizeBytes < imageBytes)
    return {
      ok: false,
      error: new LightNodeError(
        'FLASH_TARGET_TOO_SMALL',
        `${device} has ${target.sizeBytes} bytes, the image needs ${imageBytes}`,
        { device, sizeBytes: target.sizeBytes, imageBytes },
      ),
    };
  if (target.kind === 'missing' || target.kind === 'other')
    return {
      ok: false,
      error: new LightNodeError(
        'FLASH_TARGET_INVALID',
        target.kind === 'missing'
          ? `${device} does not exist (give a block device such as /dev/sdX or a regular file)`
          : `${device} is neither a block device nor a regular file`,
        { device, kind: target.kind },
      ),
    };
  return { ok: true, mountPoints: [] };
}
