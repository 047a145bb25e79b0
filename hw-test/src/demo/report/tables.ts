/**
 * The report page's HTML pieces: escaping, number formats and the tables (requests, offers, outcomes, setpoints with
 * acks and QoS, settlement, measurements). Every string from the report goes through `esc`; every field may be
 * missing in an incomplete run.
 */
import type { FlexibilityService } from '@lightnode/cloud';
import type { FieldTestReport, ReportSetpoint } from './types.js';

/** A report that may be cut short anywhere (an interrupted run): every field optional. */
export type LooseReport = Partial<FieldTestReport>;

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** HTML-escapes any value (text and attribute values). */
export const esc = (x: string | number | null | undefined): string =>
  String(x ?? '').replace(/[&<>"']/g, (c) => ENTITIES[c]!);

/** A number with `d` decimals ('–' when absent), minus as U+2212. */
export function num(x: number | null | undefined, d = 3): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  return x.toFixed(d).replace(/^-/, '−');
}
/** A signed delta (+12.000 / −3.000). */
export const delta = (x: number | null | undefined, d = 3): string =>
  x === null || x === undefined || !Number.isFinite(x) ? '–' : `${x > 0 ? '+' : ''}${num(x, d)}`;
export const utc = (ms: number | undefined): string =>
  ms === undefined || !Number.isFinite(ms) ? '–' : new Date(ms).toISOString().replace('.000Z', 'Z');
/** HH:MM of a UTC time ('–' when absent). */
export const hhmm = (ms: number | undefined): string =>
  ms === undefined || !Number.isFinite(ms) ? '–' : new Date(ms).toISOString().slice(11, 16);

/** A table: header cells (plain text, escaped) and rows of already-escaped cell HTML; '' without rows. */
export function table(caption: string, head: string[], rows: string[][], empty = 'none in this run'): string {
  const th = head.map((h) => `<th>${esc(h)}</th>`).join('');
  const body =
    rows.length === 0
      ? `<tr><td colspan="${head.length}" class="empty">${esc(empty)}</td></tr>`
      : rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n');
  return `<table><caption>${esc(caption)}</caption><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

const podsText = (f: FlexibilityService['flexibility'][number]): string =>
  'pom' in f ? `PoM ${f.pom}` : Array.isArray(f.pod) ? f.pod.join(', ') : String(f.pod ?? '–');

export function requestsTable(r: LooseReport): string {
  const docs = [r.dsoRequest, r.tsoRequest].filter((d): d is FlexibilityService => d !== undefined);
  const slot = r.scenario?.slot;
  const rows = (r.requests ?? []).map((q) => {
    const doc = docs.find((d) => d.playerServiceId === q.playerServiceId);
    const el = doc?.flexibility?.[0];
    const p = el?.power?.find((x) => x.index === slot) ?? el?.power?.[0];
    return [
      esc(q.playerId),
      `<code>${esc(q.playerServiceId)}</code>`,
      el ? esc(podsText(el)) : '–',
      num(p?.p),
      delta(q.needkW),
      delta(q.marketkW),
      delta(q.validatedkW),
      `<span class="st st-${esc(q.status)}">${esc(q.status)}</span>`,
    ];
  });
  return table(
    'Requests: asked level, need (level − Σ baselines), accepted by the market, after the DSO validation',
    ['player', 'playerServiceId', 'on', 'level kW', 'need kW', 'market kW', 'validated kW', 'fulfilled'],
    rows,
  );
}

export function offersTable(r: LooseReport): string {
  const rows = (r.offers ?? []).flatMap((o) =>
    (o.flexibility ?? []).flatMap((f) =>
      (f.power ?? []).map((p) => [
        esc(o.playerId),
        `<code>${esc(o.playerServiceId)}</code>`,
        esc(podsText(f)),
        esc(p.index),
        delta(p.p),
        num(p.pPrice, 2),
      ]),
    ),
  );
  return table(
    'Offers as posted (Δ from baseline)',
    ['aggregator', 'playerServiceId', 'PoD', 'slot', 'Δ kW', '€/kW'],
    rows,
  );
}

/** Market, technical and validated outcomes side by side, one row per PoD service. */
export function outcomesTable(r: LooseReport): string {
  const tech = new Map((r.technicalOutcome?.flexibility ?? []).map((f) => [f.pod, f.power ?? []]));
  const val = new Map((r.validatedOutcome?.flexibility ?? []).map((f) => [f.pod, f.power ?? []]));
  const rows = (r.marketOutcome?.flexibility ?? []).flatMap((f) =>
    (f.power ?? []).map((s) => {
      const t = tech.get(f.pod)?.find((x) => x.index === s.index);
      const v = val.get(f.pod)?.find((x) => x.index === s.index && x.playerServiceId === s.playerServiceId);
      const trimmed = t !== undefined && Math.abs(t.acceptedPValue - s.acceptedPValue) > 1e-6;
      return [
        `<b>${esc(f.pod)}</b>`,
        esc(s.index),
        esc(s.playerRequestId),
        esc(s.playerOfferId),
        num(s.acceptedPValue),
        num(s.acceptedPPrice, 2),
        t
          ? `${num(t.acceptedPValue)} ${esc(t.acceptedP)}${trimmed ? ' <span class="st st-partial">trimmed</span>' : ''}`
          : '–',
        v ? num(v.acceptedPValue) : '–',
        v ? esc(v.rejectionTypeP ?? '—') : '–',
      ];
    }),
  );
  return table(
    'Outcomes: accepted PoD levels (kW) — market clearing, DSO technical outcome, validated',
    ['PoD', 'slot', 'request', 'offer', 'market kW', '€/kW', 'technical kW', 'validated kW', 'rejection'],
    rows,
  );
}

function qosCell(s: ReportSetpoint): string {
  const q = s.qos?.message;
  if (!q) return '–';
  const asked = q.requestedEnergyWh - q.baselineEnergyWh;
  const got = q.deliveredEnergyWh - q.baselineEnergyWh;
  const pct = asked === 0 ? undefined : (got / asked) * 100;
  return `Δ ${delta(got / 1000, 3)} of ${delta(asked / 1000, 3)} kWh${pct === undefined ? '' : ` (${num(pct, 1)} %)`}`;
}

export function setpointsTable(r: LooseReport): string {
  const rows = (r.setpoints ?? []).map((s) => {
    const m = s.signed?.message;
    const acks = (s.acks ?? []).map(
      (a) =>
        `<span class="ack ack-${esc(a.message?.state)}">${esc(a.message?.state)}${
          a.message?.reason ? ` (${esc(a.message.reason)})` : ''
        }</span>`,
    );
    return [
      `<b>${esc(s.pod)}</b>`,
      `<code>${esc(s.deviceId)}</code>`,
      m ? num(m.activePowerW / 1000) : '–',
      m ? num(m.baselineW / 1000) : '–',
      m ? `${esc(m.slotIndex)} (${hhmm(m.validFromMs)}–${hhmm(m.validUntilMs)}Z)` : '–',
      acks.length > 0 ? acks.join(' → ') : '–',
      qosCell(s),
    ];
  });
  return table(
    'Setpoints signed by the DSOTP, the Light Nodes’ signed acks and QoS (delivered vs service, energy over the slot)',
    ['PoD', 'device', 'setpoint kW', 'baseline kW', 'slot (window)', 'acks', 'QoS delivered'],
    rows,
  );
}

export function settlementTable(r: LooseReport): string {
  const rows = (r.settlement ?? []).map((s) => [
    `<b>${esc(s.pod)}</b>`,
    delta(s.acceptedkW),
    delta(s.deliveredkW),
    delta(s.settledkW),
    num(s.priceEurPerkW, 2),
    num(s.amountEur, 2),
  ]);
  const total = (r.settlement ?? []).reduce((a, s) => a + (s.amountEur ?? 0), 0);
  if (rows.length > 0) rows.push(['<b>total</b>', '', '', '', '', `<b>${num(total, 2)}</b>`]);
  return table(
    'Settlement: Δ from baseline accepted, delivered (slot average), settled',
    ['PoD', 'accepted Δ kW', 'delivered Δ kW', 'settled Δ kW', '€/kW', 'amount €'],
    rows,
  );
}

export function measurementsTables(r: LooseReport): string {
  const m = r.measurements;
  const summary = m
    ? `<p class="kpi"><b>${esc(m.samples)}</b> samples signed, <b>${esc(m.anchoredSamples)}</b> anchored on chain; <b>${esc(
        m.proofsVerified,
      )}</b> of <b>${esc(m.proofsChecked)}</b> inclusion proofs verified by a separate <code>lightnode proof verify</code>.</p>`
    : '<p class="empty">No measurements in this run.</p>';
  const perPod = table(
    'Samples per PoD',
    ['PoD', 'device', 'samples', 'anchored'],
    (m?.perPod ?? []).map((p) => [
      `<b>${esc(p.pod)}</b>`,
      `<code>${esc(p.deviceId)}</code>`,
      esc(p.samples),
      esc(p.anchoredSamples),
    ]),
  );
  const anchors = table(
    'Anchor windows',
    ['window start (UTC)', 'samples', 'block', 'transaction'],
    (r.anchors ?? []).map((a) => [
      utc(a.windowStartMs),
      esc(a.samples),
      esc(a.blockNumber),
      `<code>${esc(a.txHash)}</code>`,
    ]),
  );
  return `${summary}\n${perPod}\n${anchors}`;
}

export function violationsTable(r: LooseReport): string {
  const rows = [
    ...(r.powerFlow?.baseCase?.violations ?? []).map((v) => ({ when: 'base case (baselines)', v })),
    ...(r.powerFlow?.validation?.violations ?? []).map((v) => ({ when: 'validation (market levels)', v })),
  ].map(({ when, v }) => [
    esc(when),
    `<b>${esc(v.feeder)}</b>`,
    `${esc(v.from)} → ${esc(v.to)}`,
    num(v.currentA, 2),
    num(v.limitA, 2),
  ]);
  return table(
    'Branch overloads found by the DSOTP power flow',
    ['power flow', 'feeder', 'branch', 'current A', 'limit A'],
    rows,
  );
}
