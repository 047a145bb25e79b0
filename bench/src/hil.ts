/**
 * `npm run -s bench -- hil [--json] [--scenarios a,b,…] [--short] [--speed N]`: the reliability figures of the HIL
 * library's long scenarios (`hw-test/scenarios/*.yaml`, their full variants), each run through the HIL runner on
 * real peers (Debian's Mosquitto, the simulators, `lightnode agent` processes): samples received, lost (the claim is
 * 0), max outbox depth, the drain after the last fault, the battery's fallback, the agents' peak RSS.
 *
 * The baseline in the same run is the fault itself: for a scenario with an outage, the drain time is set against the
 * outage it drains (`NAME.outageOverDrain`: how many times faster than it accumulated the backlog empties), and the
 * samples lost against the samples received. A run whose invariants fail is reported (its figures too) and makes the
 * bench exit 1. Wall time is printed for the record, never judged.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadScenario, runScenario, type HilRunResult, type Scenario } from '@lightnode/hw-test';
import { flagNumber, flagSpec, flagString, parseFlags, type ParsedFlags } from '@lightnode/protocols';
import { emit, type BenchResult } from './common.js';

const LIBRARY = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'hw-test', 'scenarios');
/** The long scenarios whose figures bench/RESULTS.md records (those present in the library). */
export const HIL_BENCH_SCENARIOS = [
  'cellular-outage-24h',
  'power-cut-storm',
  'disk-full',
  'link-latency-loss',
  'rs485-dead-and-noisy',
  'clock-step',
  'battery-silent-revert',
];

/** The outage a scenario drains: the longest broker-down / link blackhole of its timeline, simulated seconds. */
export function outageS(s: Scenario): number | null {
  let max: number | null = null;
  for (const e of s.timeline)
    if (e.do === 'broker-down' || (e.do === 'link' && e.blackhole)) max = Math.max(max ?? 0, e.forS);
  return max;
}

const USAGE = `Usage: npm run -s bench -- hil [--json] [--scenarios NAME,…] [--short] [--speed N]
  --scenarios  library scenarios to run (default: ${HIL_BENCH_SCENARIOS.join(', ')}, those present)
  --short      their short (CI) variants instead of the full ones
  --speed N    overrides each scenario's speed (simulated seconds per wall second)`;

export async function main(args: string[]): Promise<number> {
  let p: ParsedFlags;
  let speed: number | undefined;
  try {
    p = parseFlags(args, flagSpec({ string: ['scenarios', 'speed'], boolean: ['short', 'json'] }), USAGE, false);
    speed = flagNumber(p, 'speed', USAGE, 0.001, 100_000);
  } catch (e) {
    process.stderr.write(`bench hil: ${(e as Error).message}\n`);
    return 2;
  }
  const short = p.values.short === true;
  const asked = flagString(p, 'scenarios', USAGE);
  const names = (asked ?? HIL_BENCH_SCENARIOS.join(','))
    .split(',')
    .filter((n) => n && (asked !== undefined || existsSync(join(LIBRARY, `${n}.yaml`))));
  const results: BenchResult[] = [];
  const ratios: Record<string, number> = {};
  let failed = 0;
  for (const name of names) {
    const file = join(LIBRARY, `${name}.yaml`);
    const s = loadScenario(file, { short });
    process.stderr.write(
      `hil: ${name} (${short ? 'short' : 'full'}: ${s.durationS} s simulated at speed ${speed ?? s.speed})\n`,
    );
    const r: HilRunResult = await runScenario(s, {
      ...(speed !== undefined ? { speed } : {}),
      onEvent: (e) => {
        if (e.do !== 'alarm' && e.do !== 'alarm-cleared') process.stderr.write(`  [t=${e.atS}s] ${e.do} ${e.detail}\n`);
      },
    });
    for (const i of r.invariants) process.stderr.write(`  ${i.passed ? 'holds' : 'FAILED'} ${i.name}: ${i.detail}\n`);
    const f = r.figures;
    const add = (k: string, value: number | null, unit: string) => {
      if (value !== null) results.push({ name: `${name}.${k}`, value, unit });
    };
    add('samples', f.samples, 'samples');
    add('lost', f.lost, 'samples');
    add('conflicts', f.conflicts, '(deviceId, seq)');
    add('maxOutboxDepth', f.maxOutboxDepth, 'samples');
    add('drainS', f.drainS, 's');
    add('fallbackS', f.fallbackS, 's');
    add('rssMaxMB', f.rssMaxMB, 'MB');
    add('wallS', r.wallS, 's (wall)');
    const out = outageS(s);
    if (out !== null && f.drainS !== null && f.drainS > 0) ratios[`${name}.outageOverDrain`] = out / f.drainS;
    if (f.samples > 0) ratios[`${name}.lostOverReceived`] = f.lost / f.samples;
    if (!r.passed) {
      failed++;
      const why = r.broke
        ? `broke at ${r.broke.stage}: ${r.broke.message}`
        : r.invariants
            .filter((i) => !i.passed)
            .map((i) => `${i.name}: ${i.detail}`)
            .join('; ');
      process.stderr.write(`hil: ${name} FAILED — ${why}\n`);
    }
  }
  emit(
    {
      bench: 'hil',
      command: `npm run -s bench -- hil ${args.join(' ')}`.trim(),
      dataset: `HIL library ${short ? 'short' : 'full'} variants: ${names.join(', ')}${failed ? ` (${failed} failed)` : ''}`,
      results,
      ratios,
    },
    args,
  );
  return failed ? 1 : 0;
}
