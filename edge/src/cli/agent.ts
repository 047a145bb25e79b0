/** `lightnode agent --config FILE`: the device daemon (the composition root is edge/src/agent/main.ts). */
import { setFlagsFromString } from 'node:v8';
import { flagString, parseFlags, type Command } from '@lightnode/protocols';

const USAGE = `Usage: lightnode agent --config FILE [--log-level trace|debug|info|warn|error]

Runs the device agent: polls the configured meters, commits samples to the outbox, seals signed batches on the
configured window and ships them over MQTT; answers \`lightnode status\` on its local socket. Structured logs (JSON
lines) on stderr. Stops cleanly on SIGINT / SIGTERM. Config keys and defaults: edge/README.md.`;

const agent: Command = {
  summary: 'run the device agent (the daemon)',
  usage: USAGE,
  async run(argv, io) {
    const p = parseFlags(argv, { config: { type: 'string' }, 'log-level': { type: 'string' } }, USAGE, false);
    // The agent's heap policy, set by the command itself so that a plain `lightnode agent` gets it (no NODE_OPTIONS,
    // no wrapper process in front of systemd's main PID): a 1 MB young generation instead of V8's 16 MB semi-spaces.
    // The agent allocates little per cycle, so scavenges stay cheap; RSS drops by ≈ 15 MB (bench/RESULTS.md, uplink).
    setFlagsFromString('--max-semi-space-size=1');
    const { runAgent } = await import('../agent/main.js');
    return runAgent({
      configPath: flagString(p, 'config', USAGE, true),
      logLevel: flagString(p, 'log-level', USAGE) ?? 'info',
      io,
    });
  },
};
export default agent;
