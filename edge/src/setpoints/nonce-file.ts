/**
 * The per-issuer last accepted nonces, `<stateDir>/setpoint-nonces.json` (`{"0xissuer": nonce}`): written to a
 * temporary file, fsynced, renamed over the old one and the directory fsynced, so a crash leaves the old or the new
 * file, never a torn one. Written before the accepted setpoint's first ack is queued (a replay after a restart is
 * refused).
 */
import { existsSync, readFileSync } from 'node:fs';
import { LightNodeError } from '@lightnode/protocols';
import { writeFileDurably } from '../store/index.js';
import type { Nonces } from './state.js';

export const NONCE_FILE = 'setpoint-nonces.json';

export function readNonces(path: string): Nonces {
  if (!existsSync(path)) return {};
  let x: unknown;
  try {
    x = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new LightNodeError('IO_ERROR', `${path}: not JSON (${(e as Error).message})`, { path });
  }
  if (typeof x !== 'object' || x === null || Array.isArray(x))
    throw new LightNodeError('IO_ERROR', `${path}: expected an object issuer → nonce`, { path });
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(x))
    if (typeof v === 'number' && Number.isSafeInteger(v)) out[k.toLowerCase()] = v;
    else throw new LightNodeError('IO_ERROR', `${path}: nonce of ${k} is not an integer`, { path });
  return out;
}

export function writeNonces(path: string, n: Nonces): void {
  writeFileDurably(path, JSON.stringify(n) + '\n');
}
