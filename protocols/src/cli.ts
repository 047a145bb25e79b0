// @lightnode/protocols has no commands of its own (no I/O); see edge/src/cli.ts for `lightnode protocol`.
import type { CommandTree } from './command.js';
export const commands: Record<string, () => Promise<CommandTree>> = {};
