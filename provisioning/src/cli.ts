/** `lightnode` commands owned by @lightnode/provisioning, each loaded lazily by the dispatcher (bin/lightnode.mjs). */
import type { CommandTree } from '@lightnode/protocols';

export const commands: Record<string, () => Promise<CommandTree>> = {
  update: async () => (await import('./cli/update.js')).default,
  image: async () => (await import('./image/command.js')).default,
  config: async () => (await import('./cli/config.js')).default,
  commission: async () => (await import('./commission/main.js')).default,
};
