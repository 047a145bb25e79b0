import test from 'ava';
import demo, { DEMO_USAGE, demoSummaryText } from './demo.js';

test('demo --help names every stage in order and --json', (t) => {
  t.is(demo.usage, DEMO_USAGE);
  const at = ['device key', 'samples', 'seal + sign', 'verify', 'agent', 'BAL', 'chain', 'SCD', 'proof'].map((s) =>
    DEMO_USAGE.indexOf(`. ${s} `),
  );
  t.false(at.includes(-1), JSON.stringify(at));
  t.deepEqual(
    at,
    [...at].sort((a, b) => a - b),
    'stages listed in the order they run',
  );
  t.regex(DEMO_USAGE, /--json/);
});

test('without --json the demo prints a human summary of every stage', (t) => {
  const text = demoSummaryText({
    deviceId: '0x00000000000000000000000000000000000000aa',
    samples: 60,
    root: '0x1234',
    wireBytes: 900,
    verified: true,
    tamperRejected: true,
    agent: { batches: 5, samples: 50, rejected: 0 },
    cloud: { windowsAnchored: 3, scdSamples: 50, proofVerified: true },
  });
  t.regex(text, /every check passed/);
  for (const s of [
    '0x00000000000000000000000000000000000000aa',
    '60 samples',
    '900 wire bytes',
    '5 batches / 50 samples',
    '3 windows anchored',
    '50 samples stored',
    'proof verified: yes',
  ])
    t.true(text.includes(s), s);
  t.false(text.trimStart().startsWith('{'), 'not JSON');
  t.regex(demoSummaryText({ verified: true, tamperRejected: false }), /A CHECK FAILED/);
});
