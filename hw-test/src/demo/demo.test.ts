import test from 'ava';
import { runDemo } from './stages.js';

test('the demo runs every stage: verifies the batch, refuses the tampered copy, and batches from the agent verify live', async (t) => {
  const lines: string[] = [];
  const summary = await runDemo({ say: (l) => lines.push(l) });
  t.true(summary.verified);
  t.true(summary.tamperRejected);
  t.is(summary.samples, 60);
  t.true((summary.wireBytes as number) < 60 * 40);
  t.true(lines.some((l) => /MERKLE_ROOT_MISMATCH/.test(l)));
  const agent = summary.agent as { batchesVerified: number; samples: number; rejected: number };
  t.true(agent.batchesVerified >= 2, JSON.stringify(agent));
  t.is(agent.rejected, 0);
});
