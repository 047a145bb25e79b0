import test from 'ava';
import demo, { DEMO_USAGE, demoSummaryText } from './demo.js';

test('demo --help names every stage in order and --json', (t) => {
  t.is(demo.usage, DEMO_USAGE);
  const at = ['device key', 'samples', 'seal + sign', 'verify', 'field test'].map((s) => DEMO_USAGE.indexOf(`. ${s} `));
  t.false(at.includes(-1), JSON.stringify(at));
  t.deepEqual(
    at,
    [...at].sort((a, b) => a - b),
    'stages listed in the order they run',
  );
  for (const f of ['--json', '--out DIR', '--speed N', '--proofs N', '--seed N']) t.true(DEMO_USAGE.includes(f), f);
});

test('without --json the demo prints a human summary of every stage', (t) => {
  const text = demoSummaryText({
    deviceId: '0x00000000000000000000000000000000000000aa',
    samples: 60,
    root: '0x1234',
    wireBytes: 900,
    verified: true,
    tamperRejected: true,
    fieldTest: {
      ok: true,
      complete: true,
      report: 'out/demo/report.json',
      setpoints: 3,
      samples: 50,
      anchoredSamples: 50,
      proofsVerified: 6,
      proofsChecked: 6,
      wallS: 90,
    },
  });
  t.regex(text, /every check passed/);
  for (const s of [
    '0x00000000000000000000000000000000000000aa',
    '60 samples',
    '900 wire bytes',
    'complete, 3 setpoints, 50/50 samples anchored, 90 s',
    '6/6 verified',
    'out/demo/report.json',
  ])
    t.true(text.includes(s), s);
  t.false(text.trimStart().startsWith('{'), 'not JSON');
  t.regex(demoSummaryText({ verified: true, tamperRejected: false }), /A CHECK FAILED/);
});
