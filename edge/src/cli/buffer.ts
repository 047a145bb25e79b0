/** `lightnode buffer stats|verify --db FILE`: the store (outbox) file, inspected without the agent (read-only). */
import {
  VECTOR_CHAIN_ID,
  VECTOR_VERIFYING_CONTRACT,
  flagInt,
  flagString,
  lightNodeDomain,
  parseFlags,
  type Command,
  type CommandGroup,
} from '@lightnode/protocols';
import { domainChecks, storeFileStats, verifyStoreFile } from '../store/index.js';

const STATS_USAGE = `Usage: lightnode buffer stats --db FILE [--json]

Counts in an outbox file: samples not yet sealed, batches, gaps and messages (acks, QoS reports, reports)
undelivered and delivered, bytes, next sample seq and next message seq. A wave-1 outbox is read as the agent will
migrate it (the file is not changed). Exit 1 with the reason when FILE is not an outbox.`;

const stats: Command = {
  summary: 'outbox counts (depth, bytes, seq range)',
  usage: STATS_USAGE,
  async run(argv, io) {
    const p = parseFlags(argv, { db: { type: 'string' }, json: { type: 'boolean' } }, STATS_USAGE, false);
    const out = storeFileStats(flagString(p, 'db', STATS_USAGE, true));
    if (p.values.json) io.stdout(JSON.stringify(out));
    else for (const [k, v] of Object.entries(out)) io.stdout(`${k.padEnd(20)} ${String(v)}`);
    return 0;
  },
};

const VERIFY_USAGE = `Usage: lightnode buffer verify --db FILE [--chain-id N] [--contract 0xADDR] [--json]

Checks an outbox: SQLite integrity, every undelivered batch (decode, leaves, root, signature) and sequence
continuity across batches, declared gaps and unsealed samples; every undelivered gap's signature. Exit 0 when sound;
1 with every gap (undeclared), duplicate and bad item listed, or when FILE is not an outbox.`;

const verify: Command = {
  summary: 'integrity and sequence-continuity check of an outbox',
  usage: VERIFY_USAGE,
  async run(argv, io) {
    const p = parseFlags(
      argv,
      {
        db: { type: 'string' },
        json: { type: 'boolean' },
        'chain-id': { type: 'string' },
        contract: { type: 'string' },
      },
      VERIFY_USAGE,
      false,
    );
    const path = flagString(p, 'db', VERIFY_USAGE, true);
    const domain = lightNodeDomain(
      flagInt(p, 'chain-id', VERIFY_USAGE, 1, 2 ** 48) ?? VECTOR_CHAIN_ID,
      flagString(p, 'contract', VERIFY_USAGE) ?? VECTOR_VERIFYING_CONTRACT,
    );
    const r = verifyStoreFile(path, domainChecks(domain));
    if (p.values.json) io.stdout(JSON.stringify({ db: path, ...r }));
    else {
      io.stdout(
        `${path}: ${r.ok ? 'OK' : 'PROBLEMS'} — integrity ${r.integrity}, ${r.batches} batches, ${r.samples} unsealed samples, ${r.messages} messages, seq ${r.firstSeq ?? '—'}..${r.lastSeq ?? '—'}${r.layout === 'wave1' ? ' (wave-1 layout: migrated at the next agent start)' : ''}`,
      );
      for (const g of r.gaps)
        io.stdout(
          `  ${g.declared ? 'declared gap' : 'UNDECLARED GAP'} ${g.firstSeq}..${g.lastSeq}${g.reason ? ` (${g.reason})` : ''}`,
        );
      if (r.duplicates.length)
        io.stdout(`  DUPLICATE seqs: ${r.duplicates.slice(0, 20).join(', ')}${r.duplicates.length > 20 ? ' …' : ''}`);
      for (const b of r.badBatches) io.stdout(`  BAD ${b.id < 0 ? `sample ${-b.id}` : `item ${b.id}`}: ${b.reason}`);
    }
    return r.ok ? 0 : 1;
  },
};

const group: CommandGroup = {
  summary: 'inspect and verify the store-and-forward outbox',
  subcommands: { stats, verify },
};
export default group;
