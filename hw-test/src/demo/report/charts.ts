/**
 * The report's charts: vega-lite specs compiled to vega and rendered to SVG strings in Node (`renderer: 'none'`, no
 * canvas; text is measured by vega's estimate, so the output is the same on every machine). Times on UTC scales.
 * Each returns '' when the report has nothing to draw.
 */
import { View, parse } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { hhmm } from './tables.js';
import type { FeederLoading, PodSeries, ReportAnchor } from './types.js';

const CASES = ['base case', 'market', 'validated'] as const;
const FONT = 'Liberation Sans, Arial, Helvetica, sans-serif';
/** The reports' chart look (fonts the system has: no font is fetched), shared with the HIL report. */
export const CHART_CONFIG = {
  font: FONT,
  axis: { labelFontSize: 12, titleFontSize: 13 },
  legend: { labelFontSize: 12, titleFontSize: 12 },
  title: { fontSize: 15, anchor: 'start' as const },
  view: { stroke: null },
};

/** vega-lite's warnings (a dropped property, a merged domain) stay out of the run's stderr; errors still throw. */
const QUIET = {
  level(): number {
    return 1;
  },
  error(...m: readonly unknown[]): never {
    throw new Error(`vega-lite: ${m.map(String).join(' ')}`);
  },
  warn() {
    return QUIET;
  },
  info() {
    return QUIET;
  },
  debug() {
    return QUIET;
  },
};

/** Renders one vega-lite spec to an SVG string (vega's log level: errors only). */
export async function toSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec, { logger: QUIET }).spec), { renderer: 'none', logLevel: 1 });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** (a) Each feeder head's current in the base case, at the market's levels and validated, against its limit. */
export function loadingSpec(feeders: readonly FeederLoading[]): TopLevelSpec {
  return {
    config: CHART_CONFIG,
    title: 'Branch loading at the feeder heads, slot 50 (A per phase)',
    hconcat: feeders.map((f) => {
      const values = CASES.map((c, i) => ({
        case: c,
        A: [f.baseCaseA, f.marketA, f.validatedA][i]!,
        over: [f.baseCaseA, f.marketA, f.validatedA][i]! > f.limitA + 1e-9 ? 'over the limit' : 'within the limit',
      }));
      const max = Math.max(f.limitA, ...values.map((v) => v.A)) * 1.15;
      const y = { field: 'A', type: 'quantitative' as const, title: 'current (A)', scale: { domain: [0, max] } };
      return {
        title: `${f.feeder}, limit ${f.limitA.toFixed(2)} A (dashed)`,
        width: 460,
        height: 260,
        layer: [
          {
            data: { values },
            mark: { type: 'bar' as const, width: 90 },
            encoding: {
              x: {
                field: 'case',
                type: 'nominal' as const,
                sort: [...CASES],
                title: `power flow (branch ${String(f.from)} → ${String(f.to)})`,
                axis: { labelAngle: 0 },
              },
              y,
              color: {
                field: 'over',
                type: 'nominal' as const,
                title: null,
                legend: { orient: 'top' as const },
                scale: { domain: ['within the limit', 'over the limit'], range: ['#4c78a8', '#e45756'] },
              },
            },
          },
          {
            data: { values },
            mark: { type: 'text' as const, dy: -8, fontSize: 12 },
            encoding: {
              x: { field: 'case', type: 'nominal' as const, sort: [...CASES] },
              y,
              text: { field: 'A', type: 'quantitative' as const, format: '.2f' },
            },
          },
          {
            data: { values: [{ A: f.limitA }] },
            mark: { type: 'rule' as const, color: '#222', strokeDash: [6, 4], strokeWidth: 2 },
            encoding: { y },
          },
        ],
      };
    }),
  };
}

