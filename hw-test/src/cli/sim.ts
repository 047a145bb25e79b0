/** `lightnode sim …`: simulators (Modbus meters; Chain 2 gateways come with their issue). */
import type { CommandGroup } from '@lightnode/protocols';

const group: CommandGroup = {
  summary: 'simulators for the bench: Modbus meters over TCP or RTU',
  subcommands: {
    meter: async () => (await import('./sim-meter.js')).default,
  },
};
export default group;
