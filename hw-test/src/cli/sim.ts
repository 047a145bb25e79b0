/** `lightnode sim …`: simulators (Modbus meters; Chain 2 gateways come with their issue). */
import type { CommandGroup } from '@lightnode/protocols';

const group: CommandGroup = {
  summary: 'simulators for the bench: Modbus meters over TCP or RTU, Chain 2 gateways, batteries (ESS)',
  subcommands: {
    meter: async () => (await import('./sim-meter.js')).default,
    chain2: async () => (await import('./sim-chain2.js')).default,
    ess: async () => (await import('./sim-ess.js')).default,
  },
};
export default group;
