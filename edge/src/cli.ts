/** `lightnode` commands owned by @lightnode/edge, each loaded lazily by the dispatcher (bin/lightnode.mjs). */
import type { CommandTree } from '@lightnode/protocols';

export const commands: Record<string, () => Promise<CommandTree>> = {
  protocol: async () => (await import('./cli/protocol.js')).default,
  meter: async () => (await import('./cli/meter.js')).default,
  chain2: async () => (await import('./cli/chain2.js')).default,
  agent: async () => (await import('./cli/agent.js')).default,
  status: async () => (await import('./cli/status.js')).default,
  buffer: async () => (await import('./cli/buffer.js')).default,
};
