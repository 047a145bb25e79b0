// The field test's report: its type (report.json), the page (report.html) and the writer of both.
export type * from './types.js';
export { renderReportHtml, writeReport } from './html.js';
export { renderCharts, type ReportCharts } from './charts.js';
export { reportRequests } from './derive.js';
