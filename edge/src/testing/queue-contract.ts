/**
 * The store contract suite, run against `SqliteStore` and `FakeQueue` alike:
 * `queueContract(test, {name, make})`. It checks order (batches and gaps in seq order, consecutive seqs from 0),
 * acks first, at least once (pending until `markDelivered`, across a reopen), the message seq (apart from the sample
 * seq; after a reopen and after kill -9 it only increases), quota eviction into signed gaps, and write failures
 * (rolled back, nothing lost, declarations held and landing with the next successful write).
 */
import type { ExecutionContext, TestFn } from 'ava';
import {
  isLightNodeError,
  signAck,
  signQosReport,
  topicCodecs,
  verifyBatch,
  verifyGap,
  type Eip712Domain,
  type SignedAck,
} from '@lightnode/protocols';
import { FakeClock, testDomain, testSigner } from '@lightnode/protocols/testing';
import type { CycleReading, QueueItem, Store } from '../store/types.js';

export interface QueueUnderTest {
  /** Opens the store on this instance's durable state (the first call creates it); call `close()` before another. */
  open(): Store;
  /**
   * In another process, opens the store, alternately commits a one-reading cycle and enqueues an ack (`testAck`),
   * and is killed with SIGKILL once at least `atLeast` acks were committed. Resolves with the highest message seq and
   * sample seq it reported committed. (A fake may do this in process and drop the store unclosed.)
   */
  killWhileWriting(atLeast: number): Promise<{ messageSeq: number; sampleSeq: number }>;
  /** Makes every store write fail as on a full disk (true), or succeed again (false). */
  setFull(store: Store, full: boolean): void;
  dispose(): void;
}

export interface QueueContractOptions {
  name: string;
  /** A fresh store under test: signer `testSigner()`, domain `testDomain()`, pod IT002E61899978, this clock. */
  make(o: { clock: FakeClock; quotaBytes: number; windowMs: number }): QueueUnderTest;
}

export const CONTRACT_START_MS = Date.UTC(2024, 0, 10, 9);

/** A source of readings whose import energy grows by 3 Wh per reading. */
export function contractReadings(): (tsMs: number) => CycleReading {
  let energyWh = 1_000_000;
  return (tsMs) => {
    energyWh += 3;
    return {
      tsMs,
      source: 'modbus-tcp',
      values: {
        activePowerW: { value: 1234, quality: 'good' },
        energyImportWh: { value: energyWh, quality: 'good' },
        frequencymHz: { quality: 'invalid' },
      },
    };
  };
}

/** The ack the contract (and its kill -9 writer) enqueues. */
export function testAck(seq: number, atMs: number, domain: Eip712Domain = testDomain()): SignedAck {
  const signer = testSigner();
  return signAck(
    {
      version: 1,
      setpointId: `0x${'ab'.repeat(32)}`,
      deviceId: signer.address,
      state: 'received',
      reason: '',
      appliedPowerW: 0,
      atMs,
      seq,
    },
    signer,
    domain,
  );
}

async function cycles(s: Store, clock: FakeClock, n: number, everyMs = 100, sealEvery = 0): Promise<void> {
  const reading = contractReadings();
  for (let i = 0; i < n; i++) {
    s.commitCycle([reading(clock.now())]);
    await clock.advance(everyMs);
    if (sealEvery && i % sealEvery === sealEvery - 1) s.sealDue();
  }
}

const kinds = (items: readonly QueueItem[]): string[] => items.map((i) => i.kind);

