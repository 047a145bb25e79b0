// What the mutation tests assert of a run with the store's `outbox.ackBeforeCommit` failpoint (hil-scenarios for a
// process agent, hil-inprocess for one in the runner's process): the run itself completes, and the invariants catch
// the broken build — noSeqConflict or noSampleLost fails, with conflicts or lost samples in the figures.
import type { ExecutionContext } from 'ava';
import type { HilRunResult } from '../index.js';

export function assertMutationCaught(t: ExecutionContext, r: HilRunResult): void {
  t.is(r.broke, undefined, 'the run itself must not break: the invariants must catch the bug');
  t.false(r.passed);
  const caught = r.invariants.filter((i) => (i.name === 'noSeqConflict' || i.name === 'noSampleLost') && !i.passed);
  t.true(caught.length > 0, 'noSeqConflict or noSampleLost fails');
  t.true(r.figures.conflicts + r.figures.lost > 0);
}
