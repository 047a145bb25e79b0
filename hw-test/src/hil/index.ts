// The hardware-in-the-loop bench: scenario files (the runner, injectors and harness come with issue 16's other parts).
export * from './scenario.js';
export * from './scenario-file.js';
export type * from './result.js';
export { junitXml, eventLine, suiteCounts } from './junit.js';
export { renderHilHtml } from './html.js';
export { renderHilCharts, hilChartSpecs, type HilChart } from './report-charts.js';
