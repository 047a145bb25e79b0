/** `lightnode hil validate SCENARIO…`: parse and check scenario files (their `short` variants too), start nothing. */
import { resolve } from 'node:path';
import { LightNodeError, flagSpec, flagString, isLightNodeError, parseFlags, type Command } from '@lightnode/protocols';
import { parseRealPorts, realPortsText } from '../hil/real-ports.js';
import { checkRealPorts } from '../hil/real-devices.js';
import { loadScenario } from '../hil/scenario-file.js';

const USAGE = `Usage: lightnode hil validate SCENARIO… [--real-ports MAP] [--json]

Checks each scenario file (YAML, the schema of hw-test/scenario.schema.json, references between devices, agents
and the timeline, and the file with its short overrides applied). Prints one line per file: "ok FILE (…)" or the
HIL_SCENARIO_INVALID error naming FILE:LINE:COLUMN, the JSON path, what was expected and what was received.
--real-ports MAP: also check the port map \`lightnode hil run\` would get (JSON {"m1": "/dev/ttyUSB0", "e1":
"ess.lan:502"}, inline or @FILE) against each file: every key a declared device, a serial path that exists for an
RS-485 device, HOST[:PORT] for a TCP one, a mapped ess SunSpec or profile (Modbus TCP) with its maxDischargeW,
maxChargeW and capacityWh given (HIL_REAL_PORTS_INVALID), and no simulator fault on a mapped device — its
own faults, device-fault, gateway-reboot or load (HIL_FAULT_NEEDS_SIMULATOR).
--json: an array of {file, ok, name?, devices?, agents?, events?, short?, realPorts?, error?: {code, message,
context}}.
Exit 0 when every file is valid, 1 when one is not.`;

const FLAGS = flagSpec({ string: ['real-ports'], boolean: ['json'] });
const CODES = ['HIL_SCENARIO_INVALID', 'HIL_REAL_PORTS_INVALID', 'HIL_FAULT_NEEDS_SIMULATOR'] as const;

interface Verdict {
  file: string;
  ok: boolean;
  name?: string;
  devices?: number;
  agents?: number;
  events?: number;
  short?: boolean;
  /** Devices mapped to real ports (with --real-ports). */
  realPorts?: number;
  error?: ReturnType<LightNodeError['toJSON']>;
}

const hilValidate: Command = {
  summary: 'check scenario files: YAML, schema, references (exit 1 when one is invalid)',
  usage: USAGE,
  async run(argv, io) {
    const p = parseFlags(argv, FLAGS, USAGE);
    if (!p.positionals.length) throw new LightNodeError('USAGE', `expected at least one SCENARIO file\n\n${USAGE}`);
    const portsArg = flagString(p, 'real-ports', USAGE);
    const portsText = portsArg === undefined ? undefined : realPortsText(portsArg, io.cwd);
    const source = portsArg?.startsWith('@') ? `--real-ports ${portsArg}` : '--real-ports';
    const verdicts: Verdict[] = p.positionals.map((file) => {
      try {
        const path = resolve(io.cwd, file);
        const s = loadScenario(path);
        let mapped: number | undefined;
        if (portsText !== undefined) {
          const ports = parseRealPorts(portsText, s, { source });
          checkRealPorts(s, ports);
          if (s.short) checkRealPorts(loadScenario(path, { short: true }), ports, { variant: 'short' });
          mapped = ports.size;
        }
        return {
          file,
          ok: true,
          name: s.name,
          devices: s.devices.length,
          agents: s.agents.length,
          events: s.timeline.length,
          short: s.short !== undefined,
          ...(mapped === undefined ? {} : { realPorts: mapped }),
        };
      } catch (e) {
        if (!isLightNodeError(e) || !(CODES as readonly string[]).includes(e.code)) throw e;
        if (e.code !== 'HIL_SCENARIO_INVALID') return { file, ok: false, error: e.toJSON() };
        // name the file as it was given, not as resolved
        const at = String(e.context.file);
        const message = e.message.replace(at, file);
        return { file, ok: false, error: { ...e.toJSON(), message, context: { ...e.context, file } } };
      }
    });
    if (p.values.json === true) io.stdout(JSON.stringify(verdicts));
    else
      for (const v of verdicts)
        io.stdout(
          v.ok
            ? `ok ${v.file} (${v.name}: ${v.devices} devices, ${v.agents} agents, ${v.events} events${v.short ? ', short variant' : ''}${v.realPorts === undefined ? '' : `, ${v.realPorts} on real ports`})`
            : v.error!.code === 'HIL_SCENARIO_INVALID'
              ? v.error!.message
              : `${v.file}: ${v.error!.message}`,
        );
    return verdicts.every((v) => v.ok) ? 0 : 1;
  },
};
export default hilValidate;
