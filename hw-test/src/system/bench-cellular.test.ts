// `npm run -s bench -- cellular --json` end to end (Debian's Mosquitto over TLS 1.3): one JSON document with the
// measured sizes, the month and the ratios; the batched month fits a 5 MB plan (issue 15's acceptance line).
import test from 'ava';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../hil/harness.js';

interface Report {
  bench: string;
  results: { name: string; value: number; unit: string }[];
  ratios: Record<string, number>;
}

test('bench cellular: a resumed connect costs less than a full one, and the batched month fits 5 MB', async (t) => {
  const out = await new Promise<string>((resolve, reject) =>
    execFile(
      process.execPath,
      [join(ROOT, 'bench', 'run.mjs'), 'cellular', '--json'],
      { timeout: 300_000 },
      (e, stdout, stderr) => (e ? reject(new Error(`${e.message}\n${stderr}`)) : resolve(stdout)),
    ),
  );
  const r = JSON.parse(out) as Report;
  const v = Object.fromEntries(r.results.map((x) => [x.name, x.value]));
  t.is(r.bench, 'cellular');
  // a keepalive cycle over TLS 1.3: 2 B PINGREQ + 2 B PINGRESP, each in a 22-B record
  t.is(v['keepalive.tlsBytes'], 48);
  t.true(v['connect.resumed.ipBytes']! < v['connect.full.ipBytes']!, JSON.stringify(v));
  t.true(v['batch60min.ipBytes']! < v['gzipJson60min.ipBytes']!);
  t.is(v['month.pings'], 10_080);
  t.true(r.ratios.budgetOverMonthly! >= 1, `budgetOverMonthly ${r.ratios.budgetOverMonthly}`);
  t.true(r.ratios.naiveOverBatched! > r.ratios.gzipJsonOverBatched!);
  t.true(r.ratios.gzipJsonOverBatched! > 1);
});
