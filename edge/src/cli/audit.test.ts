// `lightnode audit verify` through the real bin: exit codes, JSON and human output, no stack traces.
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeClock } from '@lightnode/protocols/testing';
import { AuditLog } from '../setpoints/audit.js';

const dir = mkdtempSync(join(tmpdir(), 'ln-audit-cli-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

const BIN = fileURLToPath(new URL('../../../bin/lightnode.mjs', import.meta.url));
/** `lightnode ...args` (the real bin) to its exit: code, stdout, stderr. */
const lightnode = (args: string[]): Promise<{ code: number; out: string; err: string }> =>
  new Promise((resolve) =>
    execFile(process.execPath, [BIN, ...args], (e, out, err) =>
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, out, err }),
    ),
  );

function makeLog(name: string, count: number): { path: string; lastHash: string } {
  const path = join(dir, name);
  const log = AuditLog.open(path, { clock: new FakeClock() });
  for (let k = 0; k < count; k++) log.append('setpoint.check', { check: `c${k}` });
  const lastHash = log.lastHash;
  log.close();
  return { path, lastHash };
}

test('a sound log: exit 0, {entries, lastHash} with --json, one human line without', async (t) => {
  const { path, lastHash } = makeLog('ok.jsonl', 4);
  const [json, human] = await Promise.all([
    lightnode(['audit', 'verify', path, '--json']),
    lightnode(['audit', 'verify', path]),
  ]);
  t.is(json.code, 0, json.err);
  t.like(JSON.parse(json.out) as object, { ok: true, entries: 4, lastHash });
  t.is(human.code, 0, human.err);
  t.is(human.out.trim(), `${path}: OK — 4 entries, last hash ${lastHash}`);
});

test('a broken chain: exit 1, AUDIT_CHAIN_BROKEN naming the index, no stack', async (t) => {
  const { path } = makeLog('bad.jsonl', 5);
  const ls = readFileSync(path, 'utf8').split('\n');
  [ls[1], ls[2]] = [ls[2]!, ls[1]!];
  writeFileSync(path, ls.join('\n'));
  const [json, human] = await Promise.all([
    lightnode(['audit', 'verify', path, '--json']),
    lightnode(['audit', 'verify', path]),
  ]);
  t.is(json.code, 1);
  t.like(JSON.parse(json.out) as object, { ok: false, code: 'AUDIT_CHAIN_BROKEN', index: 1 });
  t.is(human.code, 1);
  t.is(human.out, '');
  t.regex(human.err, /^lightnode audit verify: AUDIT_CHAIN_BROKEN: .*entry 1 \(line 2\): i: expected 1, received 2/);
  t.notRegex(human.err + json.err, /\n\s+at /);
});

test('a missing file: exit 1 with NOT_FOUND naming it; no FILE: usage error (exit 2)', async (t) => {
  const missing = join(dir, 'absent.jsonl');
  const [gone, usage] = await Promise.all([lightnode(['audit', 'verify', missing]), lightnode(['audit', 'verify'])]);
  t.is(gone.code, 1);
  t.is(gone.err.trim(), `lightnode audit verify: NOT_FOUND: ${missing}: no such audit file`);
  t.is(usage.code, 2);
  t.regex(usage.err, /expected exactly one FILE/);
});
