/** `lightnode hil validate SCENARIO…`: parse and check scenario files (their `short` variants too), start nothing. */
import { resolve } from 'node:path';
import { LightNodeError, flagSpec, isLightNodeError, parseFlags, type Command } from '@lightnode/protocols';
import { loadScenario } from '../hil/scenario-file.js';

const USAGE = `Usage: lightnode hil validate SCENARIO… [--json]

Checks each scenario file (YAML, the schema of hw-test/scenario.schema.json, references between devices, agents
and the timeline, and the file with its short overrides applied). Prints one line per file: "ok FILE (…)" or the
HIL_SCENARIO_INVALID error naming FILE:LINE:COLUMN, the JSON path, what was expected and what was received.
--json: an array of {file, ok, name?, devices?, agents?, events?, short?, error?: {code, message, context}}.
Exit 0 when every file is valid, 1 when one is not.`;

const FLAGS = flagSpec({ boolean: ['json'] });

interface Verdict {
  file: string;
  ok: boolean;
  name?: string;
  devices?: number;
  agents?: number;
  events?: number;
  short?: boolean;
  error?: ReturnType<LightNodeError['toJSON']>;
}

const hilValidate: Command = {
  summary: 'check scenario files: YAML, schema, references (exit 1 when one is invalid)',
  usage: USAGE,
  async run(argv, io) {
    const p = parseFlags(argv, FLAGS, USAGE);
    if (!p.positionals.length) throw new LightNodeError('USAGE', `expected at least one SCENARIO file\n\n${USAGE}`);
    const verdicts: Verdict[] = p.positionals.map((file) => {
      try {
        const s = loadScenario(resolve(io.cwd, file));
        return {
          file,
          ok: true,
          name: s.name,
          devices: s.devices.length,
          agents: s.agents.length,
          events: s.timeline.length,
          short: s.short !== undefined,
        };
      } catch (e) {
        if (!isLightNodeError(e, 'HIL_SCENARIO_INVALID')) throw e;
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
            ? `ok ${v.file} (${v.name}: ${v.devices} devices, ${v.agents} agents, ${v.events} events${v.short ? ', short variant' : ''})`
            : v.error!.message,
        );
    return verdicts.every((v) => v.ok) ? 0 : 1;
  },
};
export default hilValidate;
