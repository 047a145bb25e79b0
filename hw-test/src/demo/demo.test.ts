import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_STAGES, runDemo } from './stages.js';
import { fieldTestStage } from './field-test/stage.js';

test('the demo stages before and after the field test: verifies the batch, refuses the tampered copy', async (t) => {
  const lines: string[] = [];
  const outDir = mkdtempSync(join(tmpdir(), 'ln-demo-'));
  t.teardown(() => rmSync(outDir, { recursive: true, force: true }));
  // the field test stage has its own system test (hw-test/src/system/demo-field-test.test.ts)
  const stages = DEMO_STAGES.filter((s) => s !== fieldTestStage);
  const summary = await runDemo({ say: (l) => lines.push(l), outDir, stages });
  t.true(summary.verified);
  t.true(summary.tamperRejected);
  t.is(summary.samples, 60);
  t.true((summary.wireBytes as number) < 60 * 40);
  t.true(lines.some((l) => /MERKLE_ROOT_MISMATCH/.test(l)));
  t.is(summary.error, undefined);
  t.deepEqual(
    lines.filter((l) => l.startsWith('== stage')).map((l) => l.replace(/^== stage \d+\/\d+: /, '')),
    stages.map((s) => s.name),
  );
});
