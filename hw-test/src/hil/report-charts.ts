/**
 * The HIL report's charts (issue 16, item 4): vega-lite specs rendered to SVG in Node by the field-test report's
 * `toSvg` (no canvas, no font fetched). Four charts on one shared time axis — the same x domain [0, end] (simulated
 * s), the same width and y-axis gutter, so they line up one above the other: power per meter, setpoint vs PoD level,
 * outbox depth per agent, link state per agent. Each carries the run's events as labelled rules. An empty series
 * still gives an SVG, with a "no data" text.
 */
import type { TopLevelSpec } from 'vega-lite';
import { CHART_CONFIG, toSvg } from '../demo/report/charts.js';
import type { HilEvent, HilRunResult } from './result.js';

const WIDTH = 940;
const HEIGHT = 200;
/** Labels closer than this on the time axis merge into one (rotated text is ~14 px thick). */
const LABEL_GAP_PX = 16;
const CONFIG = {
  ...CHART_CONFIG,
  axisY: { minExtent: 70, maxExtent: 70 },
  legend: { ...CHART_CONFIG.legend, orient: 'top' as const },
};

/** One chart of the page: its key (`data-chart`), title and SVG. */
export interface HilChart {
  key: 'power' | 'setpoint' | 'outbox' | 'link';
  title: string;
  svg: string;
  /** The chart had no data (it shows "no data"). */
  empty: boolean;
}

const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** The end of the shared time axis: the scenario's duration, or the last thing that happened if later (≥ 1 s). */
export function timeEndS(r: HilRunResult): number {
  const s = r.series;
  const ts = [
    r.durationS,
    ...r.events.map((e) => e.atS),
    ...s.power.map((p) => p.tS),
    ...s.setpoint.map((p) => p.tS),
    ...s.outbox.map((p) => p.tS),
    ...s.link.map((p) => p.tS),
  ].filter(finite);
  return Math.max(1, ...ts);
}

/** The event labels: events closer than LABEL_GAP_PX merge into one label (`kill9 a1 ×50, broker-down`). */
export function eventLabels(events: readonly HilEvent[], endS: number): { tS: number; label: string }[] {
  const gapS = (LABEL_GAP_PX * endS) / WIDTH;
  const sorted = events.filter((e) => finite(e.atS)).sort((a, b) => a.atS - b.atS);
  const clusters: { tS: number; lastS: number; counts: Map<string, number> }[] = [];
  for (const e of sorted) {
    const what = e.target ? `${e.do} ${e.target}` : e.do;
    let c = clusters.at(-1);
    if (!c || e.atS - c.lastS >= gapS) clusters.push((c = { tS: e.atS, lastS: e.atS, counts: new Map() }));
    c.lastS = e.atS;
    c.counts.set(what, (c.counts.get(what) ?? 0) + 1);
  }
  return clusters.map((c) => ({
    tS: c.tS,
    label: [...c.counts].map(([what, n]) => (n > 1 ? `${what} ×${String(n)}` : what)).join(', '),
  }));
}

type Layer = Record<string, unknown>;

function xOf(endS: number) {
  return {
    field: 'tS',
    type: 'quantitative' as const,
    title: 'simulated time (s)',
    scale: { domain: [0, endS], nice: false, zero: true },
  };
}

/** The faults: a dashed rule per event, a rotated label per cluster, hanging from the top. */
function eventLayers(events: readonly HilEvent[], endS: number): Layer[] {
  const rules = events.filter((e) => finite(e.atS)).map((e) => ({ tS: e.atS }));
  if (rules.length === 0) return [];
  const x = xOf(endS);
  return [
    {
      data: { values: rules },
      mark: { type: 'rule', color: '#c0392b', strokeDash: [4, 3], strokeWidth: 1, opacity: 0.8 },
      encoding: { x },
    },
    {
      data: { values: eventLabels(events, endS) },
      mark: {
        type: 'text',
        angle: 270,
        align: 'right',
        baseline: 'bottom',
        dx: -4,
        dy: -2,
        fontSize: 11,
        color: '#7b1d14',
      },
      encoding: { x, y: { value: 0 }, text: { field: 'label', type: 'nominal' } },
    },
  ];
}

/** "no data" in the middle; a blank y axis keeps the gutter, so the plot lines up with the charts that have data. */
function noData(endS: number, title: string): Layer {
  return {
    data: { values: [{ tS: endS / 2, y: 0.5, label: 'no data' }] },
    mark: { type: 'text', fontSize: 16, color: '#888888', fontStyle: 'italic' },
    encoding: {
      x: xOf(endS),
      y: {
        field: 'y',
        type: 'quantitative',
        title,
        scale: { domain: [0, 1] },
        axis: { labels: false, ticks: false, grid: false, domain: false },
      },
      text: { field: 'label', type: 'nominal' },
    },
  };
}

function spec(title: string, height: number, layers: Layer[]): TopLevelSpec {
  return { config: CONFIG, title, width: WIDTH, height, layer: layers } as unknown as TopLevelSpec;
}

