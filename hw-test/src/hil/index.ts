// The hardware-in-the-loop bench: scenario files, the harness (process agent, independent subscriber, CLI and
// polling helpers), the link proxy, the disk-full injector, the runner and its result, the JUnit and HTML reports.
export * from './scenario.js';
export * from './scenario-file.js';
export * from './real-ports.js';
export {
  agentDir,
  agentStatus,
  bufferNextSeq,
  cli,
  startAgent,
  Subscriber,
  waitFor,
  waitUntil,
  type AgentProcess,
} from './harness.js';
export * from './link-count.js';
export * from './link-proxy.js';
export {
  startAgentOnTmpfs,
  Tmpfs,
  type AgentOnTmpfs,
  type AgentOnTmpfsOptions,
  type TmpfsOptions,
  type TmpfsUsage,
} from './disk.js';
export type * from './result.js';
export { runScenario, type RunOptions } from './runner.js';
export { junitXml, eventLine, suiteCounts } from './junit.js';
export { renderHilHtml } from './html.js';
export { renderHilCharts, hilChartSpecs, type HilChart } from './report-charts.js';
