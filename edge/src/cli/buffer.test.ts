import test from 'ava';
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeClock, testSigner } from '@lightnode/protocols/testing';
import { SqliteStore } from '../store/index.js';
import { contractReadings, testAck } from '../testing/queue-contract.js';
import { testStoreOptions } from '../testing/store-options.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'ln-buffer-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

/** The real CLI, as a separate process. */
function lightnode(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [join(ROOT, 'bin', 'lightnode.mjs'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('exit', (code) => resolve({ code, out, err }));
  });
}

async function makeStore(name: string): Promise<string> {
  const clock = new FakeClock(Date.UTC(2024, 0, 10, 9));
  const path = join(dir, `${name}.db`);
  const s = SqliteStore.open(
    testStoreOptions(dir, clock, {
      path,
      seqFile: join(dir, `${name}.hwm`),
      messageSeqFile: join(dir, `${name}.msg.hwm`),
    }),
  );
  const reading = contractReadings();
  for (let i = 0; i < 25; i++) {
    s.commitCycle([reading(clock.now())]);
    await clock.advance(100);
  }
  s.sealDue();
  s.markDelivered(s.pending(1)[0]!.id);
  s.enqueueMessage('ack', (seq) => testAck(seq, clock.now()));
  s.close();
  return path;
}

test('buffer stats reads the store: depth, delivered, messages, both seqs', async (t) => {
  const path = await makeStore('stats');
  const r = await lightnode(['buffer', 'stats', '--db', path, '--json']);
  t.is(r.code, 0, r.err);
  const s = JSON.parse(r.out) as Record<string, unknown>;
  t.like(s, {
    layout: 'v2',
    unsealedSamples: 5,
    undeliveredBatches: 1,
    undeliveredSamples: 15,
    deliveredBatches: 1,
    deliveredSamples: 10,
    undeliveredMessages: 1,
    nextSeq: 25,
    nextMessageSeq: 1,
    deviceId: testSigner().address,
    journalMode: 'wal',
  });
  const plain = await lightnode(['buffer', 'stats', '--db', path]);
  t.regex(plain.out, /nextMessageSeq\s+1/);
});

test('buffer verify: OK on a sound store, exit 1 naming an undeclared gap', async (t) => {
  const path = await makeStore('verify');
  let r = await lightnode(['buffer', 'verify', '--db', path]);
  t.is(r.code, 0, r.out + r.err);
  t.regex(r.out, /: OK — integrity ok, 2 batches, 5 unsealed samples, 1 messages, seq 0\.\.24/);
  const db = new Database(path);
  db.exec("DELETE FROM items WHERE kind = 'batch' AND delivered = 0");
  db.close();
  r = await lightnode(['buffer', 'verify', '--db', path, '--json']);
  t.is(r.code, 1);
  const rep = JSON.parse(r.out) as { ok: boolean; gaps: { firstSeq: number; lastSeq: number; declared: boolean }[] };
  t.deepEqual(rep.gaps, [{ firstSeq: 10, lastSeq: 19, declared: false }]);
});

test('buffer stats|verify on a wave-1 outbox read it as migrated, leaving the file alone', async (t) => {
  const path = join(dir, 'wave1.db');
  copyFileSync(join(ROOT, 'edge', 'fixtures', 'outbox-wave1.db'), path);
  const s = await lightnode(['buffer', 'stats', '--db', path, '--json']);
  t.is(s.code, 0, s.err);
  t.like(JSON.parse(s.out), { layout: 'wave1', nextSeq: 505, unsealedSamples: 5, undeliveredBatches: 21, gaps: 2 });
  const v = await lightnode(['buffer', 'verify', '--db', path]);
  t.is(v.code, 0, v.out + v.err);
  t.regex(v.out, /wave-1 layout: migrated at the next agent start/);
});

test('buffer stats|verify on a file that is not an outbox: a clear error naming it, no stack, exit 1', async (t) => {
  const junk = join(dir, 'random.bin');
  writeFileSync(junk, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)));
  const other = join(dir, 'other.db');
  const db = new Database(other);
  db.exec('CREATE TABLE invoices (id INTEGER PRIMARY KEY)');
  db.close();
  const empty = join(dir, 'empty.db');
  new Database(empty).close();
  for (const [file, why] of [
    [junk, /not an SQLite database/],
    [other, /an SQLite database of another schema/],
    [empty, /an empty SQLite database/],
  ] as const)
    for (const cmd of ['stats', 'verify']) {
      const r = await lightnode(['buffer', cmd, '--db', file]);
      t.is(r.code, 1, `${cmd} ${file}`);
      t.true(r.err.includes(`OUTBOX_CORRUPT: ${file} is not a Light Node outbox`), r.err);
      t.regex(r.err, why);
      t.notRegex(r.err, /\n\s+at /, 'no stack');
    }
  const missing = await lightnode(['buffer', 'stats', '--db', join(dir, 'nope.db')]);
  t.is(missing.code, 1);
  t.regex(missing.err, /NOT_FOUND: outbox .*nope\.db does not exist/);
});
