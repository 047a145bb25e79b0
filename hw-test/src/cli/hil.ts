/** `lightnode hil …`: the hardware-in-the-loop bench (scenario files; the runner comes with issue 16's other parts). */
import type { CommandGroup } from '@lightnode/protocols';

const group: CommandGroup = {
  summary: 'hardware-in-the-loop bench: check scenario files (hw-test/scenarios/*.yaml)',
  subcommands: {
    validate: async () => (await import('./hil-validate.js')).default,
  },
};
export default group;
