/**
 * The scans `lightnode commission` runs by default: the RS-485 and Modbus TCP scans of `@lightnode/edge` over each
 * builtin profile that declares `identify` registers, most specific first.
 */
import { builtinProfiles, type Profile } from '@lightnode/protocols';
import {
  formatSetting,
  scanSerialPort,
  scanTcp,
  type ModbusTransport,
  type ScanProgress,
  type SerialSetting,
} from '@lightnode/edge';
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

/**
 * One RS-485 port scanned; `open` gives the client at each (baud, parity) tried (default: the port itself through
 * `ModbusSerialTransport`; a test gives a line model's clients).
 */
export async function scanSerialDep(
  path: string,
  o: ScanOptions,
  open?: (s: SerialSetting) => ModbusTransport,
): Promise<ScanResult> {
  const r = await scanSerialPort({
    path,
    ...(open ? { open } : {}),
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
