/** `lightnode demo`: the main job on the embedded default (what `npm start` runs). */
import { join, resolve } from 'node:path';
import { flagInt, flagSpec, flagString, parseFlags, type Command } from '@lightnode/protocols';
import { runDemo } from '../demo/index.js';

export const DEMO_USAGE = `Usage: lightnode demo [--out DIR] [--speed N] [--proofs N] [--seed N] [--json]

Runs the Light Node loop on this machine with nothing external, stage by stage:
  1. device key   a throw-away secp256k1 device key (mode 0600)
  2. samples      60 simulated one-second readings of a 3-phase meter
  3. seal + sign  one Merkle root, one EIP-712 signature, the compact wire form
  4. verify       a receiver decodes and verifies the batch and one sample's proof; a tampered copy is refused
  5. field test   the Tor di Valle field test (Platone, June 2021) end to end, on simulated time:
                  cloud (embedded broker, anvil, SQLite SCD, BAL, DSO platform, market), one Light Node agent per
                  PoD reading a simulated battery site over Modbus TCP; PoDs and baselines, the DSO request from the
                  power flow, the TSO request, the offers, the clearing, the validation, the signed setpoints, the
                  agents' acks and QoS, anchoring on chain, settlement, and the proofs of random samples checked with
                  \`lightnode proof verify --rpc\` (a separate process)
Options:
  --out DIR     where report.json, report.html and work/ go (default out/demo; created if missing; report.* and
                work/ replaced, nothing deleted at the end)
  --speed N     simulated seconds per real second (default 60)
  --proofs N    random samples of the activation slot whose proofs the CLI checks (default 6)
  --seed N      picks those samples (default 1)
Progress on stderr, one line per step ([k/N] step: what happened). On stdout a human summary, or with --json one JSON
document: {deviceId, samples, root, wireBytes, verified, tamperRejected, fieldTest: {ok, complete, report, setpoints,
samples, anchoredSamples, proofsVerified, proofsChecked, wallS}}.
Ctrl-C stops every part, writes the report so far (complete: false) and exits 1.
Exit 0 when every check passed, 1 otherwise (--out on a file or a read-only directory: 1).`;

const yes = (v: unknown): string => (v === true ? 'yes' : 'NO');

interface FieldSummary {
  ok?: boolean;
  complete?: boolean;
  incompleteReason?: string;
  report?: string;
  setpoints?: number;
  samples?: number;
  anchoredSamples?: number;
  proofsVerified?: number;
  proofsChecked?: number;
  wallS?: number;
}

/** The exit rule: 0 only if every check passed. */
export function demoPassed(s: Record<string, unknown>): boolean {
  return (
    s.verified === true &&
    s.tamperRejected === true &&
    (s.fieldTest as FieldSummary | undefined)?.ok === true &&
    !s.error
  );
}

/** The human summary printed without --json: one line per check. */
export function demoSummaryText(s: Record<string, unknown>): string {
  const f = (s.fieldTest ?? {}) as FieldSummary;
  return [
    `Light Node demo: ${demoPassed(s) ? 'every check passed' : 'A CHECK FAILED'}`,
    `  device            ${String(s.deviceId)}`,
    `  batch             ${String(s.samples)} samples, ${String(s.wireBytes)} wire bytes, root ${String(s.root)}`,
    `  verified          ${yes(s.verified)}; tampered copy refused: ${yes(s.tamperRejected)}`,
    `  field test        ${f.complete === true ? 'complete' : `INCOMPLETE${f.incompleteReason ? ` (${f.incompleteReason})` : ''}`}, ${String(f.setpoints)} setpoints, ${String(f.anchoredSamples)}/${String(f.samples)} samples anchored, ${String(f.wallS)} s`,
    `  proofs            ${String(f.proofsVerified)}/${String(f.proofsChecked)} verified by lightnode proof verify`,
    `  report            ${String(f.report)}`,
    ...(s.error ? [`  error             ${s.error as string}`] : []),
  ].join('\n');
}

const demo: Command = {
  summary: 'run the main job on the embedded default (npm start)',
  usage: DEMO_USAGE,
  async run(argv, io) {
    const p = parseFlags(
      argv,
      flagSpec({ boolean: ['json'], string: ['out', 'speed', 'proofs', 'seed'] }),
      DEMO_USAGE,
      false,
    );
    const outDir = resolve(io.cwd, flagString(p, 'out', DEMO_USAGE) ?? join('out', 'demo'));
    const summary = await runDemo({
      say: (l) => io.stderr(l),
      outDir,
      speed: flagInt(p, 'speed', DEMO_USAGE, 1, 3600) ?? 60,
      proofs: flagInt(p, 'proofs', DEMO_USAGE, 0, 1000) ?? 6,
      seed: flagInt(p, 'seed', DEMO_USAGE, 0, 2 ** 31) ?? 1,
      signal: io.signal,
    });
    io.stdout(p.values.json === true ? JSON.stringify(summary) : demoSummaryText(summary));
    return demoPassed(summary) ? 0 : 1;
  },
};
export default demo;