export function queueContract(test: TestFn, o: QueueContractOptions): void {
  const dom = testDomain();
  /** A test on a fresh store under test (1 s windows), disposed of whatever happens. */
  const t = (
    title: string,
    fn: (a: ExecutionContext, q: QueueUnderTest, clock: FakeClock) => Promise<void>,
    quotaBytes = 10_000_000,
  ): void =>
    test(`${o.name}: ${title}`, async (a) => {
      const clock = new FakeClock(CONTRACT_START_MS);
      const q = o.make({ clock, quotaBytes, windowMs: 1000 });
      try {
        await fn(a, q, clock);
      } finally {
        q.dispose();
      }
    });

  t(
    'order: closed windows seal into signed batches of consecutive seqs from 0, shipped in seq order',
    async (a, q, clock) => {
      const s = q.open();
      await cycles(s, clock, 25);
      a.is(s.sealDue().length, 2, 'two windows ended, the third is open');
      a.is(s.stats().unsealedSamples, 5);
      const items = s.pending(100);
      a.deepEqual(kinds(items), ['batch', 'batch']);
      let next = 0;
      for (const it of items) {
        const b = topicCodecs.batch.decode(it.payload);
        verifyBatch(b, dom);
        a.is(b.header.firstSeq, next);
        a.is(it.firstSeq, b.header.firstSeq);
        a.is(it.lastSeq, b.header.lastSeq);
        next = b.header.lastSeq + 1;
      }
      a.is(s.sealDue(true).length, 1, 'forced: the open window too');
      a.is(s.stats().unsealedSamples, 0);
      a.is(s.nextSeq, 25);
      s.close();
    },
  );

  t('acks first: messages before the backlog in message seq order; limit and exclude', async (a, q, clock) => {
    const s = q.open();
    await cycles(s, clock, 30);
    s.sealDue();
    const ack = s.enqueueMessage('ack', (seq) => testAck(seq, clock.now()));
    const rep = s.enqueueMessage('report', (seq) => ({ kind: 'config_ack', seq, revision: 3 }));
    a.is(ack.firstSeq, 0, 'the message seq starts at 0, apart from the sample seq');
    a.is(rep.firstSeq, 1);
    const all = s.pending(100);
    a.deepEqual(kinds(all), ['ack', 'report', 'batch', 'batch', 'batch']);
    a.is(topicCodecs.ack.decode(all[0]!.payload).message.seq, 0);
    a.deepEqual(kinds(s.pending(1)), ['ack']);
    a.deepEqual(kinds(s.pending(2, new Set([ack.id]))), ['report', 'batch']);
    a.deepEqual(
      s.pending(100, new Set([ack.id, rep.id])).map((i) => i.firstSeq),
      [0, 10, 20],
    );
    s.close();
  });

  t('at least once: pending until markDelivered, also after a reopen', async (a, q, clock) => {
    let s = q.open();
    await cycles(s, clock, 20);
    s.sealDue(true);
    s.enqueueMessage('ack', (seq) => testAck(seq, clock.now()));
    const before = s.pending(100);
    a.is(before.length, 3);
    a.deepEqual(s.pending(100), before, 'reading pending changes nothing');
    s.close();
    s = q.open();
    a.deepEqual(
      s.pending(100).map((i) => [i.id, i.kind, i.firstSeq]),
      before.map((i) => [i.id, i.kind, i.firstSeq]),
    );
    s.markDelivered(before[0]!.id);
    s.markDelivered(before[1]!.id);
    s.markDelivered(before[1]!.id); // a duplicate PUBACK is harmless
    s.close();
    s = q.open();
    a.deepEqual(
      s.pending(100).map((i) => i.id),
      [before[2]!.id],
    );
    a.is(s.stats().deliveredBatches, 1);
    s.close();
  });

  t(
    'message seq: persisted with its item, continues after a reopen, apart from the sample seq',
    async (a, q, clock) => {
      let s = q.open();
      for (let i = 0; i < 3; i++) s.enqueueMessage('ack', (seq) => testAck(seq, clock.now()));
      await cycles(s, clock, 4);
      a.is(s.nextMessageSeq(), 3);
      a.is(s.nextSeq, 4);
      a.throws(
        () =>
          s.enqueueMessage('ack', () => {
            throw new Error('build failed');
          }),
        { message: 'build failed' },
      );
      a.is(s.nextMessageSeq(), 3, 'a failed build uses no seq');
      s.close();
      s = q.open();
      a.is(s.nextMessageSeq(), 3);
      const qos = s.enqueueMessage('qos', (seq) =>
        signQosReport(
          {
            version: 1,
            setpointId: `0x${'ab'.repeat(32)}`,
            deviceId: testSigner().address,
            podId: 'IT002E61899978',
            slotIndex: 40,
            requestedPowerW: -1000,
            requestedEnergyWh: -250,
            baselineEnergyWh: 0,
            deliveredEnergyWh: -240,
            atMs: clock.now(),
            seq,
          },
          testSigner(),
          dom,
        ),
      );
      a.is(topicCodecs.qos.decode(qos.payload).message.seq, 3);
      a.is(s.nextSeq, 4);
      s.close();
    },
  );

  t('kill -9 while writing: the message seq and the sample seq only increase', async (a, q) => {
    const last = await q.killWhileWriting(5);
    a.true(last.messageSeq >= 4);
    const s = q.open();
    a.true(s.nextMessageSeq() > last.messageSeq, `${s.nextMessageSeq()} after ${last.messageSeq}`);
    a.true(s.nextSeq > last.sampleSeq, `${s.nextSeq} after ${last.sampleSeq}`);
    const seqs = s
      .pending(10_000)
      .filter((i) => i.kind === 'ack')
      .map((i) => i.firstSeq);
    a.deepEqual(seqs, [...seqs.keys()], 'every committed ack is there, seqs 0..n−1');
    const item = s.enqueueMessage('ack', (seq) => testAck(seq, 0));
    a.is(item.firstSeq, seqs.length > 0 ? Math.max(...seqs) + 1 : 0);
    s.close();
  });

  t(
    'quota: oldest batches evicted whole into signed gaps with energy; messages kept; metering goes on',
    async (a, q, clock) => {
      const s = q.open();
      s.enqueueMessage('ack', (seq) => testAck(seq, clock.now()));
      await cycles(s, clock, 600, 100, 10);
      const st = s.stats();
      a.true(st.bytes <= 4_000, `bytes ${st.bytes}`);
      a.true(st.evictedSamples > 0);
      a.truthy(st.fullSinceMs);
      a.is(s.nextSeq, 600);
      const items = s.pending(1000);
      a.is(items[0]!.kind, 'ack', 'never evicted');
      const gaps = items.filter((i) => i.kind === 'gap').map((i) => topicCodecs.gap.decode(i.payload));
      a.is(gaps.length, 1, 'one gap per run of evicted seqs');
      const g = gaps[0]!.message;
      a.is(g.firstSeq, 0);
      a.is(g.reason, 'disk_quota');
      a.is(g.energyImportWh, 3 * (g.lastSeq - g.firstSeq), 'the energy over the gap');
      a.is(verifyGap(gaps[0]!, dom).signer, testSigner().address);
      const batches = items.filter((i) => i.kind === 'batch');
      a.is(batches[0]!.firstSeq, g.lastSeq + 1, 'the rest follows the gap');
      a.is(st.evictedSamples, g.count);
      s.close();
    },
    4_000,
  );

  t(
    'write failure: OUTBOX_WRITE_FAILED, rolled back, nothing lost; lost readings land as a signed gap',
    async (a, q, clock) => {
      const s = q.open();
      await cycles(s, clock, 12);
      s.sealDue();
      const before = s.pending(100);
      q.setFull(s, true);
      const reading = contractReadings();
      const big = Array.from({ length: 400 }, () => reading(clock.now()));
      const e = a.throws(() => s.commitCycle(big));
      a.true(isLightNodeError(e, 'OUTBOX_WRITE_FAILED'), String(e));
      a.is(s.nextSeq, 12, 'no seq used');
      a.truthy(s.stats().writeFailure);
      a.deepEqual(
        s.pending(100).map((i) => i.id),
        before.map((i) => i.id),
      );
      // a big message cannot be stored either: no message seq used
      const filler = 'x'.repeat(100_000);
      const repFailed = a.throws(() => s.enqueueMessage('report', (seq) => ({ kind: 'commissioning', seq, filler })));
      a.true(isLightNodeError(repFailed, 'OUTBOX_WRITE_FAILED'));
      a.is(s.nextMessageSeq(), 0);
      // the loop gives up on some readings: they get seqs and one signed gap, written at once when a small write
      // still fits (SQLite: room left in a page), otherwise held in memory until the next successful write
      const lost = s.allocate(big.slice(0, 300));
      const decl = s.declareLost(lost);
      a.deepEqual([decl.firstSeq, decl.lastSeq, decl.reason], [12, 311, 'store_write_failed']);
      a.is(decl.energyImportWh, 3 * 299);
      a.true(s.stats().heldDeclarations <= 1);
      q.setFull(s, false);
      s.commitCycle(big.slice(300));
      const st = s.stats();
      a.is(st.heldDeclarations, 0);
      a.is(st.writeFailure, undefined, 'cleared by the successful write');
      a.is(s.nextSeq, 412);
      s.sealDue(true);
      const after = s.pending(100).filter((i) => i.kind === 'batch' || i.kind === 'gap');
      const gap = after.find((i) => i.kind === 'gap')!;
      a.deepEqual([gap.firstSeq, gap.lastSeq], [12, 311]);
      verifyGap(topicCodecs.gap.decode(gap.payload), dom);
      const ranges = after.map((i) => [i.firstSeq, i.lastSeq] as const);
      ranges.forEach(([f], i) => i > 0 && a.is(f, ranges[i - 1]![1] + 1, 'continuous'));
      a.is(ranges[ranges.length - 1]![1], 411);
      s.close();
    },
  );
}
