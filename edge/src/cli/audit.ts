/** `lightnode audit verify FILE`: checks a setpoint audit log (`<stateDir>/audit.jsonl`) without the agent. */
import {
  LightNodeError,
  flagSpec,
  isLightNodeError,
  parseFlags,
  type Command,
  type CommandGroup,
} from '@lightnode/protocols';
import { verifyAuditFile } from '../setpoints/audit.js';

const VERIFY_USAGE = `Usage: lightnode audit verify FILE [--json]

Checks a setpoint audit log (the agent's <stateDir>/audit.jsonl): every line is an entry {i, atMs, event, …, prev,
hash}, i runs 0, 1, 2 …, each prev is the previous entry's hash (the first: 32 zero bytes) and each hash is
keccak256 of the entry's canonical JSON without hash. Exit 0 with {entries, lastHash} (and tornTailBytes when the
file ends in a write cut short, which the agent truncates at its next start); exit 1 with AUDIT_CHAIN_BROKEN naming
the index of the first modified, inserted, removed or reordered entry; exit 1 when FILE is missing. Read-only.`;

const verify: Command = {
  summary: 'check the hash chain of a setpoint audit log (audit.jsonl)',
  usage: VERIFY_USAGE,
  async run(argv, io) {
    const p = parseFlags(argv, flagSpec({ boolean: ['json'] }), VERIFY_USAGE);
    const file = p.positionals[0];
    if (!file || p.positionals.length > 1)
      throw new LightNodeError('USAGE', `expected exactly one FILE\n\n${VERIFY_USAGE}`);
    try {
      const r = verifyAuditFile(file);
      if (p.values.json) io.stdout(JSON.stringify({ ok: true, file, ...r }));
      else
        io.stdout(
          `${file}: OK — ${r.entries} entries, last hash ${r.lastHash}${r.tornTailBytes ? ` (${r.tornTailBytes} bytes of a torn last line after them)` : ''}`,
        );
      return 0;
    } catch (e) {
      if (!isLightNodeError(e, 'AUDIT_CHAIN_BROKEN') || !p.values.json) throw e;
      io.stdout(JSON.stringify({ ok: false, file, code: e.code, index: e.context.index, reason: e.context.reason }));
      io.stderr(`lightnode audit verify: ${e.message}`);
      return 1;
    }
  },
};

const group: CommandGroup = {
  summary: 'verify the setpoint audit log',
  subcommands: { verify },
};
export default group;
