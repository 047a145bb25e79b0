import test from 'ava';
import { FakeDisk, FakeQueue } from './fake-queue.js';
import { contractReadings, queueContract, testAck } from './queue-contract.js';

queueContract(test, {
  name: 'FakeQueue',
  make({ clock, quotaBytes, windowMs }) {
    const disk = new FakeDisk();
    const open = () => FakeQueue.open({ disk, clock, quotaBytes, windowMs });
    return {
      open,
      async killWhileWriting(atLeast) {
        // in process: write, then drop the store unclosed (what a kill -9 leaves is what was committed)
        const s = open();
        let last = { messageSeq: -1, sampleSeq: -1 };
        for (let i = 0; i < atLeast; i++) {
          const [sample] = s.commitCycle([
            { tsMs: clock.now(), source: 'sim', values: { activePowerW: { value: i, quality: 'good' } } },
          ]);
          const item = s.enqueueMessage('ack', (seq) => testAck(seq, clock.now()));
          last = { messageSeq: item.firstSeq, sampleSeq: sample!.seq };
        }
        return last;
      },
      setFull(_store, full) {
        disk.full = full;
      },
      dispose() {},
    };
  },
});

test('FakeQueue: a full disk fails every write; a lost-readings gap is held and lands first with the next write', (t) => {
  const q = FakeQueue.open();
  q.commitCycle([contractReadings()(q.clock.now())]);
  q.disk.full = true;
  const r = contractReadings();
  t.throws(() => q.commitCycle([r(q.clock.now())]), { message: /OUTBOX_WRITE_FAILED: store memory: commit/ });
  t.throws(() => q.enqueueMessage('ack', (seq) => testAck(seq, 0)), { message: /OUTBOX_WRITE_FAILED/ });
  const lost = q.allocate([r(q.clock.now()), r(q.clock.now())]);
  q.declareLost(lost.slice(0, 1));
  q.declareLost(lost.slice(1));
  t.is(q.stats().heldDeclarations, 1, 'adjacent declarations merged');
  t.is(q.pending(10).length, 0);
  t.true(q.disk.failedWrites >= 4);
  q.disk.full = false;
  q.commitCycle([r(q.clock.now())]);
  t.deepEqual(
    q.pending(10).map((i) => [i.kind, i.firstSeq, i.lastSeq]),
    [['gap', 1, 2]],
  );
  t.is(q.stats().unsealedSamples, 2);
  t.is(q.nextSeq, 4);
  t.throws(() => q.commit(lost), { message: /INPUT_INVALID: commit: sample seq 1 given, 4 expected/ });
});
