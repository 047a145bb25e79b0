/**
 * A child process for the kill -9 case of `queueContract` on SQLite: `node sqlite-writer.js DIR` opens the store in
 * DIR and, until it is killed, commits a one-reading cycle and enqueues an ack in turn, printing `s SEQ` / `m SEQ`
 * after each commit (stdout to a pipe is synchronous on Linux: a printed seq is committed).
 */
import { join } from 'node:path';
import { systemClock } from '@lightnode/protocols';
import { testDomain, testSigner } from '@lightnode/protocols/testing';
import { SqliteStore } from '../store/sqlite-store.js';
import { testAck } from './queue-contract.js';

const dir = process.argv[2]!;
const store = SqliteStore.open({
  path: join(dir, 'outbox.db'),
  seqFile: join(dir, 'seq.hwm'),
  signer: testSigner(),
  domain: testDomain(),
  podId: 'IT002E61899978',
  clock: systemClock,
  quotaBytes: 1e9,
  windowMs: 1000,
  seqBlock: 3,
});
process.stdout.write('ready\n');
for (let i = 0; ; i++) {
  const [s] = store.commitCycle([
    { tsMs: systemClock.now(), source: 'sim', values: { activePowerW: { value: i, quality: 'good' } } },
  ]);
  process.stdout.write(`s ${s!.seq}\n`);
  const m = store.enqueueMessage('ack', (seq) => testAck(seq, systemClock.now()));
  process.stdout.write(`m ${m.firstSeq}\n`);
}
