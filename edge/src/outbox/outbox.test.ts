import test from 'ava';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeBatchWire, parseAgentConfig, verifyBatch, verifyGap, type SignedGap } from '@lightnode/protocols';
import { FakeClock, testDomain, testSigner } from '@lightnode/protocols/testing';
import { Outbox, verifyOutboxFile, type CycleReading } from './index.js';

const dom = testDomain();
const signer = testSigner();
let n = 0;
const dirs: string[] = [];
test.after.always(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function setup(quotaBytes = 10_000_000) {
  const dir = mkdtempSync(join(tmpdir(), `ln-outbox-${n++}-`));
  dirs.push(dir);
  const clock = new FakeClock(Date.UTC(2024, 0, 10, 9));
  const open = () =>
    Outbox.open({
      path: join(dir, 'outbox.db'),
      seqFile: join(dir, 'seq.hwm'),
      signer,
      domain: dom,
      podId: 'IT002E61899978',
      clock,
      quotaBytes,
      seqBlock: 50,
    });
  return { dir, clock, open };
}

let energy = 1_000_000;
const reading = (tsMs: number): CycleReading => {
  energy += 3;
  return {
    tsMs,
    source: 'modbus-tcp',
    values: {
      activePowerW: { value: 1234, quality: 'good' },
      energyImportWh: { value: energy, quality: 'good' },
      frequencymHz: { quality: 'invalid' },
    },
  };
};

test('the outbox runs in WAL mode with synchronous=FULL', (t) => {
  const { open, dir } = setup();
  const o = open();
  t.is(o.db.pragma('journal_mode', { simple: true }), 'wal');
  t.is(o.db.pragma('synchronous', { simple: true }), 2); // 2 = FULL
  o.close();
  rmSync(dir, { recursive: true });
});

test('a cycle is committed as one transaction; windows seal into verifiable batches in seq order', async (t) => {
  const { open, clock, dir } = setup();
  const o = open();
  for (let i = 0; i < 25; i++) {
    o.appendCycle([reading(clock.now()), reading(clock.now())]);
    await clock.advance(100);
  }
  const sealed = o.sealDue(1000);
  t.true(sealed.length >= 2);
  for (const b of sealed) verifyBatch(b, dom);
  const pending = o.pending(100);
  t.deepEqual(
    pending.map((p) => p.firstSeq),
    [...pending.map((p) => p.firstSeq)].sort((a, b) => a - b),
  );
  const first = decodeBatchWire(pending[0]!.payload);
  t.is(first.header.firstSeq, 0);
  o.markDelivered('batch', pending[0]!.id);
  t.is(o.pending(100).length, pending.length - 1);
  const r = verifyOutboxFile(join(dir, 'outbox.db'), dom, (b) => void verifyBatch(b, dom));
  t.true(r.ok, JSON.stringify(r));
  o.close();
  rmSync(dir, { recursive: true });
});

test('seq never repeats: after a restart, and after the database is restored from an older backup', async (t) => {
  const { open, clock, dir } = setup();
  let o = open();
  for (let i = 0; i < 10; i++) o.appendCycle([reading(clock.now())]);
  o.close();
  copyFileSync(join(dir, 'outbox.db'), join(dir, 'backup.db')); // backup at seq 10
  o = open();
  t.is(o.nextSeq, 10); // a plain restart continues where it was
  for (let i = 0; i < 120; i++) o.appendCycle([reading(clock.now())]); // past the reservation blocks (50)
  const high = o.nextSeq;
  o.close();
  for (const ext of ['', '-wal', '-shm']) rmSync(join(dir, `outbox.db${ext}`), { force: true });
  copyFileSync(join(dir, 'backup.db'), join(dir, 'outbox.db'));
  o = open();
  t.true(o.nextSeq >= high, `restored outbox resumes at ${o.nextSeq}, last used ${high - 1}`);
  const gaps = o.pending(10).filter((p) => p.kind === 'gap');
  t.is(gaps.length, 1);
  const gap = JSON.parse(gaps[0]!.payload.toString()) as SignedGap;
  t.is(gap.message.reason, 'restored_backup');
  t.is(verifyGap(gap, dom).signer, signer.address);
  o.close();
  rmSync(dir, { recursive: true });
});

test('a full quota evicts whole batches oldest first into signed gaps with their energy; metering goes on', async (t) => {
  const { open, clock, dir } = setup(4_000);
  const o = open();
  for (let i = 0; i < 600; i++) {
    o.appendCycle([reading(clock.now())]);
    await clock.advance(100);
    if (i % 10 === 9) o.sealDue(1000);
  }
  const s = o.stats();
  t.true(s.bytes <= 4_000, `bytes ${s.bytes}`);
  t.true(s.evictedSamples > 0);
  t.truthy(s.fullSinceMs);
  const items = o.pending(1000);
  const gaps = items.filter((i) => i.kind === 'gap').map((i) => JSON.parse(i.payload.toString()) as SignedGap);
  t.true(gaps.length >= 1);
  t.is(gaps[0]!.message.firstSeq, 0); // oldest first
  t.is(gaps[0]!.message.reason, 'disk_quota');
  t.true(gaps[0]!.message.energyImportWh > 0);
  for (const g of gaps) verifyGap(g, dom);
  t.is(o.nextSeq, 600);
  const r = verifyOutboxFile(join(dir, 'outbox.db'), dom, (b) => void verifyBatch(b, dom));
  t.true(r.ok, JSON.stringify(r.gaps.filter((g) => !g.declared)));
  t.true(r.gaps.some((g) => g.declared && g.reason === 'disk_quota'));
  o.close();
  rmSync(dir, { recursive: true });
});

test('a corrupted database file is moved aside, reported, and a fresh outbox opened', (t) => {
  const { open, dir } = setup();
  writeFileSync(join(dir, 'outbox.db'), Buffer.alloc(8192, 0x5a));
  const o = open();
  const rec = o.stats().recovered;
  t.truthy(rec);
  t.true(existsSync(rec!.movedTo));
  t.is(readFileSync(rec!.movedTo).length, 8192);
  o.appendCycle([reading(Date.UTC(2024, 0, 10, 9))]);
  o.close();
  rmSync(dir, { recursive: true });
});

test('buffer verify reports an undeclared gap and refuses a tampered batch', async (t) => {
  const { open, clock, dir } = setup();
  const o = open();
  for (let i = 0; i < 30; i++) {
    o.appendCycle([reading(clock.now())]);
    await clock.advance(100);
  }
  o.sealDue(1000, true);
  const rows = o.db.prepare('SELECT id, first_seq FROM batches ORDER BY first_seq').all() as { id: number }[];
  o.db.prepare('DELETE FROM batches WHERE id = ?').run(rows[1]!.id);
  const wire = (o.db.prepare('SELECT wire FROM batches WHERE id = ?').get(rows[0]!.id) as { wire: Buffer }).wire;
  wire[wire.length - 3]! ^= 1;
  o.db.prepare('UPDATE batches SET wire = ? WHERE id = ?').run(wire, rows[0]!.id);
  o.close();
  const r = verifyOutboxFile(join(dir, 'outbox.db'), dom, (b) => void verifyBatch(b, dom));
  t.false(r.ok);
  t.true(r.gaps.some((g) => !g.declared));
  t.is(r.badBatches.length, 1);
  rmSync(dir, { recursive: true });
});

test('config errors name the path, the expectation and the received value', (t) => {
  const good = {
    podId: 'IT002E61899978',
    uplink: { url: 'mqtt://127.0.0.1:1883' },
    lines: [{ name: 'l', transport: { tcp: { host: 'h' } }, meters: [{ id: 'm', profile: 'eastron/sdm630' }] }],
  };
  const c = parseAgentConfig(good);
  t.is(c.uplink.keepaliveS, 240);
  t.is(c.batch.windowMs, 60_000);
  t.is(c.lines[0]!.meters[0]!.pollMs, 1000);
  t.throws(() => parseAgentConfig({ ...good, uplink: { url: 'http://x' } }), {
    message: /config\.uplink\.url: .*mqtt:\/\/.*received "http:\/\/x"/,
  });
  t.throws(() => parseAgentConfig({ ...good, batch: { windowMs: 5 } }), {
    message: /config\.batch\.windowMs: .*received 5/,
  });
  t.throws(
    () =>
      parseAgentConfig({
        ...good,
        lines: [{ ...good.lines[0], meters: [{ id: 'm', profile: 'eastron/sdm630', pollMs: 'fast' }] }],
      }),
    { message: /lines\[0\]\.meters\[0\]\.pollMs/ },
  );
  t.throws(() => parseAgentConfig({ ...good, bogus: 1 }), { message: /CONFIG_INVALID/ });
});
