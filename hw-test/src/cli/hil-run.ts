/** `lightnode hil run SCENARIO`: runs one scenario file through the HIL runner and judges its invariants. */
import { resolve } from 'node:path';
import {
  LightNodeError,
  flagInt,
  flagNumber,
  flagSpec,
  flagString,
  parseFlags,
  type Command,
} from '@lightnode/protocols';
import { junitXml } from '../hil/junit.js';
import { renderHilHtml } from '../hil/html.js';
import { writeAtomic } from '../demo/report/html.js';
import { loadScenario } from '../hil/scenario-file.js';
import { runScenario } from '../hil/runner.js';
import type { HilRunResult } from '../hil/result.js';

const USAGE = `Usage: lightnode hil run SCENARIO [--speed N] [--seed N] [--short] [--junit FILE] [--html FILE] [--json]

Runs the scenario file: starts its broker, simulated devices and agents, plays its timeline (simulated seconds ÷
speed), stops the agents and checks its invariants. Progress on stderr, one line per event ("[t=12.3s] kill9 a1 …").
  --speed N   simulated seconds per wall second (default the scenario's speed): the simulators and in-process
              agents on a scaledClock, process agents through LIGHTNODE_CLOCK; MQTT keepalive and TCP stay real
  --seed N    overrides the scenario's seed (fault draws)
  --short     the scenario's short variant (CI)
  --junit F   JUnit XML (a testcase per invariant, a setup error when the run broke, the events in system-out)
  --html F    one self-contained page: charts (power, setpoint vs PoD, outbox, link, faults), invariants, events
  --json      {scenario, passed, seed, speed, durationS, invariants, figures, events} on stdout
Exit 0 when every invariant holds; 1 when one fails, the run breaks (a peer that did not start is named) or the
input is invalid (HIL_SCENARIO_INVALID names FILE:LINE:COLUMN); 2 on a usage error.`;

const FLAGS = flagSpec({ string: ['speed', 'seed', 'junit', 'html'], boolean: ['short', 'json'] });

/** The `--json` projection of a run's result. */
export function runJson(r: HilRunResult): Record<string, unknown> {
  const { scenario, passed, seed, speed, durationS, invariants, figures, events } = r;
  return {
    scenario,
    passed,
    seed,
    speed,
    durationS,
    invariants,
    figures,
    events,
    ...(r.broke ? { broke: r.broke } : {}),
  };
}

const hilRun: Command = {
  summary: 'run a scenario file: peers, timeline, invariants (exit 1 when one fails or the run breaks)',
  usage: USAGE,
  async run(argv, io) {
    const p = parseFlags(argv, FLAGS, USAGE);
    if (p.positionals.length !== 1)
      throw new LightNodeError('USAGE', `expected exactly one SCENARIO file\n\n${USAGE}`, {
        received: p.positionals.length,
      });
    const speed = flagNumber(p, 'speed', USAGE, 0.001, 100_000);
    const seed = flagInt(p, 'seed', USAGE, 0, 2 ** 31);
    const s = loadScenario(resolve(io.cwd, p.positionals[0]!), { short: p.values.short === true });
    const r = await runScenario(s, {
      ...(speed !== undefined ? { speed } : {}),
      ...(seed !== undefined ? { seed } : {}),
      onEvent: (e) => io.stderr(`[t=${e.atS}s] ${e.do}${e.target ? ` ${e.target}` : ''}: ${e.detail}`),
    });
    const junit = flagString(p, 'junit', USAGE);
    const html = flagString(p, 'html', USAGE);
    if (junit) await writeAtomic(resolve(io.cwd, junit), junitXml([r]));
    if (html) await writeAtomic(resolve(io.cwd, html), await renderHilHtml(r));
    if (p.values.json === true) io.stdout(JSON.stringify(runJson(r)));
    else {
      for (const i of r.invariants) io.stdout(`${i.passed ? 'ok  ' : 'FAIL'} ${i.name}: ${i.detail}`);
      const f = r.figures;
      io.stdout(
        `${r.scenario}: ${r.passed ? 'passed' : 'FAILED'}${r.broke ? ` (broke at ${r.broke.stage}: ${r.broke.message})` : ''} — ${f.samples} samples, ${f.lost} lost, ${f.conflicts} conflicts, ${f.gaps} gaps, max outbox ${f.maxOutboxDepth}, drain ${f.drainS ?? '–'} s, RSS ${f.rssMaxMB ?? '–'} MB, ${r.wallS} s wall`,
      );
    }
    return r.passed ? 0 : 1;
  },
};
export default hilRun;
