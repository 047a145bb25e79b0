/** `lightnode` commands owned by @lightnode/edge, each loaded lazily by the dispatcher (bin/lightnode.mjs). */
import { setFlagsFromString } from 'node:v8';
import type { CommandTree } from '@lightnode/protocols';

export const commands: Record<string, () => Promise<CommandTree>> = {
  protocol: async () => (await import('./cli/protocol.js')).default,
  meter: async () => (await import('./cli/meter.js')).default,
  chain2: async () => (await import('./cli/chain2.js')).default,
  agent: async () => {
    // The agent's heap policy, set by the command itself before any of its modules load, so that a plain
    // `lightnode agent` has it (no NODE_OPTIONS, no wrapper process in front of systemd's main PID): a 1 MB young
    // generation instead of V8's 16 MB semi-spaces. Set at run time, V8 honours the cap only with the growth factor
    // pinned to 1 (the semi-space is sized at start; the factor is read at each growth). The agent allocates little
    // per cycle, so scavenges stay cheap (bench/RESULTS.md, uplink: RSS and CPU).
    setFlagsFromString('--max-semi-space-size=1');
    setFlagsFromString('--semi-space-growth-factor=1');
    return (await import('./cli/agent.js')).default;
  },
  status: async () => (await import('./cli/status.js')).default,
  buffer: async () => (await import('./cli/buffer.js')).default,
  audit: async () => (await import('./cli/audit.js')).default,
};
