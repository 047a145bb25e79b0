/** `lightnode` commands owned by @lightnode/provisioning (none yet: `commission` comes with its issue). */
import type { CommandTree } from '@lightnode/protocols';

export const commands: Record<string, () => Promise<CommandTree>> = {};
