import test from 'ava';
import { FakeDisk, FakeQueue } from './fake-queue.js';
import { queueContract } from './queue-contract.js';

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
          const { testAck } = await import('./queue-contract.js');
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
