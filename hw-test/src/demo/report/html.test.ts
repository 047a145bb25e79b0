import test from 'ava';
import fc from 'fast-check';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lightNodeDomain, verifySigned } from '@lightnode/protocols';
import { TOR_DI_VALLE } from '@lightnode/cloud/testing';
import { sampleReport, VALIDATED_NANCHINO_KW } from './fixture.js';
import { renderReportHtml, writeReport } from './html.js';
import { reportRequests } from './derive.js';
import type { FieldTestReport } from './types.js';

const PODS = TOR_DI_VALLE.pods.map((p) => p.pod);
/** Every http(s) URL of the page once the SVG namespace declarations are taken out. */
const urls = (html: string): string[] =>
  html.replace(/\sxmlns(:\w+)?="http:\/\/www\.w3\.org\/[^"]*"/g, '').match(/https?:\/\/[^\s"')<]*/g) ?? [];

test('the fixture is the reference run: market, validated 207.662 kW, the TSO request partial, signatures verify', (t) => {
  const r = sampleReport();
  const market = new Map(r.marketOutcome!.flexibility.map((f) => [f.pod, f.power[0]!]));
  for (const [pod, e] of Object.entries(TOR_DI_VALLE.expected)) {
    t.true(Math.abs(market.get(pod)!.acceptedPValue - e.acceptedPValue) < 1e-6, pod);
    t.is(market.get(pod)!.acceptedPPrice, e.acceptedPPrice, pod);
  }
  const validated = r.validatedOutcome!.flexibility.find((f) => f.pod === 'IT002E60550189')!.power[0]!;
  t.is(validated.acceptedPValue, VALIDATED_NANCHINO_KW);
  t.deepEqual(
    r.requests.map((q) => [q.playerId, q.status]),
    [
      ['DSO', 'full'],
      ['TSO', 'partial'],
    ],
  );
  t.is(r.steps.length >= 10, true);
  const [most, nan] = r.powerFlow.feeders;
  const near = (x: number, y: number) => Math.abs(x - y) <= 0.01;
  t.true(near(most!.baseCaseA, 259.54) && most!.limitA === 212.8 && most!.validatedA <= most!.limitA);
  t.true(near(nan!.marketA, 30.07) && nan!.limitA === 19.6 && near(nan!.validatedA, 19.6));
  t.deepEqual(
    [...r.powerFlow.baseCase.violations, ...r.powerFlow.validation.violations].map((v) => v.feeder),
    ['Mostacciano', 'Nanchino'],
  );
  const domain = lightNodeDomain(r.chain.chainId, r.chain.keyRegister);
  t.is(r.setpoints.length, 3);
  for (const s of r.setpoints) {
    t.is(verifySigned(s.signed, domain, { expectedSigner: r.dsotpIssuer }).signer, r.dsotpIssuer);
    for (const a of [...s.acks, s.qos!]) verifySigned(a, domain, { expectedSigner: s.deviceId });
    t.true(s.acks.some((a) => a.message.state === 'applied'));
    t.is(s.signed.message.slotIndex, 50);
  }
});

