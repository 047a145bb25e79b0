/**
 * `lightnode hil run --junit FILE`: the runs as JUnit XML (the shape CI servers read — Jenkins' and GitLab's
 * `junit` reports): `<testsuites name="lightnode-hil">` › one `<testsuite>` per scenario › one `<testcase
 * classname="hil.SCENARIO" name=INVARIANT>` per invariant, a failing one carrying `<failure message type>` (type =
 * the invariant's key, message = its detail), plus a `setup` testcase carrying `<error message type>` (type = the
 * stage that broke) when the run broke. The event log is the suite's `<system-out>` (CDATA). Counts are consistent:
 * `tests` = testcases, `failures` = failed invariants, `errors` = broken runs (per suite and summed).
 * Times: a suite's `time` is its run's wall time (s); invariants are judged after the run, so their `time` is 0.
 */
import type { HilEvent, HilRunResult } from './result.js';

/**
 * Characters XML 1.0 forbids anywhere, even escaped or in CDATA (XML 1.0 § 2.2 `Char`): C0 controls but tab, LF and
 * CR; U+FFFE and U+FFFF; lone surrogates. They become U+FFFD.
 */
const FORBIDDEN =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const clean = (s: string): string => s.replace(FORBIDDEN, '\uFFFD');

const ATTR: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  '\t': '&#9;',
  '\n': '&#10;',
  '\r': '&#13;',
};
/** An attribute value: markup characters escaped, and tab / LF / CR as character references (kept by parsers). */
const attr = (x: string | number): string => clean(String(x)).replace(/[&<>"'\t\n\r]/g, (c) => ATTR[c]!);
/** Element text. */
const text = (x: string): string => clean(x).replace(/[&<>]/g, (c) => ATTR[c]!);
/** A CDATA section; a `]]>` inside is split across two sections so the text survives unchanged. */
const cdata = (x: string): string => `<![CDATA[${clean(x).replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;
/** Seconds with millisecond precision (JUnit's `time`). */
const secs = (s: number): string => (Number.isFinite(s) && s > 0 ? s.toFixed(3) : '0.000');

/**
 * One event as one log line: `[t=12.3s] kill9 a1 SIGKILL pid 123` (simulated seconds); a line break inside a text
 * becomes a space, so the log keeps one line per event.
 */
export function eventLine(e: HilEvent): string {
  return [`[t=${e.atS.toFixed(1)}s]`, e.do, e.target, e.detail]
    .filter((p) => p !== undefined && p !== '')
    .join(' ')
    .replace(/\s*[\r\n]+\s*/g, ' ')
    .trimEnd();
}

/** The counts of one run's suite (also what the test checks against the XML). */
export function suiteCounts(r: HilRunResult): { tests: number; failures: number; errors: number; skipped: number } {
  return {
    tests: r.invariants.length + (r.broke ? 1 : 0),
    failures: r.invariants.filter((i) => !i.passed).length,
    errors: r.broke ? 1 : 0,
    skipped: 0,
  };
}

function suite(r: HilRunResult): string {
  const n = suiteCounts(r);
  const cls = attr(`hil.${r.scenario}`);
  // JUnit's timestamp: ISO 8601 without a zone (the XSD's pattern); it is UTC.
  const timestamp = Number.isFinite(r.startedAtMs) ? new Date(r.startedAtMs).toISOString().slice(0, 19) : '';
  const props = (
    [
      ['seed', r.seed],
      ['speed', r.speed],
      ['durationS', r.durationS],
      ['passed', String(r.passed)],
    ] as const
  )
    .map(([k, v]) => `      <property name="${k}" value="${attr(v)}"/>`)
    .concat(
      Object.entries(r.figures).map(
        ([k, v]) => `      <property name="figures.${attr(k)}" value="${attr(String(v))}"/>`,
      ),
    )
    .concat(r.notes.map((note) => `      <property name="note" value="${attr(note)}"/>`));
  const cases: string[] = [];
  if (r.broke) {
    const b = r.broke;
    cases.push(
      `    <testcase classname="${cls}" name="setup" time="${secs(r.wallS)}">\n` +
        `      <error message="${attr(b.message)}" type="${attr(b.stage)}">${text(`${b.stage}: ${b.message}`)}</error>\n` +
        '    </testcase>',
    );
  }
  for (const i of r.invariants) {
    const open = `    <testcase classname="${cls}" name="${attr(i.name)}" time="0.000"`;
    if (i.passed) {
      cases.push(`${open}/>`);
      continue;
    }
    const body = i.value === undefined ? i.detail : `${i.detail} (value: ${String(i.value)})`;
    cases.push(
      `${open}>\n      <failure message="${attr(i.detail)}" type="${attr(i.name)}">${text(body)}</failure>\n    </testcase>`,
    );
  }
  const log = r.events.map(eventLine).join('\n');
  return (
    `  <testsuite name="${attr(r.scenario)}" tests="${n.tests}" failures="${n.failures}" errors="${n.errors}" ` +
    `skipped="${n.skipped}" time="${secs(r.wallS)}" timestamp="${timestamp}">\n` +
    `    <properties>\n${props.join('\n')}\n    </properties>\n` +
    cases.map((c) => `${c}\n`).join('') +
    `    <system-out>${cdata(log === '' ? '' : `${log}\n`)}</system-out>\n` +
    '  </testsuite>'
  );
}

/** The runs as one JUnit XML document (UTF-8, with its declaration). */
export function junitXml(results: readonly HilRunResult[]): string {
  const total = results
    .map(suiteCounts)
    .reduce((a, c) => ({ tests: a.tests + c.tests, failures: a.failures + c.failures, errors: a.errors + c.errors }), {
      tests: 0,
      failures: 0,
      errors: 0,
    });
  const time = results.reduce((s, r) => s + (Number.isFinite(r.wallS) && r.wallS > 0 ? r.wallS : 0), 0);
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<testsuites name="lightnode-hil" tests="${total.tests}" failures="${total.failures}" errors="${total.errors}" ` +
    `time="${secs(time)}">\n` +
    results.map((r) => `${suite(r)}\n`).join('') +
    '</testsuites>\n'
  );
}
