/**
 * The BAL without a broker or a chain: a stopped chain or SCD never loses an accepted batch (the ledger keeps it
 * and the next windows retry), a restart resumes from the ledger, storage failures are not acknowledged, and the
 * low-s rule holds with the native verifier too.
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  LightNodeError,
  decodeBatchWire,
  encodeBatchWire,
  isLightNodeError,
  lightNodeDomain,
  signGap,
  systemClock,
  toHighS,
  topics,
  type SignedBatch,
} from '@lightnode/protocols';
import { FakeClock, TEST_DEVICE_KEY, testSigner } from '@lightnode/protocols/testing';
import { publicKeyFromPrivateKey } from '@lightnode/protocols';
import type { AnchorReceipt } from '../chain/client.js';
import type { GapDelivery, IngestResult, ScdSink, WindowDelivery } from '../delivery.js';
import { sealedBatch, testGap } from '../testing/scd-contract.js';
import { BalLedger } from './ledger.js';
import { loadNative, nativeRecover, selectRecover } from './recover.js';
import { MemoryKeyRegistry } from './registry.js';
import { Bal, type Anchorer } from './service.js';

const domain = lightNodeDomain(31337, '0x5fbdb2315678afecb367f032d93f642f64180aa3');
const dev = testSigner();
const registry = new MemoryKeyRegistry();
registry.register(dev.address, publicKeyFromPrivateKey(TEST_DEVICE_KEY));

const batch = (firstSeq: number, n = 10): SignedBatch => sealedBatch(dev, firstSeq, n, { domain });

class FlakyChain implements Anchorer {
  failuresLeft: number;
  calls = 0;
  anchored: string[] = [];
  constructor(failures: number) {
    this.failuresLeft = failures;
  }
  anchor(root: string, leafCount: number, slotStartMs: number): Promise<AnchorReceipt> {
    this.calls++;
    if (this.failuresLeft-- > 0) return Promise.reject(new LightNodeError('CHAIN_UNAVAILABLE', 'chain stopped', {}));
    this.anchored.push(root);
    return Promise.resolve({
      root,
      leafCount,
      slotStartMs,
      blockNumber: this.anchored.length,
      anchoredAtS: 1,
      anchorer: '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266',
      txHash: `0x${this.anchored.length.toString(16).padStart(64, '0')}`,
      contract: '0xe7f1725e7734ce288f8367e1bb143e90bb3f0512',
      chainId: 31337,
    });
  }
}

class MemorySink implements ScdSink {
  windows: WindowDelivery[] = [];
  down = false;
  ingestWindow(d: WindowDelivery): Promise<IngestResult> {
    if (this.down) return Promise.reject(new Error('SCD stopped'));
    this.windows.push(d);
    return Promise.resolve({ batches: d.batches.length, samplesStored: 0, samplesDuplicate: 0 });
  }
  ingestGaps(_d: GapDelivery): Promise<IngestResult> {
    return Promise.resolve({ batches: 0, samplesStored: 0, samplesDuplicate: 0 });
  }
  ingestMessages: ScdSink['ingestMessages'] = (d) => Promise.resolve({ stored: d.messages.length, duplicates: 0 });
  seqs(): number[] {
    return this.windows.flatMap((w) =>
      w.batches.map((b) => decodeBatchWire(Buffer.from(b.wire, 'base64')).header.firstSeq),
    );
  }
}

let dir: string;
test.before(() => (dir = mkdtempSync(join(tmpdir(), 'ln-bal-'))));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

const mkBal = (ledger: BalLedger, anchorer: Anchorer, sink: ScdSink, recover = selectRecover('auto').recover): Bal =>
  new Bal({ id: 'bal-t', ledger, registry, anchorer, sink, domain, recover, clock: systemClock, windowMs: 1000 });

const topic = topics.batch(dev.address);

test('a stopped chain: windows wait in the ledger and are anchored when it is back; nothing lost or doubled', async (t) => {
  const ledger = new BalLedger(join(dir, 'chain.sqlite'));
  const chain = new FlakyChain(3);
  const sink = new MemorySink();
  const bal = mkBal(ledger, chain, sink);
  for (let k = 0; k < 5; k++) t.is((await bal.ingestBatch(topic, encodeBatchWire(batch(k * 10)))).status, 'accepted');
  for (let i = 0; i < 3; i++) await bal.tick();
  t.is(sink.windows.length, 0);
  t.is(ledger.stats().pendingBatches, 5);
  t.is(bal.counters.anchorFailures, 3);
  await bal.ingestBatch(topic, encodeBatchWire(batch(50)));
  await bal.tick(); // chain back: the old window first, then the new one
  t.is(chain.anchored.length, 2);
  t.deepEqual(sink.seqs(), [0, 10, 20, 30, 40, 50]);
  t.is(ledger.stats().pendingBatches, 0);
  ledger.close();
});

test('a stopped SCD: anchored windows are forwarded later, never anchored twice', async (t) => {
  const ledger = new BalLedger(join(dir, 'scd.sqlite'));
  const chain = new FlakyChain(0);
  const sink = new MemorySink();
  sink.down = true;
  const bal = mkBal(ledger, chain, sink);
  await bal.ingestBatch(topic, encodeBatchWire(batch(0)));
  await bal.tick();
  await bal.tick();
  t.is(chain.anchored.length, 1);
  t.is(ledger.stats().windows.anchored, 1);
  sink.down = false;
  await bal.tick();
  t.is(chain.anchored.length, 1, 'not anchored again');
  t.deepEqual(sink.seqs(), [0]);
  ledger.close();
});

test('a restart resumes from the ledger: sealed windows are anchored, duplicates still recognised', async (t) => {
  const path = join(dir, 'restart.sqlite');
  const l1 = new BalLedger(path);
  const b1 = mkBal(l1, new FlakyChain(99), new MemorySink());
  await b1.ingestBatch(topic, encodeBatchWire(batch(0)));
  await b1.ingestBatch(topic, encodeBatchWire(batch(10)));
  await b1.tick();
  l1.close(); // "crash"
  const l2 = new BalLedger(path);
  const sink = new MemorySink();
  const b2 = mkBal(l2, new FlakyChain(0), sink);
  t.is((await b2.ingestBatch(topic, encodeBatchWire(batch(10)))).status, 'duplicate');
  await b2.tick();
  t.deepEqual(sink.seqs(), [0, 10]);
  l2.close();
});

test('a storage failure is thrown (the message stays unacknowledged), not dead-lettered', async (t) => {
  const ledger = new BalLedger(join(dir, 'closed.sqlite'));
  const bal = mkBal(ledger, new FlakyChain(0), new MemorySink());
  ledger.close();
  const e = await t.throwsAsync(bal.ingestBatch(topic, encodeBatchWire(batch(0))));
  t.true(isLightNodeError(e, 'IO_ERROR'), String(e));
});

test('high-s signatures are refused by the native verifier and the pure-JS one', async (t) => {
  t.truthy(loadNative(), 'the native secp256k1 binding loads on this machine');
  for (const impl of ['native', 'js'] as const) {
    const ledger = new BalLedger(join(dir, `highs-${impl}.sqlite`));
    const bal = mkBal(ledger, new FlakyChain(0), new MemorySink(), selectRecover(impl).recover);
    const b = batch(0);
    const r = await bal.ingestBatch(topic, encodeBatchWire({ ...b, signature: toHighS(b.signature) }));
    t.like(r, { status: 'rejected', code: 'SIGNATURE_HIGH_S' }, impl);
    t.is((await bal.ingestBatch(topic, encodeBatchWire(b))).status, 'accepted', impl);
    ledger.close();
  }
  const b = batch(0);
  t.is(nativeRecover(new Uint8Array(32).fill(7), b.signature).length, 42);
});

class FlakyRegistry extends MemoryKeyRegistry {
  failures: number;
  constructor(failures: number) {
    super();
    this.failures = failures;
    this.register(dev.address, publicKeyFromPrivateKey(TEST_DEVICE_KEY));
  }
  override lookup(deviceId: string) {
    if (this.failures-- > 0) return Promise.reject(new LightNodeError('CHAIN_UNAVAILABLE', 'register down', {}));
    return super.lookup(deviceId);
  }
}

test('an unreachable key register: the batch waits (backoff on the clock) and is accepted when it answers, never dead-lettered', async (t) => {
  const ledger = new BalLedger(join(dir, 'regdown.sqlite'));
  const clock = new FakeClock();
  const waits: number[] = [];
  const mk = (id: string, registry: MemoryKeyRegistry): Bal =>
    new Bal({
      id,
      ledger,
      registry,
      anchorer: new FlakyChain(0),
      sink: new MemorySink(),
      domain,
      recover: selectRecover('auto').recover,
      clock,
      keyRetry: { baseMs: 100, maxMs: 400, jitter: 'equal' },
      random: () => {
        waits.push(clock.monotonic());
        return 0.5;
      },
    });
  const flaky = new FlakyRegistry(4);
  const p = mk('bal-t', flaky).ingestBatch(topic, encodeBatchWire(batch(0)));
  let settled = false;
  void p.finally(() => (settled = true));
  while (!settled) await clock.advance(50);
  t.like(await p, { status: 'accepted' });
  t.is(flaky.failures, -1, 'asked 5 times');
  // equal jitter at 0.5: 75, 150, 300, 300 ms (steps 100, 200, 400, 400 capped)
  t.deepEqual(
    waits.slice(1).map((w, i) => w - waits[i]!),
    [75, 150, 300],
  );
  t.is(ledger.deadLetters().length, 0);
  // stopping while it waits: the message is not acknowledged (IO_ERROR), nothing is dead-lettered
  const down = new FlakyRegistry(1_000_000);
  const stuck = mk('bal-u', down);
  const q = stuck.ingestBatch(topic, encodeBatchWire(batch(10)));
  while (down.failures > 1_000_000 - 3) await clock.advance(100);
  await stuck.stop({ flush: false });
  const e = await t.throwsAsync(q);
  t.true(isLightNodeError(e, 'IO_ERROR'), String(e));
  t.is(ledger.deadLetters().length, 0);
  ledger.close();
});

test('the window loop runs on the injected clock: one tick per window, aligned to the grid', async (t) => {
  const ledger = new BalLedger(join(dir, 'loop.sqlite'));
  const clock = new FakeClock(Date.UTC(2021, 5, 23, 10, 0, 0, 200));
  const sink = new MemorySink();
  const bal = new Bal({
    id: 'bal-loop',
    ledger,
    registry,
    anchorer: new FlakyChain(0),
    sink,
    domain,
    recover: selectRecover('auto').recover,
    clock,
    windowMs: 1000,
  });
  bal.start();
  t.is((await bal.ingestBatch(topic, encodeBatchWire(batch(0)))).status, 'accepted');
  await clock.advance(700);
  t.is(bal.counters.windowsSealed, 0, 'not before the window edge');
  await clock.advance(200); // 10:00:01.100 ≥ the edge + 5 ms
  t.is(bal.counters.windowsSealed, 1);
  t.is(bal.counters.windowsForwarded, 1);
  t.is((await bal.ingestBatch(topic, encodeBatchWire(batch(10)))).status, 'accepted');
  await clock.advance(1000);
  t.is(bal.counters.windowsSealed, 2);
  await bal.stop({ flush: false });
  t.is(clock.pending, 0, 'no timer left');
  t.deepEqual(sink.seqs(), [0, 10]);
  ledger.close();
});

test('malformed gap declarations are dead-lettered naming the field, nothing recorded', async (t) => {
  const ledger = new BalLedger(join(dir, 'badgap.sqlite'));
  const bal = mkBal(ledger, new FlakyChain(0), new MemorySink());
  const gap = testGap(dev.address);
  const signed = signGap(gap, dev, domain);
  const gapTopic = topics.gap(dev.address);
  const send = (x: unknown) => bal.ingestGap(gapTopic, Buffer.from(JSON.stringify(x)));
  for (const [message, field] of [
    [{}, 'gap.message.version'],
    [{ ...gap, firstSeq: 'a' }, 'gap.message.firstSeq'],
    [{ ...gap, lastSeq: 39, count: 0 }, 'gap.message.lastSeq'],
    [{ ...gap, count: 11 }, 'gap.message.count'],
    [{ ...gap, podId: 'IT002X1234' }, 'gap.message.podId'],
  ] as const) {
    const r = await send({ ...signed, message });
    t.like(r, { status: 'rejected', code: 'SCHEMA_INVALID' }, field);
    t.true(r.status === 'rejected' && r.message.startsWith(`SCHEMA_INVALID: ${field}`), JSON.stringify(r));
  }
  t.like(await bal.ingestGap(gapTopic, Buffer.from('{"kind":"gap"')), { status: 'rejected', code: 'DECODE_ERROR' });
  t.deepEqual(ledger.gaps(), [], 'nothing recorded');
  t.like(await send(signed), { status: 'accepted', firstSeq: 40, lastSeq: 49 });
  t.is(ledger.gaps().length, 1);
  t.like(await bal.ingest('ln/v1/nope/batch', new Uint8Array([1])), { status: 'rejected', code: 'SCHEMA_INVALID' });
  ledger.close();
});
