import test from 'ava';
import { runDemo } from './stages.js';

test('the demo runs every stage: verifies the batch, refuses the tampered copy; the agent samples reach the SCD with proofs that verify', async (t) => {
  const lines: string[] = [];
  const summary = await runDemo({ say: (l) => lines.push(l) });
  t.true(summary.verified);
  t.true(summary.tamperRejected);
  t.is(summary.samples, 60);
  t.true((summary.wireBytes as number) < 60 * 40);
  t.true(lines.some((l) => /MERKLE_ROOT_MISMATCH/.test(l)));
  const agent = summary.agent as { batches: number; samples: number; rejected: number };
  t.true(agent.batches >= 2, JSON.stringify(agent));
  t.is(agent.rejected, 0);
  const cloud = summary.cloud as { windowsAnchored: number; scdSamples: number; proofVerified: boolean };
  t.true(cloud.windowsAnchored >= 1);
  t.is(cloud.scdSamples, agent.samples, 'every verified sample is in the SCD');
  t.true(cloud.proofVerified, 'lightnode proof verify accepts the proof of a random sample');
});
