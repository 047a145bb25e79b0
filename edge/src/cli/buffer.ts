/** `lightnode buffer stats|verify --db FILE`: the outbox, inspected without the agent. */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import {
  LightNodeError,
  VECTOR_CHAIN_ID,
  VECTOR_VERIFYING_CONTRACT,
  flagInt,
  flagString,
  lightNodeDomain,
  parseFlags,
  verifyBatch,
  type Command,
  type CommandGroup,
} from '@lightnode/protocols';
import { verifyOutboxFile } from '../outbox/index.js';

const STATS_USAGE = `Usage: lightnode buffer stats --db FILE [--json]

Counts in an outbox file: samples not yet sealed, batches and gaps undelivered and delivered, bytes, next seq.`;

const stats: Command = {
  summary: 'outbox counts (depth, bytes, seq range)',
  usage: STATS_USAGE,
  async run(argv, io) {
    const p = parseFlags(argv, { db: { type: 'string' }, json: { type: 'boolean' } }, STATS_USAGE, false);
    const path = flagString(p, 'db', STATS_USAGE, true);
    if (!existsSync(path)) throw new LightNodeError('NOT_FOUND', `outbox ${path} does not exist`, { path });
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      const one = <T>(sql: string): T => db.prepare(sql).get() as T;
      const out = {
        db: path,
        unsealedSamples: one<{ n: number }>('SELECT COUNT(*) n FROM samples').n,
        undeliveredBatches: one<{ n: number }>('SELECT COUNT(*) n FROM batches WHERE delivered = 0').n,
        undeliveredSamples: one<{ n: number | null }>('SELECT SUM(count) n FROM batches WHERE delivered = 0').n ?? 0,
        deliveredBatches: one<{ n: number }>('SELECT COUNT(*) n FROM batches WHERE delivered = 1').n,
        deliveredSamples: one<{ n: number | null }>('SELECT SUM(count) n FROM batches WHERE delivered = 1').n ?? 0,
        gaps: one<{ n: number }>('SELECT COUNT(*) n FROM gaps').n,
        undeliveredBytes:
          one<{ n: number }>('SELECT COALESCE(SUM(LENGTH(wire)),0) n FROM batches WHERE delivered = 0').n +
          one<{ n: number }>('SELECT COALESCE(SUM(LENGTH(bytes)),0) n FROM samples').n,
        nextSeq: Number(
          (db.prepare("SELECT value FROM meta WHERE key = 'nextSeq'").get() as { value: string } | undefined)?.value ??
            0,
        ),
        deviceId:
          (db.prepare("SELECT value FROM meta WHERE key = 'deviceId'").get() as { value: string } | undefined)?.value ??
          null,
        journalMode: db.pragma('journal_mode', { simple: true }) as string,
      };
      if (p.values.json) io.stdout(JSON.stringify(out));
      else for (const [k, v] of Object.entries(out)) io.stdout(`${k.padEnd(20)} ${String(v)}`);
      return 0;
    } finally {
      db.close();
    }
  },
};

const VERIFY_USAGE = `Usage: lightnode buffer verify --db FILE [--chain-id N] [--contract 0xADDR] [--json]

Checks an outbox: SQLite integrity, every undelivered batch (decode, leaves, root, signature) and sequence
continuity across batches, declared gaps and unsealed samples. Exit 0 when sound; 1 with every gap (undeclared),
duplicate and bad batch listed.`;

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
    const r = verifyOutboxFile(path, domain, (b) => void verifyBatch(b, domain));
    if (p.values.json) io.stdout(JSON.stringify({ db: path, ...r }));
    else {
      io.stdout(
        `${path}: ${r.ok ? 'OK' : 'PROBLEMS'} — integrity ${r.integrity}, ${r.batches} batches, ${r.samples} unsealed samples, seq ${r.firstSeq ?? '—'}..${r.lastSeq ?? '—'}`,
      );
      for (const g of r.gaps)
        io.stdout(
          `  ${g.declared ? 'declared gap' : 'UNDECLARED GAP'} ${g.firstSeq}..${g.lastSeq}${g.reason ? ` (${g.reason})` : ''}`,
        );
      if (r.duplicates.length)
        io.stdout(`  DUPLICATE seqs: ${r.duplicates.slice(0, 20).join(', ')}${r.duplicates.length > 20 ? ' …' : ''}`);
      for (const b of r.badBatches) io.stdout(`  BAD ${b.id < 0 ? `sample ${-b.id}` : `batch ${b.id}`}: ${b.reason}`);
    }
    return r.ok ? 0 : 1;
  },
};

const group: CommandGroup = {
  summary: 'inspect and verify the store-and-forward outbox',
  subcommands: { stats, verify },
};
export default group;