/** A line per group (`color` field), stepped: a sampled level holds until the next sample. */
function lines(values: Record<string, unknown>[], endS: number, y: Layer, color: string, scale?: Layer): Layer {
  return {
    data: { values },
    mark: { type: 'line', strokeWidth: 2, interpolate: 'step-after', point: values.length <= 60 },
    encoding: { x: xOf(endS), y, color: { field: color, type: 'nominal', title: null, ...(scale ? { scale } : {}) } },
  };
}

/** A colour per link state: the usual names get traffic-light colours, any other one the next of a palette. */
function stateScale(states: readonly string[]): { domain: string[]; range: string[] } {
  const known: Record<string, string> = {
    connected: '#54a24b',
    online: '#54a24b',
    up: '#54a24b',
    connecting: '#f2cf5b',
    reconnecting: '#f2cf5b',
    backoff: '#f2cf5b',
    offline: '#e45756',
    disconnected: '#e45756',
    down: '#e45756',
  };
  const spare = ['#4c78a8', '#b279a2', '#9d755d', '#72b7b2', '#ff9da6', '#bab0ac'];
  let k = 0;
  return { domain: [...states], range: states.map((s) => known[s] ?? spare[k++ % spare.length]!) };
}

/** The four specs (exported for tests and for anyone who wants the vega-lite itself). */
export function hilChartSpecs(
  r: HilRunResult,
): { key: HilChart['key']; title: string; spec: TopLevelSpec; empty: boolean }[] {
  const endS = timeEndS(r);
  const ev = eventLayers(r.events, endS);
  const out: { key: HilChart['key']; title: string; spec: TopLevelSpec; empty: boolean }[] = [];
  const add = (key: HilChart['key'], title: string, height: number, yTitle: string, data: Layer[]) => {
    const empty = data.length === 0;
    out.push({ key, title, empty, spec: spec(title, height, [...(empty ? [noData(endS, yTitle)] : data), ...ev]) });
  };

  const power = r.series.power
    .filter((p) => finite(p.tS) && finite(p.w))
    .map((p) => ({ tS: p.tS, meter: p.meter, W: p.w }));
  add(
    'power',
    'Power per meter (W, import positive)',
    HEIGHT,
    'power (W)',
    power.length > 0 ? [lines(power, endS, { field: 'W', type: 'quantitative', title: 'power (W)' }, 'meter')] : [],
  );

  const setpoint = r.series.setpoint
    .filter((p) => finite(p.tS))
    .flatMap((p) => [
      { tS: p.tS, series: 'setpoint target', W: finite(p.targetW) ? p.targetW : null },
      { tS: p.tS, series: 'PoD level', W: finite(p.podW) ? p.podW : null },
    ]);
  const sp = { domain: ['setpoint target', 'PoD level'], range: ['#e45756', '#4c78a8'] };
  add(
    'setpoint',
    'Setpoint vs PoD level (W)',
    HEIGHT,
    'power (W)',
    setpoint.some((p) => p.W !== null)
      ? [lines(setpoint, endS, { field: 'W', type: 'quantitative', title: 'power (W)' }, 'series', sp)]
      : [],
  );

  const outbox = r.series.outbox.filter((p) => finite(p.tS) && finite(p.samples)).map((p) => ({ ...p }));
  add(
    'outbox',
    'Outbox depth per agent (samples waiting)',
    HEIGHT,
    'outbox (samples)',
    outbox.length > 0
      ? [lines(outbox, endS, { field: 'samples', type: 'quantitative', title: 'outbox (samples)' }, 'agent')]
      : [],
  );

  // link state: a bar per agent, each state held from its sample to the agent's next one (or the end)
  const byAgent = new Map<string, { tS: number; state: string }[]>();
  for (const p of r.series.link.filter((l) => finite(l.tS))) byAgent.set(p.agent, [...(byAgent.get(p.agent) ?? []), p]);
  const segments = [...byAgent].flatMap(([agent, ps]) =>
    ps
      .sort((a, b) => a.tS - b.tS)
      .map((p, i) => ({ agent, state: p.state, tS: p.tS, untilS: Math.max(p.tS, ps[i + 1]?.tS ?? endS) })),
  );
  const states = [...new Set(segments.map((s) => s.state))];
  const linkHeight = Math.max(80, 34 * byAgent.size);
  add(
    'link',
    'Link state per agent',
    linkHeight,
    'agent',
    segments.length > 0
      ? [
          {
            data: { values: segments },
            mark: { type: 'rect', height: { band: 0.7 } },
            encoding: {
              x: xOf(endS),
              x2: { field: 'untilS' },
              y: { field: 'agent', type: 'nominal', title: 'agent' },
              color: { field: 'state', type: 'nominal', title: null, scale: stateScale(states) },
            },
          },
        ]
      : [],
  );
  return out;
}

/** Every chart, rendered (always four: an empty series gives a "no data" chart). */
export async function renderHilCharts(r: HilRunResult): Promise<HilChart[]> {
  return Promise.all(
    hilChartSpecs(r).map(async (c) => ({ key: c.key, title: c.title, empty: c.empty, svg: await toSvg(c.spec) })),
  );
}
