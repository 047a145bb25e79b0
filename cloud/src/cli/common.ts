/** Shared bits of the cloud commands: loggers, key files, address books. */
import { readFileSync } from 'node:fs';
import {
  LightNodeError,
  parseSigningKey,
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

/** A signing key file in either form (`parseSigningKey`): the keygen JSON or one line 0x + 64 hex. */
export function readSigningKey(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new LightNodeError(
      'KEY_INVALID',
      `key file ${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      { path },
    );
  }
  return parseSigningKey(text, path);
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
