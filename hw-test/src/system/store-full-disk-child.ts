/**
 * Child of store-full-disk.test.ts, run inside the `Tmpfs` namespace (hil/disk.ts) with DIR a small tmpfs: fills the
 * file system with a ballast file, writes to the store until a write fails, checks the store is still usable and
 * consistent, frees the ballast, writes again. Prints one JSON line with what happened.
 */
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { isLightNodeError, systemClock } from '@lightnode/protocols';
import { testDomain, testSigner } from '@lightnode/protocols/testing';
import { SqliteStore, domainChecks, verifyStoreFile } from '@lightnode/edge';
import { contractReadings } from '@lightnode/edge/testing';

const dir = process.argv[2]!;
const path = join(dir, 'outbox.db');
const store = SqliteStore.open({
  path,
  seqFile: join(dir, 'seq.hwm'),
  signer: testSigner(),
  domain: testDomain(),
  podId: 'IT002E61899978',
  clock: systemClock,
  quotaBytes: 64 * 1024 * 1024,
  windowMs: 100,
});
const reading = contractReadings();
const cycle = (n: number) => store.commitCycle(Array.from({ length: n }, () => reading(systemClock.now())));
for (let i = 0; i < 20; i++) cycle(5);
store.sealDue(true);

// fill the file system
const ballast = join(dir, 'ballast');
const fd = openSync(ballast, 'w');
const chunk = Buffer.alloc(64 * 1024, 0x42);
let size = chunk.length;
try {
  for (;;) writeSync(fd, chunk.subarray(0, size));
} catch {
  for (size = 4096; size >= 1; size = Math.floor(size / 2))
    try {
      for (;;) writeSync(fd, chunk.subarray(0, size));
    } catch {
      /* smaller */
    }
}
closeSync(fd);

const before = store.stats();
let accepted = 0;
let failure: { code: string; cause: string; message: string } | undefined;
for (let i = 0; i < 10_000 && !failure; i++)
  try {
    cycle(20);
    store.sealDue();
    accepted++;
  } catch (e) {
    if (!isLightNodeError(e)) throw e;
    failure = { code: e.code, cause: String((e.cause as { code?: string })?.code), message: e.message };
  }
const during = store.stats();
const pendingDuring = store.pending(10_000).length;
rmSync(ballast);
cycle(3);
const after = store.stats();
store.sealDue(true);
store.close();
const v = verifyStoreFile(path, domainChecks(testDomain()));
process.stdout.write(
  JSON.stringify({
    accepted,
    failure,
    nextSeqBefore: before.nextSeq,
    nextSeqDuring: during.nextSeq,
    writeFailureDuring: during.writeFailure !== undefined,
    pendingDuring,
    writeFailureAfter: after.writeFailure !== undefined,
    nextSeqAfter: after.nextSeq,
    verify: { ok: v.ok, gaps: v.gaps, bad: v.badBatches, lastSeq: v.lastSeq },
  }) + '\n',
);
