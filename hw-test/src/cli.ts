/** `lightnode` commands owned by @lightnode/hw-test, each loaded lazily by the dispatcher (bin/lightnode.mjs). */
import type { CommandTree } from '@lightnode/protocols';

export const commands: Record<string, () => Promise<CommandTree>> = {
  demo: async () => (await import('./cli/demo.js')).default,
  hil: async () => (await import('./cli/hil.js')).default,
  sim: async () => (await import('./cli/sim.js')).default,
};
