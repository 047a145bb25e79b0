import test from 'ava';
import fc from 'fast-check';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { renderHilHtml } from './html.js';
import { eventLine, junitXml } from './junit.js';
import { eventLabels, hilChartSpecs, timeEndS } from './report-charts.js';
import { brokenRun, failingRun, passingRun, sampleHilRuns } from './report-fixture.js';
import type { HilRunResult } from './result.js';

// An independent parser: entities (numeric ones too) decoded, nothing trimmed or converted to numbers.
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  htmlEntities: true,
  trimValues: false,
  parseAttributeValue: false,
  parseTagValue: false,
  isArray: (name) => ['testsuite', 'testcase', 'property', 'failure', 'error'].includes(name),
});
interface Case {
  classname: string;
  name: string;
  time: string;
  failure?: { message: string; type: string; '#text': string }[];
  error?: { message: string; type: string; '#text': string }[];
}
interface Suite {
  name: string;
  tests: string;
  failures: string;
  errors: string;
  skipped: string;
  time: string;
  timestamp: string;
  properties: { property: { name: string; value: string }[] };
  testcase?: Case[];
  'system-out': string;
}
interface Doc {
  testsuites: { name: string; tests: string; failures: string; errors: string; time: string; testsuite?: Suite[] };
}
const parse = (xml: string): Doc['testsuites'] => (parser.parse(xml) as Doc).testsuites;

test('junitXml: well-formed; suite and total counts match the testcases, failures and errors in the document', (t) => {
  const runs = sampleHilRuns();
  const xml = junitXml(runs);
  t.true(XMLValidator.validate(xml));
  const doc = parse(xml);
  t.is(doc.name, 'lightnode-hil');
  const suites = doc.testsuite ?? [];
  t.deepEqual(
    suites.map((s) => s.name),
    ['link-latency-loss', 'power-cut-storm', 'disk-full'],
  );
  let tests = 0;
  let failures = 0;
  let errors = 0;
  for (const s of suites) {
    const cases = s.testcase ?? [];
    const f = cases.filter((c) => c.failure).length;
    const e = cases.filter((c) => c.error).length;
    t.is(Number(s.tests), cases.length, s.name);
    t.is(Number(s.failures), f, s.name);
    t.is(Number(s.errors), e, s.name);
    t.is(s.skipped, '0');
    for (const c of cases) t.is(c.classname, `hil.${s.name}`);
    tests += cases.length;
    failures += f;
    errors += e;
  }
  t.deepEqual([tests, failures, errors], [7, 2, 1]);
  t.deepEqual([doc.tests, doc.failures, doc.errors], ['7', '2', '1']);
  t.is(doc.time, (31.42 + 125.05 + 2.5).toFixed(3));
});

test('junitXml: one testcase per invariant named by its key; failure type = key, message = detail (escaped and back)', (t) => {
  const [pass, fail, broke] = parse(junitXml(sampleHilRuns())).testsuite!;
  t.deepEqual(
    pass!.testcase!.map((c) => [c.name, c.failure === undefined, c.time]),
    [
      ['noSampleLost', true, '0.000'],
      ['batchesVerify', true, '0.000'],
      ['coveragePct', true, '0.000'],
    ],
  );
  t.is(pass!.time, '31.420');
  t.is(pass!.timestamp, '2026-12-02T14:00:00');
  const run = failingRun();
  const conflict = fail!.testcase!.find((c) => c.name === 'noSeqConflict')!;
  t.is(conflict.failure![0]!.type, 'noSeqConflict');
  t.is(conflict.failure![0]!.message, run.invariants[0]!.detail); // contains < > & "
  t.is(conflict.failure![0]!['#text'], `${run.invariants[0]!.detail} (value: 3)`);
  t.is(fail!.testcase!.find((c) => c.name === 'batchesVerify')!.failure, undefined);
  // the broken run: only the setup testcase, carrying the error (type = stage)
  t.deepEqual(
    broke!.testcase!.map((c) => c.name),
    ['setup'],
  );
  const err = broke!.testcase![0]!.error![0]!;
  t.is(err.type, 'cloud');
  t.is(err.message, brokenRun().broke!.message);
  t.is(err['#text'], `cloud: ${brokenRun().broke!.message}`);
  const props = Object.fromEntries(fail!.properties.property.map((p) => [p.name, p.value]));
  t.like(props, { seed: '42', speed: '1', durationS: '120', passed: 'false', 'figures.conflicts': '3' });
});

test('junitXml: the event log in system-out, one line per event, `]]>` surviving the CDATA', (t) => {
  const run = failingRun();
  const s = parse(junitXml([run])).testsuite![0]!;
  const lines = s['system-out'].trimEnd().split('\n');
  t.is(lines.length, run.events.length);
  t.is(lines[0], '[t=30.0s] kill9 a1 SIGKILL pid 4000, restart after 0.05 s');
  t.is(lines.at(-1), '[t=90.0s] broker-down mosquitto stopped for 10 s; log ends "]]>" & <done>');
  t.is(eventLine({ atS: 12.34, do: 'clock-step', detail: '' }), '[t=12.3s] clock-step');
  t.is(eventLine({ atS: 1, do: 'load', detail: 'two\r\n  lines\n' }), '[t=1.0s] load two lines');
  t.is(parse(junitXml([brokenRun()])).testsuite![0]!['system-out'], '');
});

