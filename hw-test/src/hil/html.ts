/**
 * `lightnode hil run --html FILE`: one run as one self-contained page — the field-test report's style, inline SVG
 * charts (report-charts.ts), no script, no font, image or stylesheet fetched. A verdict banner (passed / which
 * invariants failed / where the run broke), the scenario's notes, the invariants, the figures, the four charts on
 * one time axis with the faults marked, and the events table. Every string from the run is escaped.
 */
import { REPORT_CSS } from '../demo/report/html.js';
import { esc, num, table, utc } from '../demo/report/tables.js';
import { renderHilCharts, type HilChart } from './report-charts.js';
import type { HilFigures, HilRunResult } from './result.js';

const CSS = `${REPORT_CSS}
.pass{color:#2d6a27;font-weight:bold}.fail{color:#c0392b;font-weight:bold}
ul.notes{margin:8px 0;padding-left:20px} ul.notes li{padding:2px 0}
`;

/** What each figure means, with its unit (the figures table's second column). */
const FIGURES: Record<keyof HilFigures, string> = {
  samples: 'samples received (after dedupe)',
  lost: 'samples lost (neither received nor in a signed gap)',
  conflicts: '(deviceId, seq) pairs with two different leaves',
  gaps: 'signed gaps',
  maxOutboxDepth: 'largest outbox depth seen (samples)',
  drainS: 'drain time after the last fault (simulated s)',
  fallbackS: 'fallback latency (simulated s)',
  rssMaxMB: 'largest agent RSS (MB)',
};

const figure = (v: number | null): string => (v === null ? '–' : Number.isInteger(v) ? String(v) : num(v, 2));

function verdict(r: HilRunResult): string {
  const failed = r.invariants.filter((i) => !i.passed);
  if (r.broke)
    return `<p class="banner" role="alert">The run broke at ${esc(r.broke.stage)}: ${esc(r.broke.message)}</p>`;
  if (!r.passed || failed.length > 0)
    return (
      `<p class="banner" role="alert">Failed: ${String(failed.length)} of ${String(r.invariants.length)} ` +
      `invariants did not hold${failed.length > 0 ? ` (${esc(failed.map((i) => i.name).join(', '))})` : ''}.</p>`
    );
  return `<p class="ok">Passed: every invariant held (${String(r.invariants.length)}).</p>`;
}

function invariantsTable(r: HilRunResult): string {
  return table(
    'Invariants',
    ['invariant', 'result', 'value', 'detail'],
    r.invariants.map((i) => [
      `<code>${esc(i.name)}</code>`,
      i.passed ? '<span class="pass">✔ pass</span>' : '<span class="fail">✘ fail</span>',
      esc(i.value ?? '–'),
      esc(i.detail),
    ]),
    r.broke ? 'not judged: the run broke' : 'none declared',
  );
}

function figuresTable(f: HilFigures): string {
  return table(
    'Figures',
    ['figure', 'value', 'meaning'],
    (Object.keys(FIGURES) as (keyof HilFigures)[]).map((k) => [
      `<code>${esc(k)}</code>`,
      esc(figure(f[k])),
      esc(FIGURES[k]),
    ]),
  );
}

function eventsTable(r: HilRunResult): string {
  return table(
    'Events (simulated time)',
    ['t (s)', 'do', 'target', 'detail'],
    [...r.events]
      .sort((a, b) => a.atS - b.atS)
      .map((e) => [esc(num(e.atS, 1)), `<code>${esc(e.do)}</code>`, esc(e.target ?? '–'), esc(e.detail)]),
    'no event in this run',
  );
}

const chartHtml = (c: HilChart): string =>
  `<figure class="chart" data-chart="${esc(c.key)}" aria-label="${esc(c.title)}"${c.empty ? ' data-empty="true"' : ''}>${c.svg}</figure>`;

/** The page of one run (never throws on a broken run: empty series give "no data" charts). */
export async function renderHilHtml(result: HilRunResult): Promise<string> {
  const r = result;
  const charts = await renderHilCharts(r);
  const title = `Light Node HIL — ${r.scenario}`;
  const sub =
    `seed ${esc(r.seed)}, speed ×${esc(r.speed)}, ${esc(num(r.durationS, 0))} s simulated; started ${esc(utc(r.startedAtMs))}, ` +
    `wall time ${esc(num(r.wallS, 1))} s`;
  const notes =
    r.notes.length > 0
      ? `<ul class="notes">${r.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>`
      : '<p class="empty">No notes.</p>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body><main>
<h1>${esc(title)}</h1>
<p class="sub">${sub}</p>
${verdict(r)}
<h2>Notes</h2>
${notes}
<h2>Invariants</h2>
${invariantsTable(r)}
<h2>Figures</h2>
${figuresTable(r.figures)}
<h2>Over time</h2>
<p class="sub">One time axis (simulated seconds) for every chart; the dashed red rules are the events.</p>
${charts.map(chartHtml).join('\n')}
<h2>Events</h2>
${eventsTable(r)}
</main></body></html>
`;
}
