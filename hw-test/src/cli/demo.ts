/** `lightnode demo`: the main job on the embedded default (what `npm start` runs). */
import { flagSpec, parseFlags, type Command } from '@lightnode/protocols';
import { runDemo } from '../demo/index.js';

export const DEMO_USAGE = `Usage: lightnode demo [--json]

Runs the Light Node loop on this machine with nothing external, stage by stage:
  1. device key   a throw-away secp256k1 device key (mode 0600)
  2. samples      60 simulated one-second readings of a 3-phase meter
  3. seal + sign  one Merkle root, one EIP-712 signature, the compact wire form
  4. verify       a receiver decodes and verifies the batch and one sample's proof; a tampered copy is refused
  5. agent        the device agent polls a simulated SDM630 over Modbus TCP and ships signed batches over MQTT
                  (embedded broker)
  6. BAL          verifies each batch against the key registered on chain, aggregates an anchor window
  7. chain        anchors the window's Merkle root on a local anvil chain
  8. SCD          stores the verified samples (SQLite)
  9. proof        \`lightnode proof get\` + \`lightnode proof verify\` check a random sample's proof end to end
Progress on stderr. On stdout a human summary, or with --json one JSON document:
{deviceId, samples, root, wireBytes, verified, tamperRejected, agent: {batches, samples, rejected},
 cloud: {windowsAnchored, scdSamples, proofVerified}}.
Exit 0 when every check passed, 1 otherwise.`;

const yes = (v: unknown): string => (v === true ? 'yes' : 'NO');

/** The human summary printed without --json: one line per check. */
export function demoSummaryText(s: Record<string, unknown>): string {
  const agent = (s.agent ?? {}) as { batches?: number; samples?: number; rejected?: number };
  const cloud = (s.cloud ?? {}) as { windowsAnchored?: number; scdSamples?: number; proofVerified?: boolean };
  return [
    `Light Node demo: ${s.verified === true && s.tamperRejected === true && cloud.proofVerified === true ? 'every check passed' : 'A CHECK FAILED'}`,
    `  device            ${String(s.deviceId)}`,
    `  batch             ${String(s.samples)} samples, ${String(s.wireBytes)} wire bytes, root ${String(s.root)}`,
    `  verified          ${yes(s.verified)}; tampered copy refused: ${yes(s.tamperRejected)}`,
    `  agent → BAL       ${String(agent.batches)} batches / ${String(agent.samples)} samples verified, ${String(agent.rejected)} refused`,
    `  chain             ${String(cloud.windowsAnchored)} windows anchored`,
    `  SCD               ${String(cloud.scdSamples)} samples stored`,
    `  proof             random sample's proof verified: ${yes(cloud.proofVerified)}`,
  ].join('\n');
}

const demo: Command = {
  summary: 'run the main job on the embedded default (npm start)',
  usage: DEMO_USAGE,
  async run(argv, io) {
    const p = parseFlags(argv, flagSpec({ boolean: ['json'] }), DEMO_USAGE, false);
    const summary = await runDemo({ say: (l) => io.stderr(l) });
    io.stdout(p.values.json === true ? JSON.stringify(summary) : demoSummaryText(summary));
    return summary.verified === true && summary.tamperRejected === true ? 0 : 1;
  },
};
export default demo;
