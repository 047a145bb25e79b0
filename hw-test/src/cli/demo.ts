/** `lightnode demo`: the main job on the embedded default (what `npm start` runs). */
import { parseFlags, type Command } from '@lightnode/protocols';
import { runDemo } from '../demo/index.js';

const USAGE = `Usage: lightnode demo [--json]

Runs the Light Node loop on this machine with nothing external: a throw-away device key, simulated meter readings,
a signed batch in its compact wire form, verification by a receiver (and a tampered copy refused).
Progress on stderr; a JSON summary on stdout.`;

const demo: Command = {
  summary: 'run the main job on the embedded default (npm start)',
  usage: USAGE,
  async run(argv, io) {
    parseFlags(argv, { json: { type: 'boolean' } }, USAGE, false);
    const summary = await runDemo({ say: (l) => io.stderr(l) });
    io.stdout(JSON.stringify(summary));
    return summary.verified === true && summary.tamperRejected === true ? 0 : 1;
  },
};
export default demo;
