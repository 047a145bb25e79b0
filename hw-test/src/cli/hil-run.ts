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
import { parseRealPorts, realPortsText } from '../hil/real-ports.js';
import { checkRealPorts } from '../hil/real-devices.js';
import type { HilRunResult } from '../hil/result.js';

const USAGE = `Usage: lightnode hil run SCENARIO [--real-ports MAP] [--speed N] [--seed N] [--short] [--junit FILE]
                        [--html FILE] [--json]

Runs the scenario file: starts its broker, simulated devices and agents, plays its timeline (simulated seconds ÷
speed), stops the agents and checks its invariants. Progress on stderr, one line per event ("[t=12.3s] kill9 a1 …").
  --real-ports MAP  devices that are real, not simulated: JSON {"m1": "/dev/ttyUSB0", "e1": "ess.lan:502"} or
              @FILE — meters (RS-485 at the profile's baud and parity, or Modbus TCP), Chain 2 gateways, and SunSpec
              or profile batteries over Modbus TCP (their maxDischargeW, maxChargeW, capacityWh required). Link,
              kill, clock and disk faults and setpoints still apply; a simulator fault on a mapped device is
              refused (HIL_FAULT_NEEDS_SIMULATOR)
  --speed N   simulated seconds per wall second (default the scenario's speed): the simulators and in-process
              agents on a scaledClock, process agents through LIGHTNODE_CLOCK; MQTT keepalive and TCP stay real
  --seed N    overrides the scenario's seed (fault draws)
  --short     the scenario's short variant (CI)
  --junit F   JUnit XML (a testcase per invariant, a setup error when the run broke, the events in system-out)
  --html F    one self-contained page: charts (power, setpoint vs PoD, outbox, link, faults), invariants, events
  --json      {scenario, passed, seed, speed, durationS, invariants, figures, events} on stdout
Exit 0 when every invariant holds; 1 when one fails, the run breaks (a peer that did not start is named) or the
input is invalid (HIL_SCENARIO_INVALID names FILE:LINE:COLUMN, HIL_REAL_PORTS_INVALID the map's key: nothing
started); 2 on a usage error.`;

const FLAGS = flagSpec({ string: ['speed', 'seed', 'junit', 'html', 'real-ports'], boolean: ['short', 'json'] });

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
    const short = p.values.short === true;
    const s = loadScenario(resolve(io.cwd, p.positionals[0]!), { short });
    const portsArg = flagString(p, 'real-ports', USAGE);
    const realPorts =
      portsArg === undefined
        ? undefined
        : parseRealPorts(realPortsText(portsArg, io.cwd), s, {
            source: portsArg.startsWith('@') ? `--real-ports ${portsArg}` : '--real-ports',
          });
    if (realPorts) checkRealPorts(s, realPorts, short ? { variant: 'short' } : {});
    const r = await runScenario(s, {
      ...(realPorts ? { realPorts } : {}),
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