test('the page: ≥ 3 inline SVG charts, every PoD id, the partial fulfilment in words, no network URL', async (t) => {
  const html = await renderReportHtml(sampleReport());
  t.true((html.match(/<svg/g) ?? []).length >= 3);
  for (const pod of PODS) t.true(html.includes(pod), pod);
  t.regex(html, /The TSO request is only partly fulfilled/);
  t.regex(html, /Nanchino would carry 30\.07 A against its 19\.60 A limit/);
  t.regex(html, /IT002E60550189 from 342\.128 kW to 207\.662 kW/);
  t.deepEqual(urls(html), []);
  t.notRegex(html, /<script|<link|<img|@import|url\(/i);
  t.notRegex(html, /Incomplete run/);
});

test('the same report renders to the same bytes', async (t) => {
  t.is(await renderReportHtml(sampleReport()), await renderReportHtml(sampleReport()));
});

test('an incomplete run with most fields missing renders with the banner', async (t) => {
  const partial = { complete: false, incompleteReason: 'SIGINT at step 4/13' } as unknown as FieldTestReport;
  const html = await renderReportHtml(partial);
  t.regex(html, /class="banner"[^>]*>Incomplete run: SIGINT at step 4\/13/);
  t.false(html.includes('<svg'));
  t.regex(html, /no step ran/);
});

test('a report cut short anywhere still renders (fields dropped or left empty, one level down too)', async (t) => {
  const full = sampleReport();
  const keys = Object.keys(full) as (keyof FieldTestReport)[];
  const cut = fc.constantFrom('keep', 'drop', 'empty');
  /** `x` with each own field kept, dropped or emptied ({} / []) as `how` says (arrays: their first element cut). */
  const apply = (x: unknown, how: string[]): unknown => {
    if (Array.isArray(x)) return x.length === 0 ? x : [apply(x[0], how), ...x.slice(1)];
    if (x === null || typeof x !== 'object') return x;
    const out: Record<string, unknown> = {};
    Object.entries(x).forEach(([k, v], i) => {
      const h = how[i % how.length] ?? 'keep';
      if (h === 'keep') out[k] = v;
      else if (h === 'empty') out[k] = Array.isArray(v) ? [] : typeof v === 'object' && v !== null ? {} : v;
    });
    return out;
  };
  await fc.assert(
    fc.asyncProperty(
      fc.array(cut, { minLength: keys.length, maxLength: keys.length }),
      fc.array(cut, { minLength: 1, maxLength: 7 }),
      async (top, inner) => {
        const r: Record<string, unknown> = { complete: false };
        keys.forEach((k, i) => {
          if (k === 'complete' || top[i] === 'drop') return;
          r[k] = top[i] === 'empty' ? apply(full[k], inner) : full[k];
        });
        const html = await renderReportHtml(r as unknown as FieldTestReport);
        return html.includes('Incomplete run') && html.endsWith('</html>\n');
      },
    ),
    { numRuns: 25, seed: 13 },
  );
  t.pass();
});

test('every string from the report is HTML-escaped', async (t) => {
  const r = sampleReport();
  const evil = '<script>alert("x")</script>';
  r.requests[0]!.playerId = evil;
  r.steps[0]!.line = `[1/13] ${evil} & more`;
  r.complete = false;
  r.incompleteReason = evil;
  r.setpoints[0]!.acks[2]!.message.reason = evil;
  const html = await renderReportHtml(r);
  t.notRegex(html, /<script/i);
  t.true(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'));
  t.true(html.includes('&amp; more'));
});

test('writeReport writes report.json and report.html atomically, leaving no temp file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ln-report-unit-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const r = sampleReport();
  const out = await writeReport(join(dir, 'new'), r);
  t.deepEqual((await readdir(join(dir, 'new'))).sort(), ['report.html', 'report.json']);
  t.deepEqual(JSON.parse(await readFile(out.json, 'utf8')), JSON.parse(JSON.stringify(r)));
  t.is(await readFile(out.html, 'utf8'), await renderReportHtml(r));
});

test('reportRequests: full, partial, none after validation', (t) => {
  const r = sampleReport();
  const base = new Map<string, number>(TOR_DI_VALLE.pods.map((p) => [p.pod, p.baselinekW]));
  const validated = structuredClone(r.validatedOutcome!);
  const at = (pod: string) => validated.flexibility.find((f) => f.pod === pod)!.power[0]!;
  at('IT002E60550189').acceptedPValue = base.get('IT002E60550189')!; // the TSO service cut to nothing
  const out = reportRequests(r.marketOutcome!, validated, (pod) => base.get(pod)!);
  t.deepEqual(
    out.map((q) => [q.playerId, q.status, Math.round(q.validatedkW * 1000) / 1000]),
    [
      ['DSO', 'full', -1376.741],
      ['TSO', 'none', 0],
    ],
  );
  t.deepEqual(
    reportRequests(r.marketOutcome!, r.validatedOutcome!, (pod) => base.get(pod)!),
    r.requests,
  );
});
