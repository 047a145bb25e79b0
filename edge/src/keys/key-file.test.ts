import test from 'ava';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLightNodeError } from '@lightnode/protocols';
import { readKeyFile, signerFromKeyFile, writeNewKeyFile } from './key-file.js';

const dir = mkdtempSync(join(tmpdir(), 'ln-keys-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

test('a new key file is 0600 and reads back to the same address', (t) => {
  const p = join(dir, 'a.key');
  const { address } = writeNewKeyFile(p);
  t.is(statSync(p).mode & 0o777, 0o600);
  t.is(readKeyFile(p).address, address);
  t.is(signerFromKeyFile(p).address, address);
  t.throws(() => writeNewKeyFile(p), { message: /already exists/ });
});

test('a group/world-readable key file is refused, naming the mode', (t) => {
  const p = join(dir, 'b.key');
  writeNewKeyFile(p);
  chmodSync(p, 0o644);
  const e = t.throws(() => readKeyFile(p));
  t.true(isLightNodeError(e, 'KEY_PERMISSIONS'));
  t.regex(e.message, /mode 644/);
});

test('unreadable, malformed or mismatched key files are refused with the reason', (t) => {
  t.throws(() => readKeyFile(join(dir, 'missing.key')), { message: /KEY_INVALID: .*ENOENT/ });
  const p = join(dir, 'c.key');
  writeFileSync(p, 'not json', { mode: 0o600 });
  t.throws(() => readKeyFile(p), { message: /not JSON/ });
  const q = join(dir, 'd.key');
  writeNewKeyFile(q);
  const doc = JSON.parse(readFileSync(q, 'utf8')) as { address: string };
  writeFileSync(q, JSON.stringify({ ...doc, address: '0x' + '00'.repeat(20) }), { mode: 0o600 });
  t.throws(() => readKeyFile(q), { message: /does not belong to the key/ });
});
