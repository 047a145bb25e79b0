/**
 * The benchmark convention (set by the protocol issue): every bench prints its figures for people on stderr, and
 * with `--json` exactly one JSON document on stdout:
 * `{bench, command, dataset, results: [{name, value, unit}], ratios: {NAME: value}}`.
 * Benchmarks compare against a baseline in the same run and never fail on wall-clock time.
 */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
}
export interface BenchReport {
  bench: string;
  command: string;
  dataset: string;
  results: BenchResult[];
  ratios: Record<string, number>;
}

export function wantsJson(args: string[]): boolean {
  return args.includes('--json');
}

/** Prints a report: a table on stderr always; the JSON document on stdout with --json (else the table on stdout). */
export function emit(report: BenchReport, args: string[]): void {
  const w = Math.max(...report.results.map((r) => r.name.length), ...Object.keys(report.ratios).map((k) => k.length));
  const lines = [
    `${report.bench}: ${report.dataset}`,
    `command: ${report.command}`,
    ...report.results.map((r) => `  ${r.name.padEnd(w)}  ${fmt(r.value)} ${r.unit}`),
    ...Object.entries(report.ratios).map(([k, v]) => `  ${k.padEnd(w)}  ${fmt(v)} (ratio)`),
  ];
  if (wantsJson(args)) {
    process.stderr.write(lines.join('\n') + '\n');
    process.stdout.write(JSON.stringify(report) + '\n');
  } else process.stdout.write(lines.join('\n') + '\n');
}

function fmt(v: number): string {
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  return Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(4);
}

/** Times `fn` repeatedly for at least `minMs`; returns operations per second. */
export function opsPerSecond(fn: () => void, minMs = 1000, batch = 1): number {
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < minMs) {
    fn();
    n += batch;
    t = performance.now();
  }
  return (n * 1000) / (t - t0);
}
