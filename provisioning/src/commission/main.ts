/**
 * The composition root of `lightnode commission`: the real clock and the collaborators it is given — the RS-485 and
 * Modbus TCP scans of `@lightnode/edge` (each builtin profile's `identify` registers, then SunSpec discovery on TCP)
 * and the enrollment client (`enrollDevice`).
 */
import { builtinProfiles, systemClock, type Profile } from '@lightnode/protocols';
import { formatSetting, scanSerialPort, scanTcp, type ScanProgress } from '@lightnode/edge';
import { enrollDevice } from '../enroll/client.js';
import { commissionCommand, type CommandDeps } from './command.js';
import type { ScanOptions, ScanResult } from './types.js';

/**
 * The profiles a scan tries, most specific first: a unit found by one is not asked again, so a SunSpec device is
 * named by its model's profile before `sunspec/common` (the marker alone) could claim it.
 */
export function scanProfiles(): Profile[] {
  const reg = builtinProfiles();
  const rank = (id: string): number => (id === 'sunspec/common' ? 2 : id.startsWith('sunspec/') ? 1 : 0);
  return reg
    .list()
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
    .map((id) => reg.get(id))
    .filter((p) => p.identify !== undefined);
}

const progress =
  (o: ScanOptions) =>
  (e: ScanProgress): void =>
    o.onProgress?.(e.done, e.total, `${e.setting ? formatSetting(e.setting) + ', ' : ''}unit ${e.unit}, ${e.profile}`);

export async function scanSerialDep(path: string, o: ScanOptions): Promise<ScanResult> {
  const r = await scanSerialPort({
    path,
    profiles: scanProfiles(),
    fullScan: o.fullScan,
    clock: o.clock,
    onProgress: progress(o),
  });
  return { found: r.found, detail: r.detail };
}

export async function scanTcpDep(hostPort: string, o: ScanOptions): Promise<ScanResult> {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostPort.trim());
  const host = (m?.[1] ?? hostPort).replace(/^\[|\]$/g, '');
  const port = m?.[2] !== undefined ? Number(m[2]) : undefined;
  const r = await scanTcp({
    host,
    ...(port !== undefined ? { port } : {}),
    profiles: scanProfiles(),
    clock: o.clock,
    onProgress: progress(o),
  });
  return { found: r.found, detail: r.detail };
}

export function realDeps(): CommandDeps {
  return {
    clock: systemClock,
    scanSerial: scanSerialDep,
    scanTcp: scanTcpDep,
    enroll: (o) =>
      enrollDevice({
        url: o.url,
        token: o.token,
        serial: o.serial,
        podId: o.podId,
        signer: o.signer,
        now: () => o.clock.now(),
      }),
  };
}

export default commissionCommand(async () => realDeps());
