/** `lightnode dsotp powerflow`: the DSO technical platform's power flow on a grid model file. */
import { resolve } from 'node:path';
import { flagSpec, flagString, parseFlags, type Command, type CommandGroup } from '@lightnode/protocols';
import { loadNetwork, powerFlowReport, solvePowerFlow, type PowerFlowReport } from '../dsotp/powerflow.js';

const POWERFLOW_USAGE = `Usage: lightnode dsotp powerflow --network FILE [--json]

Solves the power flow of a radial feeder (backward/forward sweep, constant-power loads, flat start at the slack
voltage, max |ΔV| < 1e-9 p.u., at most 100 iterations) and prints a summary: convergence, losses, the lowest
voltage and the five most loaded branches.
  --network FILE   the grid model, JSON: {baseKV, baseMVA, slackBus, slackVoltagePu?, buses: [{id, pKW, qKvar}],
                   branches: [{from, to, rOhm, xOhm, inService?, ampacityA?}]} (three-phase kW / kvar, load
                   convention; ids integers or strings)
  --json           print {converged, iterations, lossesKW, lossesKvar, minVoltagePu, minVoltageBus,
                   buses: [{id, vPu, angleDeg}], branches: [{from, to, currentA, loadingPct?}]} (buses and the
                   in-service branches in file order; loadingPct when the branch has an ampacityA)
Exit 0 converged; 1 not converged (the same document, converged false), or a bad network (NETWORK_INVALID,
NETWORK_MESHED, NETWORK_ISLANDED naming the element); 2 usage error naming the flag.`;

/** The human summary: convergence, losses, Vmin, the five most loaded branches (by loading, else current). */
export function powerFlowSummary(doc: PowerFlowReport): string {
  const load = (b: PowerFlowReport['branches'][number]) => b.loadingPct ?? b.currentA;
  const top = [...doc.branches].sort((a, b) => load(b) - load(a)).slice(0, 5);
  const w = Math.max(0, ...top.map((b) => `${b.from}–${b.to}`.length));
  return [
    doc.converged ? `converged in ${doc.iterations} iterations` : `NOT converged after ${doc.iterations} iterations`,
    `losses ${doc.lossesKW.toFixed(3)} kW, ${doc.lossesKvar.toFixed(3)} kvar`,
    `lowest voltage ${doc.minVoltagePu.toFixed(6)} p.u. at bus ${doc.minVoltageBus}`,
    'most loaded branches:',
    ...top.map(
      (b) =>
        `  ${`${b.from}–${b.to}`.padEnd(w)}  ${b.currentA.toFixed(2).padStart(9)} A` +
        (b.loadingPct !== undefined ? `  ${b.loadingPct.toFixed(1).padStart(6)} %` : ''),
    ),
  ].join('\n');
}

const powerflow: Command = {
  summary: 'power flow of a radial feeder: losses, voltages, branch currents',
  usage: POWERFLOW_USAGE,
  async run(argv, io) {
    const p = parseFlags(argv, flagSpec({ string: ['network'], boolean: ['json'] }), POWERFLOW_USAGE, false);
    const file = flagString(p, 'network', POWERFLOW_USAGE, true);
    const net = loadNetwork(resolve(io.cwd, file));
    const doc = powerFlowReport(net, solvePowerFlow(net));
    io.stdout(p.values.json ? JSON.stringify(doc) : powerFlowSummary(doc));
    return doc.converged ? 0 : 1;
  },
};

const group: CommandGroup = {
  summary: 'DSO technical platform: power flow on a grid model',
  subcommands: { powerflow },
};
export default group;