test('junitXml: any text in names, details and events round-trips through an XML parser', (t) => {
  // XML 1.0 cannot carry C0 controls (but tab, LF, CR) nor U+FFFE/U+FFFF: junitXml replaces them with U+FFFD.
  const xmlSafe = (s: string) => s.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '\uFFFD'); // eslint-disable-line no-control-regex
  fc.assert(
    fc.property(
      fc.string({ unit: 'binary' }),
      fc.string({ unit: 'binary' }),
      fc.string({ unit: 'binary' }),
      (name, detail, ev) => {
        const base = failingRun();
        const run: HilRunResult = {
          ...base,
          invariants: [{ name, passed: false, detail }],
          events: [{ atS: 1, do: 'load', target: 'm1', detail: ev }],
          broke: { stage: name, message: detail },
        };
        const xml = junitXml([run]);
        if (XMLValidator.validate(xml) !== true) return false;
        const s = parse(xml).testsuite![0]!;
        const [setup, c] = s.testcase!;
        const out = s['system-out'];
        return (
          setup!.error![0]!.message === xmlSafe(detail) &&
          c!.name === xmlSafe(name) &&
          c!.failure![0]!.type === xmlSafe(name) &&
          c!.failure![0]!.message === xmlSafe(detail) &&
          out === xmlSafe(`${eventLine(run.events[0]!)}\n`)
        );
      },
    ),
    { numRuns: 300 },
  );
  t.pass();
});

/** Every http(s) URL of the page once the SVG namespace declarations are taken out. */
const urls = (html: string): string[] =>
  html.replace(/\sxmlns(:\w+)?="http:\/\/www\.w3\.org\/[^"]*"/g, '').match(/https?:\/\/[^\s"')<]*/g) ?? [];

test('renderHilHtml: self-contained (no URL, script, link, src, @import or url()); four inline SVG charts', async (t) => {
  for (const run of sampleHilRuns()) {
    const html = await renderHilHtml(run);
    t.deepEqual(urls(html), [], run.scenario);
    t.notRegex(html, /<script|<link|<img|<iframe|\ssrc=|\shref=|@import|url\(/i, run.scenario);
    t.true((html.match(/<svg/g) ?? []).length >= 4, run.scenario);
    t.deepEqual(
      [...html.matchAll(/<figure class="chart" data-chart="(\w+)"/g)].map((m) => m[1]),
      ['power', 'setpoint', 'outbox', 'link'],
    );
  }
});

test('renderHilHtml: verdict, invariants, figures, events and notes; every text escaped', async (t) => {
  const ok = await renderHilHtml(passingRun());
  t.regex(ok, /Passed: every invariant held \(3\)/);
  t.regex(ok, /MQTT keepalive and TCP run in real time/);
  t.regex(ok, /<code>coveragePct<\/code><\/td><td><span class="pass">✔ pass<\/span><\/td><td>99\.2<\/td>/);
  t.regex(ok, /<code>drainS<\/code><\/td><td>6\.50<\/td>/);
  t.regex(ok, /<td>100\.0<\/td><td><code>link<\/code><\/td><td>a1<\/td><td>latency 300 ms/);
  const bad = await renderHilHtml(failingRun());
  t.regex(bad, /Failed: 2 of 3 invariants did not hold \(noSeqConflict, noSampleLost\)/);
  t.true(bad.includes('2 leaves: &lt;0x12…&gt; &amp; &lt;0x34…&gt; &quot;differ&quot;'));
  t.false(bad.includes('<0x12'));
  t.regex(bad, /kill9 a1 ×50/); // the storm's 50 rules share one label in the charts
  const broke = await renderHilHtml(brokenRun());
  t.regex(
    broke,
    /The run broke at cloud: mosquitto did not start on 127\.0\.0\.1:18830: &quot;Address in use&quot; &lt;exit 1&gt;/,
  );
  t.regex(broke, /not judged: the run broke/);
});

test('charts: empty series still give four SVGs, each saying "no data"; the time axis is shared', async (t) => {
  const html = await renderHilHtml(brokenRun());
  const figures = [...html.matchAll(/<figure class="chart"[^>]*>([\s\S]*?)<\/figure>/g)];
  t.is(figures.length, 4);
  for (const f of figures) {
    t.regex(f[0], /data-empty="true"/);
    t.regex(f[1]!, /^<svg[\s\S]*no data[\s\S]*<\/svg>$/);
  }
  // a run with data: one x domain [0, end] in every spec, events as rules in each
  const run = passingRun();
  const specs = hilChartSpecs(run);
  t.is(timeEndS(run), 300);
  for (const s of specs) {
    const json = JSON.stringify(s.spec);
    t.false(s.empty, s.key);
    t.true(json.includes('"domain":[0,300]'), s.key);
    t.true(json.includes('"type":"rule"'), s.key);
  }
  // a setpoint series that is all nulls is "no data" too
  const noSetpoint = { ...run, series: { ...run.series, setpoint: [{ tS: 0, targetW: null, podW: null }] } };
  t.true(hilChartSpecs(noSetpoint).find((s) => s.key === 'setpoint')!.empty);
});

test('eventLabels: events closer than a label merge (counted), distant ones keep their own', (t) => {
  const ev = (atS: number, what: string, target?: string) => ({
    atS,
    do: what,
    detail: '',
    ...(target ? { target } : {}),
  });
  t.deepEqual(
    eventLabels([ev(30, 'kill9', 'a1'), ev(30.1, 'kill9', 'a1'), ev(30.2, 'broker-down'), ev(200, 'kill9', 'a1')], 300),
    [
      { tS: 30, label: 'kill9 a1 ×2, broker-down' },
      { tS: 200, label: 'kill9 a1' },
    ],
  );
  t.deepEqual(eventLabels([], 300), []);
});
