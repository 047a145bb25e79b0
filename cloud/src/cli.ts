/** `lightnode` commands owned by @lightnode/cloud, each loaded lazily by the dispatcher (bin/lightnode.mjs). */
import type { CommandTree } from '@lightnode/protocols';

export const commands: Record<string, () => Promise<CommandTree>> = {
  cloud: async () => (await import('./cli/cloud.js')).default,
  proof: async () => (await import('./cli/proof.js')).default,
  setpoint: async () => (await import('./cli/setpoint.js')).default,
  dsotp: async () => (await import('./cli/dsotp.js')).default,
};
