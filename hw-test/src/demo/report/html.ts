/**
 * `report.html`: one self-contained page rendered from `report.json` alone — inline CSS, inline SVG charts (charts.ts),
 * no script, no font, image or stylesheet fetched. Renders a partial report (an interrupted run) with an
 * "incomplete run" banner. `writeReport` writes both files atomically (temp file + rename).
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { renderCharts } from './charts.js';
import {
  delta,
  esc,
  measurementsTables,
  num,
  offersTable,
  outcomesTable,
  requestsTable,
  setpointsTable,
  settlementTable,
  utc,
  violationsTable,
  type LooseReport,
} from './tables.js';
import type { FieldTestReport } from './types.js';

/** The report pages' style (system fonts only), shared with the HIL report. */
export const REPORT_CSS = `
body{font-family:"Liberation Sans",Arial,Helvetica,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
main{max-width:1200px;margin:0 auto;padding:24px 32px 48px;background:#fff}
h1{font-size:26px;margin:0 0 4px} h2{font-size:20px;margin:32px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.sub{color:#555;margin:0 0 16px} code{font-family:"Liberation Mono",monospace;font-size:12px;word-break:break-all}
.banner{background:#fde2e1;border:2px solid #c0392b;color:#7b1d14;padding:12px 16px;margin:12px 0;font-weight:bold}
.ok{background:#e3f4e1;border:1px solid #54a24b;padding:10px 16px;margin:12px 0}
.lesson{background:#fff6dc;border-left:5px solid #e0a800;padding:10px 16px;margin:12px 0}
ol.steps{font-family:"Liberation Mono",monospace;font-size:13px;padding-left:0;list-style:none}
ol.steps li{padding:2px 0} ol.steps li.step-fail{color:#c0392b;font-weight:bold}
table{border-collapse:collapse;margin:12px 0;font-size:13px;width:100%}
caption{text-align:left;font-weight:bold;padding:4px 0}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top} th{background:#f0f0f3}
td.empty,p.empty{color:#888;font-style:italic}
.st{padding:1px 6px;border-radius:3px;font-weight:bold}
.st-full{background:#e3f4e1;color:#2d6a27}.st-partial{background:#fff0c2;color:#8a5a00}.st-none{background:#fde2e1;color:#7b1d14}
.ack{font-family:"Liberation Mono",monospace;font-size:12px}.ack-applied,.ack-clipped{font-weight:bold;color:#2d6a27}
.chart{margin:12px 0;overflow-x:auto} .chart svg{display:block;max-width:100%;height:auto}
.kpi{font-size:15px}
`;

/** The partial fulfilment in words: asked, validated, why (the overloads the validation power flow found). */
function partialStory(r: LooseReport): string {
  const out: string[] = [];
  for (const q of (r.requests ?? []).filter((x) => x.status !== 'full')) {
    const trims = (r.technicalOutcome?.flexibility ?? []).flatMap((f) =>
      (f.power ?? []).flatMap((t) => {
        const m = r.marketOutcome?.flexibility?.find((x) => x.pod === f.pod)?.power?.find((x) => x.index === t.index);
        return m && Math.abs(m.acceptedPValue - t.acceptedPValue) > 1e-6
          ? [`${esc(f.pod)} from ${num(m.acceptedPValue)} kW to ${num(t.acceptedPValue)} kW`]
          : [];
      }),
    );
    const why = (r.powerFlow?.validation?.violations ?? []).map(
      (v) => `${esc(v.feeder)} would carry ${num(v.currentA, 2)} A against its ${num(v.limitA, 2)} A limit`,
    );
    out.push(
      `<p class="lesson"><b>The ${esc(q.playerId)} request is ${esc(q.status === 'none' ? 'not' : 'only partly')} fulfilled.</b> ` +
        `It asked ${delta(q.needkW)} kW (<code>${esc(q.playerServiceId)}</code>); the market, on price alone, accepted ` +
        `${delta(q.marketkW)} kW; after the DSO's technical validation ${delta(q.validatedkW)} kW remain` +
        (why.length > 0 ? `, because with the market's levels ${why.join(' and ')}` : '') +
        (trims.length > 0 ? `: the DSOTP trimmed ${trims.join(', ')}` : '') +
        '. The validation stops a service chosen for the transmission grid from creating a new problem on the distribution grid.</p>',
    );
  }
  return out.join('\n');
}