/** (b) One activated PoD: measured power vs setpoint vs baseline, the slot's window shaded. */
export function seriesSpec(s: PodSeries): TopLevelSpec {
  const ts = s.points.map((p) => p.tMs);
  const from = Math.min(s.fromMs, ...ts);
  const to = Math.max(s.untilMs, ...ts);
  const values = [
    ...s.points.map((p) => ({ t: p.tMs, kW: p.kW, series: 'measured' })),
    { t: from, kW: s.setpointkW, series: 'setpoint' },
    { t: to, kW: s.setpointkW, series: 'setpoint' },
    { t: from, kW: s.baselinekW, series: 'baseline' },
    { t: to, kW: s.baselinekW, series: 'baseline' },
  ];
  const all = values.map((v) => v.kW);
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  const pad = Math.max((hi - lo) * 0.2, 1);
  const x = {
    field: 't',
    type: 'temporal' as const,
    title: `time (UTC, ${new Date(s.fromMs).toISOString().slice(0, 10)})`,
    scale: { type: 'utc' as const, domain: [from, to] },
    axis: { format: '%H:%M', tickCount: 8 },
  };
  const y = {
    field: 'kW',
    type: 'quantitative' as const,
    title: 'power at the PoD (kW)',
    scale: { domain: [lo - pad, hi + pad], nice: false },
  };
  return {
    config: CHART_CONFIG,
    title: `${s.pod}: setpoint ${s.setpointkW.toFixed(3)} kW, baseline ${s.baselinekW.toFixed(3)} kW`,
    width: 940,
    height: 230,
    layer: [
      {
        data: { values: [{ a: s.fromMs, b: s.untilMs, label: `slot ${hhmm(s.fromMs)}–${hhmm(s.untilMs)}Z` }] },
        mark: { type: 'rect' as const, color: '#f2cf5b', opacity: 0.25 },
        encoding: { x: { field: 'a', type: 'temporal' as const, scale: { type: 'utc' as const } }, x2: { field: 'b' } },
      },
      {
        data: { values: [{ mid: (s.fromMs + s.untilMs) / 2, label: `slot ${hhmm(s.fromMs)}–${hhmm(s.untilMs)}Z` }] },
        mark: { type: 'text' as const, fontSize: 12, color: '#7a5c00', baseline: 'top' as const },
        encoding: {
          x: { field: 'mid', type: 'temporal' as const, scale: { type: 'utc' as const } },
          y: { value: 4 },
          text: { field: 'label', type: 'nominal' as const },
        },
      },
      {
        data: { values },
        mark: { type: 'line' as const, strokeWidth: 2, point: false, interpolate: 'step-after' as const },
        encoding: {
          x,
          y,
          color: {
            field: 'series',
            type: 'nominal' as const,
            title: null,
            scale: { domain: ['measured', 'setpoint', 'baseline'], range: ['#4c78a8', '#e45756', '#888888'] },
          },
          strokeDash: {
            field: 'series',
            type: 'nominal' as const,
            title: null,
            scale: {
              domain: ['measured', 'setpoint', 'baseline'],
              range: [
                [1, 0],
                [6, 4],
                [2, 3],
              ],
            },
          },
        },
      },
    ],
  };
}

/** (c) Samples anchored on chain per anchor window. */
export function anchorsSpec(anchors: readonly ReportAnchor[]): TopLevelSpec {
  const values = anchors.map((a) => ({ window: `${hhmm(a.windowStartMs)}Z #${a.blockNumber}`, samples: a.samples }));
  return {
    config: CHART_CONFIG,
    title: 'Samples anchored per anchor window (window start, block)',
    width: 1020,
    height: 200,
    data: { values },
    layer: [
      {
        mark: { type: 'bar' as const, color: '#54a24b' },
        encoding: {
          x: {
            field: 'window',
            type: 'ordinal' as const,
            sort: null,
            title: 'anchor window (UTC start, block number)',
            axis: { labelAngle: 0 },
          },
          y: { field: 'samples', type: 'quantitative' as const, title: 'samples anchored' },
        },
      },
      {
        mark: { type: 'text' as const, dy: -7, fontSize: 12 },
        encoding: {
          x: { field: 'window', type: 'ordinal' as const, sort: null },
          y: { field: 'samples', type: 'quantitative' as const },
          text: { field: 'samples', type: 'quantitative' as const },
        },
      },
    ],
  };
}

export interface ReportCharts {
  loading: string;
  series: { pod: string; svg: string }[];
  anchors: string;
}

/** Every chart of the report, as SVG strings ('' / [] where there is no data). */
export async function renderCharts(r: {
  powerFlow?: { feeders?: readonly FeederLoading[] };
  series?: readonly PodSeries[];
  anchors?: readonly ReportAnchor[];
}): Promise<ReportCharts> {
  const finite = (...x: unknown[]) => x.every((v) => typeof v === 'number' && Number.isFinite(v));
  const feeders = (r.powerFlow?.feeders ?? []).filter((f) => finite(f.limitA, f.baseCaseA, f.marketA, f.validatedA));
  const anchors = (r.anchors ?? []).filter((a) => finite(a.windowStartMs, a.samples, a.blockNumber));
  const series = (r.series ?? []).filter(
    (s) =>
      finite(s.fromMs, s.untilMs, s.baselinekW, s.setpointkW) &&
      Array.isArray(s.points) &&
      s.points.length > 0 &&
      s.points.every((p) => finite(p.tMs, p.kW)),
  );
  return {
    loading: feeders.length > 0 ? await toSvg(loadingSpec(feeders)) : '',
    series: await Promise.all(series.map(async (s) => ({ pod: s.pod, svg: await toSvg(seriesSpec(s)) }))),
    anchors: anchors.length > 0 ? await toSvg(anchorsSpec(anchors)) : '',
  };
}
