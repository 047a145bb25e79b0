import test, { type ExecutionContext } from 'ava';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLightNodeError, keccak256, toHex, type LightNodeError } from '@lightnode/protocols';
import { FakeClock, memoryLogger } from '@lightnode/protocols/testing';
import { AUDIT_GENESIS, AuditLog, auditEntryHash, canonicalJson, verifyAuditFile } from './audit.js';

const dir = mkdtempSync(join(tmpdir(), 'ln-audit-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(dir, `audit-${n++}.jsonl`);

/** A log of `count` entries, one per simulated second. */
async function makeLog(count: number, path = fresh()): Promise<string> {
  const clock = new FakeClock(Date.UTC(2026, 11, 1, 10));
  const log = AuditLog.open(path, { clock });
  for (let k = 0; k < count; k++) {
    log.append('setpoint.check', { check: `c${k}`, setpointId: `0x${'ab'.repeat(32)}`, ok: k % 2 === 0 });
    await clock.advance(1000);
  }
  log.close();
  return path;
}

const lines = (path: string): string[] => readFileSync(path, 'utf8').split('\n').slice(0, -1);
const write = (path: string, ls: string[]): void => writeFileSync(path, ls.map((l) => `${l}\n`).join(''));

function brokenAt(t: ExecutionContext, path: string, index: number, reason: RegExp): void {
  const e = t.throws<LightNodeError>(() => verifyAuditFile(path));
  t.true(isLightNodeError(e, 'AUDIT_CHAIN_BROKEN'), String(e));
  t.is(e.context.index, index, e.message);
  t.regex(e.message, new RegExp(`entry ${index} `));
  t.regex(String(e.context.reason), reason);
}

test('entries chain from genesis; hash = keccak256 of the canonical JSON without hash; verify agrees', async (t) => {
  const path = await makeLog(5);
  const ls = lines(path).map((l) => JSON.parse(l) as Record<string, unknown>);
  t.is(ls.length, 5);
  t.is(ls[0]!.prev, AUDIT_GENESIS);
  t.deepEqual(Object.keys(ls[0]!), ['i', 'atMs', 'event', 'check', 'setpointId', 'ok', 'prev', 'hash']);
  for (const [k, e] of ls.entries()) {
    t.is(e.i, k);
    t.is(e.atMs, Date.UTC(2026, 11, 1, 10) + k * 1000);
    if (k > 0) t.is(e.prev, ls[k - 1]!.hash);
    const { hash, ...rest } = e;
    t.is(hash, toHex(keccak256(Buffer.from(canonicalJson(rest), 'utf8'))));
  }
  t.deepEqual(verifyAuditFile(path), { entries: 5, lastHash: ls[4]!.hash as string });
});

test('canonical JSON sorts keys at every level and keeps JSON scalars', (t) => {
  t.is(
    canonicalJson({ b: 1, a: [{ z: true, y: null }, 'x'], c: { e: 1.5, d: 'é' } }),
    '{"a":[{"y":null,"z":true},"x"],"b":1,"c":{"d":"é","e":1.5}}',
  );
  t.is(auditEntryHash({ a: 1, hash: 'ignored' }), auditEntryHash({ a: 1 }));
});

test('values are written as hashed: bigint as decimal string, undefined dropped, nested objects kept', (t) => {
  const path = fresh();
  const log = AuditLog.open(path, { clock: new FakeClock() });
  log.append('ack.queued', { nonce: 12345678901234567890n, reason: undefined, ack: { state: 'applied', w: -1500 } });
  log.close();
  const e = JSON.parse(lines(path)[0]!) as Record<string, unknown>;
  t.is(e.nonce, '12345678901234567890');
  t.false('reason' in e);
  t.deepEqual(e.ack, { state: 'applied', w: -1500 });
  t.is(verifyAuditFile(path).entries, 1);
});

test('append returns {i, hash}; reopening continues the chain (i and prev)', async (t) => {
  const path = await makeLog(3);
  const before = verifyAuditFile(path);
  const log = AuditLog.open(path, { clock: new FakeClock() });
  t.is(log.nextIndex, 3);
  t.is(log.lastHash, before.lastHash);
  const r = log.append('agent.start', {});
  log.close();
  t.is(r.i, 3);
  const last = JSON.parse(lines(path)[3]!) as Record<string, unknown>;
  t.is(last.prev, before.lastHash);
  t.is(last.hash, r.hash);
  t.deepEqual(verifyAuditFile(path), { entries: 4, lastHash: r.hash });
});

test('an empty or new file verifies as 0 entries with the genesis hash', (t) => {
  const path = fresh();
  AuditLog.open(path, { clock: new FakeClock() }).close();
  t.is(statSync(path).size, 0);
  t.deepEqual(verifyAuditFile(path), { entries: 0, lastHash: AUDIT_GENESIS });
});

test('a modified entry is named by its index', async (t) => {
  const path = await makeLog(6);
  const ls = lines(path);
  ls[3] = ls[3]!.replace('"check":"c3"', '"check":"cX"');
  write(path, ls);
  brokenAt(t, path, 3, /modified/);
});

test('a modified entry whose hash was recomputed breaks the next link', async (t) => {
  const path = await makeLog(6);
  const ls = lines(path);
  const e = JSON.parse(ls[2]!) as Record<string, unknown>;
  e.check = 'forged';
  e.hash = auditEntryHash(e);
  ls[2] = JSON.stringify(e);
  write(path, ls);
  brokenAt(t, path, 3, /does not link to entry 2/);
});

test('an inserted entry is named by its index', async (t) => {
  const path = await makeLog(6);
  const ls = lines(path);
  const prev = (JSON.parse(ls[1]!) as { hash: string }).hash;
  const forged: Record<string, unknown> = { i: 2, atMs: 1, event: 'setpoint.command', w: 9000, prev };
  forged.hash = auditEntryHash(forged);
  ls.splice(2, 0, JSON.stringify(forged));
  write(path, ls);
  // the forged entry itself links; the original entry 2, now at line 4, does not carry i = 3
  brokenAt(t, path, 3, /i: expected 3, received 2/);
});

test('a removed entry is named by its index', async (t) => {
  const path = await makeLog(6);
  const ls = lines(path);
  ls.splice(2, 1);
  write(path, ls);
  brokenAt(t, path, 2, /i: expected 2, received 3/);
});

test('reordered entries are named by the first index out of place', async (t) => {
  const path = await makeLog(6);
  const ls = lines(path);
  [ls[3], ls[4]] = [ls[4]!, ls[3]!];
  write(path, ls);
  brokenAt(t, path, 3, /i: expected 3, received 4/);
});

test('a line that is not JSON, or not an entry, is named by its index', async (t) => {
  const path = await makeLog(3);
  const ls = lines(path);
  write(path, [...ls.slice(0, 1), '{not json', ...ls.slice(2)]);
  brokenAt(t, path, 1, /not JSON/);
  write(path, [...ls.slice(0, 2), '[1,2]']);
  brokenAt(t, path, 2, /not a JSON object/);
});

test('a missing file is NOT_FOUND naming the path', (t) => {
  const e = t.throws<LightNodeError>(() => verifyAuditFile(join(dir, 'nope.jsonl')));
  t.is(e.code, 'NOT_FOUND');
  t.regex(e.message, /nope\.jsonl/);
});

test('a torn last line is reported by verify, truncated, logged and recorded by open', async (t) => {
  const path = await makeLog(4);
  const sound = verifyAuditFile(path);
  appendFileSync(path, '{"i":4,"atMs":17,"event":"setpoint.ac');
  t.deepEqual(verifyAuditFile(path), { ...sound, tornTailBytes: 37 });
  const logger = memoryLogger();
  const log = AuditLog.open(path, { clock: new FakeClock(), logger });
  t.true(logger.lines.some((l) => l.level === 'warn' && l.bytes === 37 && /torn/.test(String(l.msg))));
  log.append('agent.start', {});
  log.close();
  const ls = lines(path).map((l) => JSON.parse(l) as Record<string, unknown>);
  t.is(ls.length, 6);
  t.like(ls[4], { i: 4, event: 'audit.torn_tail', truncatedBytes: 37, prev: sound.lastHash });
  t.like(ls[5], { i: 5, event: 'agent.start' });
  t.is(verifyAuditFile(path).entries, 6);
});

test('a torn first line (zeros from a cut write) leaves an empty chain that restarts at genesis', (t) => {
  const path = fresh();
  writeFileSync(path, Buffer.alloc(10));
  const log = AuditLog.open(path, { clock: new FakeClock() });
  t.is(log.nextIndex, 1); // the torn-tail entry took i = 0
  log.close();
  const e = JSON.parse(lines(path)[0]!) as Record<string, unknown>;
  t.like(e, { i: 0, event: 'audit.torn_tail', truncatedBytes: 10, prev: AUDIT_GENESIS });
  t.is(verifyAuditFile(path).entries, 1);
});

test('open refuses to extend a chain whose last whole line does not check', async (t) => {
  const path = await makeLog(3);
  const ls = lines(path);
  ls[2] = ls[2]!.replace('"check":"c2"', '"check":"zz"');
  write(path, ls);
  const e = t.throws<LightNodeError>(() => AuditLog.open(path, { clock: new FakeClock() }));
  t.is(e.code, 'AUDIT_CHAIN_BROKEN');
  t.is(e.context.index, 2);
  write(path, [...ls.slice(0, 2), 'garbage']);
  t.is(t.throws<LightNodeError>(() => AuditLog.open(path, { clock: new FakeClock() })).code, 'AUDIT_CHAIN_BROKEN');
});

test('reserved member names and an empty event are refused; append after close is refused', (t) => {
  const log = AuditLog.open(fresh(), { clock: new FakeClock() });
  for (const k of ['i', 'atMs', 'event', 'prev', 'hash']) {
    const e = t.throws<LightNodeError>(() => log.append('x', { [k]: 1 }));
    t.is(e.code, 'INPUT_INVALID');
    t.is(e.context.field, `fields.${k}`);
  }
  t.is(t.throws<LightNodeError>(() => log.append('', {})).code, 'INPUT_INVALID');
  t.is(log.nextIndex, 0);
  log.close();
  t.is(t.throws<LightNodeError>(() => log.append('x', {})).code, 'INTERNAL');
});

test('verify reads a file larger than its read chunk (lines spanning chunk boundaries)', (t) => {
  const path = fresh();
  const log = AuditLog.open(path, { clock: new FakeClock() });
  let last = '';
  for (let k = 0; k < 400; k++) last = log.append('qos.report', { pad: 'x'.repeat(300 + (k % 17)) }).hash;
  log.close();
  t.true(statSync(path).size > 2 * 64 * 1024);
  t.deepEqual(verifyAuditFile(path), { entries: 400, lastHash: last });
});

test('group commit: unsynced entries are written at once and chained; a synced append, sync() or close() makes them durable', (t) => {
  const path = fresh();
  const clock = new FakeClock(Date.UTC(2026, 11, 1, 10));
  const log = AuditLog.open(path, { clock });
  log.append('setpoint.message', { n: 1 }, { sync: false });
  log.append('setpoint.check', { n: 2 }, { sync: false });
  t.is(lines(path).length, 2, 'written (page cache) before any fsync');
  log.append('setpoint.ack', { n: 3 }); // synced: the two before it with it
  log.append('setpoint.command', { n: 4 }, { sync: false });
  log.sync();
  log.sync(); // nothing unsynced: a no-op
  log.append('setpoint.command', { n: 5 }, { sync: false });
  log.close();
  t.deepEqual(verifyAuditFile(path).entries, 5);
  t.deepEqual(
    lines(path).map((l) => (JSON.parse(l) as { i: number }).i),
    [0, 1, 2, 3, 4],
  );
});
