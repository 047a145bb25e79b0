/** Shared bits of the cloud commands: loggers, key files, address books. */
import { readFileSync } from 'node:fs';
import {
  LightNodeError,
  addressFromPrivateKey,
  createLogger,
  type CommandIo,
  type LogLevel,
  type Logger,
} from '@lightnode/protocols';
import type { AddressBook } from '../chain/client.js';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'silent'];

export function cliLogger(level: string | undefined, io: CommandIo, usage: string): Logger {
  const l = level ?? 'info';
  if (!LEVELS.includes(l))
    throw new LightNodeError(
      'USAGE',
      `--log-level: expected ${LEVELS.join(' | ')}, received ${JSON.stringify(l)}\n\n${usage}`,
    );
  return createLogger({ level: l as LogLevel, sink: (line) => io.stderr(line) });
}

/** A chain key file: `0x` + 64 hex digits (optionally with a trailing newline). */
export function readChainKey(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (e) {
    throw new LightNodeError('CONFIG_INVALID', `key file ${path}: ${(e as Error).message}`, { path });
  }
  if (!/^0x[0-9a-fA-F]{64}$/.test(text))
    throw new LightNodeError('KEY_INVALID', `key file ${path}: expected 0x + 64 hex digits`, { path });
  return text;
}

/**
 * A signing key file in either form: the `lightnode protocol keygen` JSON `{"v":1,"address":"0x…","privateKey":"0x…"}`
 * (the address must belong to the key) or one line `0x` + 64 hex digits. Returns the private key (0x hex).
 */
export function readSigningKey(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (e) {
    throw new LightNodeError(
      'KEY_INVALID',
      `key file ${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      { path },
    );
  }
  if (!text.startsWith('{')) return readChainKey(path);
  let doc: { v?: unknown; address?: unknown; privateKey?: unknown };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch (e) {
    throw new LightNodeError('KEY_INVALID', `key file ${path}: not JSON (${(e as Error).message})`, { path });
  }
  const key = doc.privateKey;
  if (doc.v !== 1 || typeof key !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(key) || typeof doc.address !== 'string')
    throw new LightNodeError('KEY_INVALID', `key file ${path}: expected {"v":1,"address":"0x…","privateKey":"0x…"}`, {
      path,
    });
  const address = addressFromPrivateKey(key);
  if (address !== doc.address.toLowerCase())
    throw new LightNodeError(
      'KEY_INVALID',
      `key file ${path}: address ${doc.address} does not belong to the key (it is ${address})`,
      { path },
    );
  return key;
}

export function readAddressBook(path: string): AddressBook {
  let x: Partial<AddressBook>;
  try {
    x = JSON.parse(readFileSync(path, 'utf8')) as Partial<AddressBook>;
  } catch (e) {
    throw new LightNodeError('CONFIG_INVALID', `address book ${path}: ${(e as Error).message}`, { path });
  }
  for (const k of ['chainId', 'rpcUrl', 'keyRegister', 'chainProof'] as const)
    if (x[k] === undefined)
      throw new LightNodeError('CONFIG_INVALID', `address book ${path}: ${k} is missing`, { path, field: k });
  return x as AddressBook;
}
