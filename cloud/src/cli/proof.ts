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

const VERIFY_USAGE = `Usage: lightnode proof verify FILE [--rpc URL] [--address-book FILE] [--json]

Checks a proof document independently: the sample's leaf and Merkle path to the batch root, the device's EIP-712
signature (low-s), the batch's leaf and path to the anchor-window root, and with --rpc the key registered for the
device and the Anchored event of the transaction on chain. Pin the contracts you trust with --address-book
(otherwise those the document names are used, and the output says so). Exit 0 when every check passes, 1 otherwise.`;

const verify: Command = {
  summary: 'check a proof document (paths, signature, key and anchor on chain)',
  usage: VERIFY_USAGE,
  async run(argv, io) {
    const p = parseFlags(
      argv,
      { rpc: { type: 'string' }, 'address-book': { type: 'string' }, json: { type: 'boolean' } },
      VERIFY_USAGE,
    );
    const file = p.positionals[0];
    if (!file || p.positionals.length !== 1) throw new LightNodeError('USAGE', `expected one FILE\n\n${VERIFY_USAGE}`);
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new LightNodeError('INPUT_INVALID', `${file}: ${(e as Error).message}`, { file });
    }
    const rpc = flagString(p, 'rpc', VERIFY_USAGE);
    const bookFile = flagString(p, 'address-book', VERIFY_USAGE);
    let chain: ChainClient | undefined;
    let pinned = true;
    if (rpc) {
      const book = bookFile ? readAddressBook(bookFile) : undefined;
      const a = (doc as { anchor?: { contract?: string; keyRegister?: string } }).anchor;
      pinned = !!book;
      chain = ChainClient.connect({
        chainId: await rpcChainId(rpc),
        rpcUrl: rpc,
        keyRegister: book?.keyRegister ?? a?.keyRegister ?? '0x0000000000000000000000000000000000000000',
        chainProof: book?.chainProof ?? a?.contract ?? '0x0000000000000000000000000000000000000000',
        deployer: '',
        deployedBlock: 0,
      });
    }
    try {
      const report = await verifyProof(doc, chain ? { chain } : {});
      if (p.values.json) io.stdout(JSON.stringify({ ...report, contractsPinned: pinned }));
      else {
        for (const c of report.checks) io.stdout(`${c.ok ? '✔' : '✘'} ${c.check.padEnd(28)} ${c.detail}`);
        if (chain && !pinned) io.stdout('  (contracts taken from the document: pin them with --address-book)');
        io.stdout(report.ok ? `proof of ${report.deviceId}/${report.seq}: VALID` : 'proof: INVALID');
      }
      return report.ok ? 0 : 1;
    } finally {
      chain?.close();
    }
  },
};

const group: CommandGroup = { summary: 'fetch and verify sample proofs', subcommands: { get, verify } };
export default group;
