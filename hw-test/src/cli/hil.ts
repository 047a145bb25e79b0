/** `lightnode hil …`: the hardware-in-the-loop bench (scenario files and their runner). */
import type { CommandGroup } from '@lightnode/protocols';

const group: CommandGroup = {
  summary: 'hardware-in-the-loop bench: run and check scenario files (hw-test/scenarios/*.yaml)',
  subcommands: {
    run: async () => (await import('./hil-run.js')).default,
    validate: async () => (await import('./hil-validate.js')).default,
  },
};
export default group;
