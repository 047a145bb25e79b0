import test from 'ava';
import Database from 'better-sqlite3';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLightNodeError, topicCodecs, verifyGap } from '@lightnode/protocols';
import { FakeClock, testDomain, testSigner } from '@lightnode/protocols/testing';
import { contractReadings, testAck } from '../testing/queue-contract.js';
import { sqliteFull } from '../testing/sqlite-full.js';
import { testStoreOptions } from '../testing/store-options.js';
import { SqliteStore } from './sqlite-store.js';
import { domainChecks, verifyStoreFile } from './verify.js';

const dom = testDomain();
const dirs: string[] = [];
test.after.always(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'ln-store-'));
  dirs.push(dir);
  const clock = new FakeClock(Date.UTC(2024, 0, 10, 9));
  const path = join(dir, 'outbox.db');
  const open = () => SqliteStore.open(testStoreOptions(dir, clock, { path, domain: dom, seqBlock: 50 }));
  return { dir, path, clock, open, reading: contractReadings() };
}

test('the store runs in WAL mode with synchronous=FULL', (t) => {
  const { open } = setup();
  const s = open();
  t.is(s.db.pragma('journal_mode', { simple: true }), 'wal');
  t.is(s.db.pragma('synchronous', { simple: true }), 2); // 2 = FULL
  s.close();
});

test('no seq repeats after the database is restored from an older backup: a signed restored_backup gap', (t) => {
  const { open, clock, dir, path, reading } = setup();
  let s = open();
  for (let i = 0; i < 10; i++) s.commitCycle([reading(clock.now())]);
  s.enqueueMessage('ack', (seq) => testAck(seq, 0));
  s.close();
  copyFileSync(path, join(dir, 'backup.db')); // backup at seq 10, message seq 1
  s = open();
  for (let i = 0; i < 120; i++) s.commitCycle([reading(clock.now())]); // past the reservation blocks (50)
  for (let i = 0; i < 60; i++) s.enqueueMessage('ack', (seq) => testAck(seq, 0));
  const high = s.nextSeq;
  const highMsg = s.nextMessageSeq();
  s.close();
  for (const ext of ['', '-wal', '-shm']) rmSync(path + ext, { force: true });
  copyFileSync(join(dir, 'backup.db'), path);
  s = open();
  t.true(s.nextSeq >= high, `restored store resumes at ${s.nextSeq}, last used ${high - 1}`);
  t.true(s.nextMessageSeq() >= highMsg, `message seq resumes at ${s.nextMessageSeq()}, last used ${highMsg - 1}`);
  const gaps = s.pending(100).filter((p) => p.kind === 'gap');
  t.is(gaps.length, 1);
  const gap = topicCodecs.gap.decode(gaps[0]!.payload);
  t.deepEqual([gap.message.firstSeq, gap.message.reason], [10, 'restored_backup']);
  t.is(gap.message.lastSeq, s.nextSeq - 1);
  t.is(verifyGap(gap, dom).signer, testSigner().address);
  s.close();
  t.true(verifyStoreFile(path, domainChecks(dom)).ok);
});

test('a corrupted database file is moved aside, reported, and a fresh store opened', (t) => {
  const { open, path, reading } = setup();
  writeFileSync(path, Buffer.alloc(8192, 0x5a));
  const s = open();
  const rec = s.stats().recovered;
  t.truthy(rec);
  t.true(existsSync(rec!.movedTo));
  t.is(readFileSync(rec!.movedTo).length, 8192);
  s.commitCycle([reading(Date.UTC(2024, 0, 10, 9))]);
  s.close();
});

test('an SQLite database of another schema is refused, named and left untouched', (t) => {
  const { open, path } = setup();
  const other = new Database(path);
  other.exec('CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices VALUES (1, 9.5)');
  other.close();
  const before = readFileSync(path);
  const e = t.throws(() => open());
  t.true(isLightNodeError(e, 'OUTBOX_CORRUPT'));
  t.regex(e.message, new RegExp(`${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not a Light Node outbox`));
  t.deepEqual(readFileSync(path), before);
});

test('verify reports an undeclared gap, a tampered batch and a tampered gap', async (t) => {
  const { open, clock, path, reading } = setup();
  const s = open();
  for (let i = 0; i < 30; i++) {
    s.commitCycle([reading(clock.now())]);
    await clock.advance(100);
  }
  s.sealDue(true);
  s.declareLost(s.allocate([reading(clock.now())]), 'store_write_failed');
  const ids = s.db.prepare("SELECT id FROM items WHERE kind = 'batch' ORDER BY first_seq").pluck().all() as number[];
  s.db.prepare('DELETE FROM items WHERE id = ?').run(ids[1]);
  const wire = s.db.prepare('SELECT payload FROM items WHERE id = ?').pluck().get(ids[0]) as Buffer;
  wire[wire.length - 3]! ^= 1;
  s.db.prepare('UPDATE items SET payload = ? WHERE id = ?').run(wire, ids[0]);
  s.db.exec(
    "UPDATE items SET payload = CAST(REPLACE(CAST(payload AS TEXT), '\"lastSeq\":30', '\"lastSeq\":31') AS BLOB) WHERE kind = 'gap'",
  );
  s.close();
  const r = verifyStoreFile(path, domainChecks(dom));
  t.false(r.ok);
  t.deepEqual(
    r.gaps.filter((g) => !g.declared).map((g) => [g.firstSeq, g.lastSeq]),
    [[10, 19]],
  );
  t.is(r.badBatches.length, 2, JSON.stringify(r.badBatches));
  t.true(r.gaps.some((g) => g.declared && g.reason === 'store_write_failed'));
});

test('a cycle that failed for a full disk after its seqs were reserved is no restored backup at the next open', (t) => {
  const { open, clock, reading } = setup();
  let s = open();
  for (let i = 0; i < 10; i++) s.commitCycle([reading(clock.now())]);
  sqliteFull(s.db, true);
  const e = t.throws(() => s.commitCycle(Array.from({ length: 100 }, () => reading(clock.now()))));
  t.true(isLightNodeError(e, 'OUTBOX_WRITE_FAILED'));
  t.is((e.cause as { code: string }).code, 'SQLITE_FULL');
  s.close(); // as a kill would leave it: the reservation (seq.hwm) covers seqs the database never got
  s = open();
  t.is(s.nextSeq, 10);
  t.deepEqual(s.pending(10), []);
  s.close();
});
