/** `lightnode proof get|verify`: fetch a sample's proof document from the SCD, check one independently. */
import { readFileSync, writeFileSync } from 'node:fs';
import { LightNodeError, flagString, parseFlags, type Command, type CommandGroup } from '@lightnode/protocols';
import { ChainClient, rpcChainId } from '../chain/client.js';
import { verifyProof } from '../proof.js';
import { readAddressBook } from './common.js';

const GET_USAGE = `Usage: lightnode proof get DEVICE_ID SEQ --scd URL --token TOKEN [--out FILE]

Fetches GET /proof/{deviceId}/{seq} from the SCD: one JSON document from the sample to the anchor transaction.`;

const get: Command = {
  summary: "fetch a sample's proof document from the SCD",
  usage: GET_USAGE,
  async run(argv, io) {
    const p = parseFlags(
      argv,
      { scd: { type: 'string' }, token: { type: 'string' }, out: { type: 'string' } },
      GET_USAGE,
    );
    const [device, seq] = p.positionals;
    if (!device || !seq || p.positionals.length !== 2)
      throw new LightNodeError('USAGE', `expected DEVICE_ID SEQ\n\n${GET_USAGE}`);
    const base = flagString(p, 'scd', GET_USAGE, true);
    let r: Response;
    try {
      r = await fetch(`${base}/proof/${device.toLowerCase()}/${seq}`, {
        headers: { authorization: `Bearer ${flagString(p, 'token', GET_USAGE, true)}` },
        signal: AbortSignal.timeout(15_000),
      });
    } catch (e) {
      throw new LightNodeError('IO_ERROR', `SCD ${base} does not answer (${(e as Error).message})`, {});
    }
    const text = await r.text();
    if (!r.ok) {
      const err = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
      throw new LightNodeError('NOT_FOUND', `SCD answered ${r.status}: ${err?.message ?? text}`, { status: r.status });
    }
    const pretty = JSON.stringify(JSON.parse(text), null, 2) + '\n';
    const out = flagString(p, 'out', GET_USAGE);
    if (out) writeFileSync(out, pretty);
    else io.stdout(pretty.trimEnd());
    return 0;
  },
};

const VERIFY_USAGE = `Usage: lightnode proof verify FILE (--rpc URL --address-book FILE | --offline) [--json]

Checks a proof document independently: the sample's leaf and Merkle path to the batch root, the device's EIP-712
signature (low-s), the batch's leaf and path to the anchor-window root, and on chain (--rpc) the key registered for
the device and the Anchored event of the transaction, against the contracts you trust (--address-book: the
LightNodeKeyRegister and ChainProof addresses; the document's own are never trusted).

  --rpc URL --address-book FILE   check the chain too
  --offline                       the mathematics only, on purpose

Exit 0 when every check passes; 1 when one fails, when the chain was not checked (no --rpc) unless --offline, or when
--rpc is given without --address-book (contracts not pinned); 2 on a usage error.`;

/** Why the chain part was not checked, or undefined when it was (or --offline said it need not be). */
function chainRefusal(rpc: string | undefined, book: string | undefined, offline: boolean): string | undefined {
  if (offline) return undefined;
  if (!rpc) return 'chain: not checked — give --rpc URL --address-book FILE, or --offline for the mathematics alone';
  if (!book)
    return 'chain: contracts not pinned — give --address-book FILE with the key register and ChainProof you trust';
  return undefined;
}

const verify: Command = {
  summary: 'check a proof document (paths, signature, key and anchor on chain)',
  usage: VERIFY_USAGE,
  async run(argv, io) {
    const p = parseFlags(
      argv,
      {
        rpc: { type: 'string' },
        'address-book': { type: 'string' },
        offline: { type: 'boolean' },
        json: { type: 'boolean' },
      },
      VERIFY_USAGE,
    );
    const file = p.positionals[0];
    if (!file || p.positionals.length !== 1) throw new LightNodeError('USAGE', `expected one FILE\n\n${VERIFY_USAGE}`);
    const rpc = flagString(p, 'rpc', VERIFY_USAGE);
    const bookFile = flagString(p, 'address-book', VERIFY_USAGE);
    const offline = p.values.offline === true;
    if (offline && (rpc || bookFile))
      throw new LightNodeError('USAGE', `--offline excludes --rpc and --address-book\n\n${VERIFY_USAGE}`);
    if (bookFile && !rpc) throw new LightNodeError('USAGE', `--address-book needs --rpc URL\n\n${VERIFY_USAGE}`);
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new LightNodeError('INPUT_INVALID', `${file}: ${(e as Error).message}`, { file });
    }
    const refusal = chainRefusal(rpc, bookFile, offline);
    let chain: ChainClient | undefined;
    if (rpc && bookFile) {
      const book = readAddressBook(bookFile);
      const served = await rpcChainId(rpc);
      if (served !== book.chainId)
        throw new LightNodeError(
          'INPUT_INVALID',
          `--address-book ${bookFile} pins contracts on chain ${book.chainId}, the RPC serves chain ${served}`,
          { field: 'address-book' },
        );
      chain = ChainClient.connect({ ...book, rpcUrl: rpc });
    }
    try {
      const report = await verifyProof(doc, chain ? { chain } : {});
      const ok = report.ok && refusal === undefined;
      const chainState = report.chainChecked ? 'checked' : offline ? 'not checked (--offline)' : refusal!;
      if (p.values.json) io.stdout(JSON.stringify({ ...report, ok, chain: chainState }));
      else {
        for (const c of report.checks) io.stdout(`${c.ok ? '✔' : '✘'} ${c.check.padEnd(28)} ${c.detail}`);
        if (!report.chainChecked) io.stdout(offline ? 'chain: not checked (--offline)' : refusal!);
        io.stdout(
          ok
            ? `proof of ${report.deviceId}/${report.seq}: VALID${offline ? ' (mathematics only, --offline)' : ''}`
            : report.ok
              ? 'proof: NOT VERIFIED (the chain was not checked)'
              : 'proof: INVALID',
        );
      }
      return ok ? 0 : 1;
    } finally {
      chain?.close();
    }
  },
};

const group: CommandGroup = { summary: 'fetch and verify sample proofs', subcommands: { get, verify } };
export default group;