function story(r: LooseReport): string {
  const steps = (r.steps ?? [])
    .map((s) => `<li class="${s.ok ? 'step-ok' : 'step-fail'}">${s.ok ? '✔' : '✘'} ${esc(s.line)}</li>`)
    .join('\n');
  const t = r.timing;
  const timing = t
    ? `<p>Wall time ${num(t.wallS, 1)} s at ×${esc(t.speed)} simulated speed; simulated time ${utc(t.simulatedFromMs)} → ${utc(
        t.simulatedToMs,
      )}.${(t.realTime ?? []).length > 0 ? ` Real time, not scaled: ${esc((t.realTime ?? []).join(', '))}.` : ''}</p>`
    : '';
  return `<ol class="steps">${steps || '<li class="step-fail">no step ran</li>'}</ol>\n${partialStory(r)}\n${timing}`;
}

function chartsHtml(c: Awaited<ReturnType<typeof renderCharts>>, kind: 'loading' | 'series' | 'anchors'): string {
  const wrap = (svg: string, label: string) =>
    `<figure class="chart" data-chart="${esc(label)}" aria-label="${esc(label)}">${svg}</figure>`;
  if (kind === 'series')
    return c.series.length > 0
      ? c.series.map((s) => wrap(s.svg, `series ${s.pod}`)).join('\n')
      : '<p class="empty">No activation series in this run.</p>';
  const svg = c[kind];
  return svg
    ? wrap(svg, kind)
    : `<p class="empty">No ${kind === 'loading' ? 'power flow' : 'anchor'} data in this run.</p>`;
}

/** The page, from the report alone. Never throws on a partial report (`complete: false`, fields missing). */
export async function renderReportHtml(report: FieldTestReport): Promise<string> {
  const r = report as LooseReport;
  const c = await renderCharts(r);
  const sc = r.scenario;
  const banner =
    r.complete === true
      ? '<p class="ok">Complete run: every step ran and every check passed.</p>'
      : `<p class="banner" role="alert">Incomplete run${r.incompleteReason ? `: ${esc(r.incompleteReason)}` : ''} — this report shows what happened until the run stopped.</p>`;
  const head = sc
    ? `Market day ${esc(sc.marketDay)}, slot ${esc(sc.slot)}, PoM ${esc(sc.pom)}`
    : 'Scenario not reached';
  const chain = r.chain
    ? `chain ${esc(r.chain.chainId)}, key register <code>${esc(r.chain.keyRegister)}</code>`
    : 'chain not started';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Light Node field test — Tor di Valle</title><style>${REPORT_CSS}</style></head>
<body><main>
<h1>Light Node field test — Tor di Valle</h1>
<p class="sub">${head}; ${chain}; DSOTP setpoint issuer <code>${esc(r.dsotpIssuer ?? '–')}</code></p>
${banner}
<h2>What happened</h2>
${story(r)}
<h2>Grid: the DSOTP power flows</h2>
${violationsTable(r)}
${chartsHtml(c, 'loading')}
<h2>Requests and offers</h2>
${requestsTable(r)}
${offersTable(r)}
<h2>Outcomes</h2>
${outcomesTable(r)}
<h2>Activation</h2>
${setpointsTable(r)}
${chartsHtml(c, 'series')}
<h2>Measurements and proofs</h2>
${measurementsTables(r)}
${chartsHtml(c, 'anchors')}
<h2>Settlement</h2>
${settlementTable(r)}
<p class="sub">Rendered from report.json alone; the signed setpoints, acks and QoS reports are there as on the wire.</p>
</main></body></html>
`;
}

/** A report file written whole or not at all (temp file + rename; its directory made). */
export async function writeAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

/** Writes `dir/report.json` and `dir/report.html` (each via a temp file and a rename; `dir` created if missing). */
export async function writeReport(dir: string, r: FieldTestReport): Promise<{ json: string; html: string }> {
  await mkdir(dir, { recursive: true });
  const json = join(dir, 'report.json');
  const html = join(dir, 'report.html');
  await writeAtomic(json, `${JSON.stringify(r, null, 2)}\n`);
  await writeAtomic(html, await renderReportHtml(r));
  return { json, html };
}
