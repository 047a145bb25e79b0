/** `lightnode protocol verify FILE` and `lightnode protocol keygen`. */
import { readFileSync } from 'node:fs';
import {
  LightNodeError,
  VECTOR_CHAIN_ID,
  VECTOR_VERIFYING_CONTRACT,
  flagInt,
  flagSpec,
  flagString,
  isLightNodeError,
  lightNodeDomain,
  parseFlags,
  publicKeyFromPrivateKey,
  verifyDocument,
  type Command,
  type CommandGroup,
} from '@lightnode/protocols';
import { readKeyFile, writeNewKeyFile } from '../keys/index.js';

const VERIFY_USAGE = `Usage: lightnode protocol verify FILE|- [--chain-id N] [--contract 0xADDR] [--json]

Verifies a Light Node protocol JSON document: a batch ({kind:"batch", header, samples, signature} or a test-vector
file), a single-sample proof ({kind:"sample-proof", …}), or a signed setpoint / ack / gap / qos message.
Checks every leaf, the Merkle root and proofs, the EIP-712 signature (low-s) and the signer.
The EIP-712 domain comes from the document's typedData when present, else from the flags
(default chainId ${VECTOR_CHAIN_ID}, verifyingContract ${VECTOR_VERIFYING_CONTRACT}).
Exit 0 valid; 1 invalid (the reason on stderr: bad signature, wrong signer, tampered leaf, bad proof, high-s,
unknown version, schema); 2 usage error.`;

const verify: Command = {
  summary: 'verify a batch, single-sample proof, setpoint, ack or gap given as JSON',
  usage: VERIFY_USAGE,
  async run(argv, io) {
    const p = parseFlags(argv, flagSpec({ string: ['chain-id', 'contract'], boolean: ['json'] }), VERIFY_USAGE);
    const file = p.positionals[0];
    if (!file || p.positionals.length > 1)
      throw new LightNodeError('USAGE', `expected exactly one FILE (or - for stdin)\n\n${VERIFY_USAGE}`);
    const chainId = flagInt(p, 'chain-id', VERIFY_USAGE, 1, 2 ** 48) ?? VECTOR_CHAIN_ID;
    const contract = flagString(p, 'contract', VERIFY_USAGE) ?? VECTOR_VERIFYING_CONTRACT;
    if (!/^0x[0-9a-fA-F]{40}$/.test(contract))
      throw new LightNodeError('USAGE', `--contract: expected a 0x address, received ${JSON.stringify(contract)}`);
    let text: string;
    try {
      text = readFileSync(file === '-' ? 0 : file, 'utf8');
    } catch (e) {
      throw new LightNodeError(
        'IO_ERROR',
        `${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
        { file },
      );
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new LightNodeError('DECODE_ERROR', `${file}: not JSON (${(e as Error).message})`, { file });
    }
    try {
      const r = verifyDocument(doc, { domain: lightNodeDomain(chainId, contract) });
      if (p.values.json) io.stdout(JSON.stringify({ valid: true, file, ...r }));
      else
        io.stdout(
          `valid ${r.kind}: signed by ${r.signer}${'count' in r.details ? ` (${String(r.details.count)} samples, root ${String(r.details.root)})` : ''}`,
        );
      return 0;
    } catch (e) {
      if (!isLightNodeError(e) || e.code === 'USAGE') throw e;
      if (p.values.json) io.stdout(JSON.stringify({ valid: false, file, code: e.code, reason: e.message }));
      io.stderr(`invalid: ${e.message}`);
      return 1;
    }
  },
};

const KEYGEN_USAGE = `Usage: lightnode protocol keygen [--out FILE] [--force] [--json]

Generates a secp256k1 device key and writes it to FILE (default ./device.key) with mode 0600; prints the address
(the device identity) and the uncompressed public key (0x04 + 128 hex, what the key register stores). --json prints
{keyFile, address, publicKey}. The private key is never printed. Refuses to overwrite an existing file without
--force.`;

const keygen: Command = {
  summary: 'generate a device key file (mode 0600) and print its address and public key',
  usage: KEYGEN_USAGE,
  async run(argv, io) {
    const p = parseFlags(argv, flagSpec({ string: ['out'], boolean: ['force', 'json'] }), KEYGEN_USAGE, false);
    const out = flagString(p, 'out', KEYGEN_USAGE) ?? 'device.key';
    writeNewKeyFile(out, { force: p.values.force === true });
    const key = readKeyFile(out); // read back: what is printed is what the file holds
    const publicKey = `0x04${publicKeyFromPrivateKey(key.privateKey).slice(2)}`;
    io.stdout(
      p.values.json
        ? JSON.stringify({ keyFile: out, address: key.address, publicKey })
        : `address    ${key.address}\npublicKey  ${publicKey}\n(key written to ${out}, mode 0600)`,
    );
    return 0;
  },
};

const group: CommandGroup = {
  summary: 'Light Node protocol tools: verify batches, proofs, setpoints and acks; make device keys',
  subcommands: { verify, keygen },
};
export default group;
