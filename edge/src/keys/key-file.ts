/**
 * The device key file: one JSON document `{"v":1,"address":"0x…","privateKey":"0x…"}`, mode 0600, owned by the
 * agent's user. Reading refuses a file that is group- or world-accessible (like ssh does), a malformed file, or an
 * address that does not match the key. The key never leaves the device: only the address is ever printed.
 */
import { chmodSync, closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  parseSigningKey,
  LightNodeError,
  addressFromPrivateKey,
  generatePrivateKey,
  privateKeySigner,
  type Signer,
} from '@lightnode/protocols';

export interface KeyFile {
  v: 1;
  address: string;
  privateKey: string;
}

/** Generates a key and writes it atomically with mode 0600; refuses to overwrite an existing file unless `force`. */
export function writeNewKeyFile(
  path: string,
  opts: { force?: boolean; privateKey?: string } = {},
): { address: string } {
  const privateKey = opts.privateKey ?? generatePrivateKey();
  const address = addressFromPrivateKey(privateKey);
  const doc: KeyFile = { v: 1, address, privateKey };
  const tmp = join(dirname(path), `.${Date.now()}.${process.pid}.key.tmp`);
  let fd: number;
  try {
    fd = openSync(tmp, 'wx', 0o600);
  } catch (e) {
    throw new LightNodeError(
      'IO_ERROR',
      `key file ${path}: cannot create (${(e as Error).message})`,
      { path },
      { cause: e },
    );
  }
  try {
    writeSync(fd, JSON.stringify(doc) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, 0o600);
  let exists = false;
  try {
    statSync(path);
    exists = true;
  } catch {
    /* absent: fine */
  }
  if (exists && !opts.force)
    throw new LightNodeError(
      'IO_ERROR',
      `key file ${path} already exists (refusing to overwrite a device identity; pass --force)`,
      { path },
    );
  renameSync(tmp, path);
  return { address };
}

/** Reads and checks a key file: permissions (no group/other bits), JSON shape, key validity, address match. */
export function readKeyFile(path: string): KeyFile {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new LightNodeError(
      'KEY_INVALID',
      `key file ${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      { path },
      { cause: e },
    );
  }
  if ((st.mode & 0o077) !== 0)
    throw new LightNodeError(
      'KEY_PERMISSIONS',
      `key file ${path}: mode ${(st.mode & 0o777).toString(8)} lets group/others read it; expected 600 (chmod 600 ${path})`,
      {
        path,
        mode: (st.mode & 0o777).toString(8),
      },
    );
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new LightNodeError(
      'KEY_INVALID',
      `key file ${path}: not JSON (${(e as Error).message})`,
      { path },
      { cause: e },
    );
  }
  const d = doc as Partial<KeyFile>;
  if (
    typeof d !== 'object' ||
    d === null ||
    d.v !== 1 ||
    typeof d.privateKey !== 'string' ||
    typeof d.address !== 'string'
  )
    throw new LightNodeError('KEY_INVALID', `key file ${path}: expected {"v":1,"address":"0x…","privateKey":"0x…"}`, {
      path,
    });
  const address = addressFromPrivateKey(d.privateKey);
  if (address !== d.address.toLowerCase())
    throw new LightNodeError(
      'KEY_INVALID',
      `key file ${path}: address ${d.address} does not belong to the key (it is ${address})`,
      { path },
    );
  return { v: 1, address, privateKey: d.privateKey };
}

/** A `Signer` from a key file (checked as `readKeyFile` does). */
export function signerFromKeyFile(path: string): Signer {
  return privateKeySigner(readKeyFile(path).privateKey);
}

/** An issuer's signing key (operator tools): the keygen JSON or one line 0x + 64 hex (`parseSigningKey`). */
export function signerFromSigningKeyFile(path: string): Signer {
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
  return privateKeySigner(parseSigningKey(text, path));
}
