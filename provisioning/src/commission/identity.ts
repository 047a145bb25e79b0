/**
 * The device's identity for commissioning: its serial number, its key (made when absent, as first boot would) and a
 * QR code of its address (terminal rendering for a TTY, inline SVG for the HTML report).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import QRCode from 'qrcode';
import type { Signer } from '@lightnode/protocols';
import { signerFromKeyFile, writeNewKeyFile } from '@lightnode/edge';
import type { MachineSerial } from './types.js';

/**
 * Where the machine's own serial comes from, in order: the device tree's `serial-number` (Raspberry Pi and most
 * ARM boards: the SoC serial, NUL-terminated), else the first 16 hex digits of `/etc/machine-id` (systemd's
 * per-installation id: stable across boots, new when the image is re-flashed).
 */
export const SERIAL_SOURCES = ['/proc/device-tree/serial-number', '/etc/machine-id'] as const;

export function machineSerial(read: (path: string) => string | undefined = readText): MachineSerial | undefined {
  const dt = read(SERIAL_SOURCES[0])?.replace(/\0/g, '').trim();
  if (dt) return { serial: dt, source: SERIAL_SOURCES[0] };
  const id = read(SERIAL_SOURCES[1])?.trim();
  if (id && /^[0-9a-f]{16,}$/i.test(id)) return { serial: id.slice(0, 16), source: SERIAL_SOURCES[1] };
  return undefined;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The device key at `keyFile`, generated (mode 0600) when the file does not exist yet. */
export function deviceKey(keyFile: string): { signer: Signer; created: boolean } {
  let created = false;
  if (!existsSync(keyFile)) {
    mkdirSync(dirname(keyFile), { recursive: true });
    writeNewKeyFile(keyFile);
    created = true;
  }
  return { signer: signerFromKeyFile(keyFile), created };
}

/** The address's QR code: `terminal` (half-block characters, for a TTY) and `svg` (self-contained markup). */
export async function addressQr(address: string): Promise<{ terminal: string; svg: string }> {
  const [terminal, svg] = await Promise.all([
    QRCode.toString(address, { type: 'terminal', small: true }),
    QRCode.toString(address, { type: 'svg', margin: 2 }),
  ]);
  return { terminal, svg };
}

/** A serial usable in a file name: letters, digits, `-` and `_` (anything else becomes `_`). */
export const fileSafe = (s: string): string => s.replace(/[^A-Za-z0-9_-]/g, '_');
