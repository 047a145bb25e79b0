/**
 * Demo stage: the whole measurement loop on the embedded default — a simulated SDM630 over Modbus TCP → the agent
 * (outbox, signed batches, uplink) → the embedded MQTT broker (aedes) → the BAL (verifies against the key registered
 * on chain, anchors a Merkle root every 4 s on anvil) → the SCD (SQLite) → a proof for a random sample, fetched with
 * `lightnode proof get` and checked with `lightnode proof verify` (the real CLI, as a separate process).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtinProfiles, parseAgentConfig, systemClock } from '@lightnode/protocols';
import { Agent, signerFromKeyFile, writeNewKeyFile } from '@lightnode/edge';
import { startCloud } from '@lightnode/cloud';
import { MeterSimulator, serveTcp } from '../sim/index.js';
import type { DemoStage } from './stages.js';

const LIGHTNODE = fileURLToPath(new URL('../../../bin/lightnode.mjs', import.meta.url));
const POD = 'IT002E61899978';

/** Runs the real CLI as a child process (asynchronously: the SCD it talks to lives in this process). */
function lightnode(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [LIGHTNODE, ...args], { encoding: 'utf8' }, (err, stdout, stderr) =>
      resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function until(cond: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return cond();
}

export const agentStage: DemoStage = {
  name: 'agent → embedded broker → BAL → anvil + SCD → proof',
  async run(ctx) {
    const cloud = await startCloud({ dir: join(ctx.workDir, 'cloud') });
    try {
      ctx.say(
        `cloud up: broker ${cloud.brokerUrl} (aedes), anvil ${cloud.book.rpcUrl} (chain ${cloud.book.chainId}), ` +
          `SCD ${cloud.scdUrl} (SQLite), BAL verifying with ${cloud.recoverImpl} secp256k1`,
      );
      ctx.say(`contracts: LightNodeKeyRegister ${cloud.book.keyRegister}, ChainProof ${cloud.book.chainProof}`);
      const sim = new MeterSimulator({
        profile: builtinProfiles().get('eastron/sdm630'),
        unit: 1,
        clock: systemClock,
        load: { pvPeakW: 4000, seed: 11 },
      });
      const meter = await serveTcp([sim]);
      const dir = join(ctx.workDir, 'agent');
      mkdirSync(dir, { recursive: true });
      const keyFile = join(dir, 'device.key');
      const { address } = writeNewKeyFile(keyFile);
      const device = signerFromKeyFile(keyFile);
      const reg = await cloud.chain.registerDevice(address, device.publicKey!);
      ctx.say(
        `device ${address}: public key registered on chain (tx ${reg.txHash.slice(0, 18)}…, block ${reg.blockNumber})`,
      );
      const r = await fetch(`${cloud.scdUrl}/pods`, {
        method: 'POST',
        headers: { authorization: `Bearer ${cloud.tokens.ACEAE}`, 'content-type': 'application/json' },
        body: JSON.stringify({ podId: POD, deviceId: address }),
      });
      ctx.say(`aggregator ACEAE registered PoD ${POD} in the SCD (HTTP ${r.status})`);
      const config = parseAgentConfig({
        podId: POD,
        stateDir: dir,
        keyFile,
        batch: { windowMs: 2000 },
        uplink: { url: cloud.brokerUrl, keepaliveS: 30 },
        chain: { chainId: cloud.book.chainId, keyRegister: cloud.book.keyRegister },
        lines: [
          {
            name: 'demo',
            transport: { tcp: { host: '127.0.0.1', port: meter.port! } },
            meters: [{ id: 'grid', profile: 'eastron/sdm630', pollMs: 200 }],
          },
        ],
      });
      const agent = new Agent(config, { clock: systemClock, notify: () => undefined });
      await agent.start();
      ctx.say('agent polling a simulated SDM630 at 5 Hz, sealing 2-s signed batches, shipping them over MQTT …');
      const bal = cloud.bal!;
      for (let s = 0; s < 4; s++) {
        await new Promise((res) => setTimeout(res, 2000));
        const c = bal.counters;
        ctx.say(
          `  BAL: ${c.batchesAccepted} batches / ${c.samplesAccepted} samples verified, ${c.windowsAnchored} windows anchored, ` +
            `${Object.values(c.rejected).reduce((a, b) => a + b, 0)} refused`,
        );
      }
      await agent.stop({ drainMs: 3000 });
      await meter.close();
      const settled = await until(async () => {
        const st = bal.status();
        const n = (await cloud.scd!.store.counts()).measurements;
        return st.ledger.pendingBatches === 0 && n === st.counters.samplesAccepted && n > 0;
      }, 15_000);
      const counts = await cloud.scd!.store.counts();
      const st = bal.status();
      ctx.say(
        `SCD holds ${counts.measurements} samples in ${counts.batches} batches; BAL anchored ${st.counters.windowsAnchored} windows` +
          `${settled ? '' : ' (still settling)'}`,
      );
      const rows = await cloud.scd!.store.measurements({ deviceId: address, limit: 100_000 });
      const pick = rows[Math.floor(Math.random() * rows.length)];
      let proofOk = false;
      if (pick) {
        const proofFile = join(ctx.workDir, `proof-${pick.seq}.json`);
        const get = await lightnode([
          'proof',
          'get',
          address,
          String(pick.seq),
          '--scd',
          cloud.scdUrl!,
          '--token',
          cloud.tokens.ACEAE!,
          '--out',
          proofFile,
        ]);
        if (get.status !== 0) throw new Error(`lightnode proof get failed: ${get.stderr}`);
        const bookFile = join(ctx.workDir, 'cloud', 'address-book.json');
        writeFileSync(bookFile, JSON.stringify(cloud.book));
        const verify = await lightnode([
          'proof',
          'verify',
          proofFile,
          '--rpc',
          cloud.book.rpcUrl,
          '--address-book',
          bookFile,
        ]);
        ctx.say(
          `random sample seq ${pick.seq}: npx lightnode proof get … && npx lightnode proof verify ${proofFile} --rpc … --address-book ${bookFile}`,
        );
        for (const line of verify.stdout.trim().split('\n')) ctx.say(`  ${line}`);
        proofOk = verify.status === 0;
      }
      ctx.summary.agent = {
        batches: st.counters.batchesAccepted,
        samples: st.counters.samplesAccepted,
        rejected: Object.keys(st.counters.rejected).length,
      };
      ctx.summary.cloud = {
        windowsAnchored: st.counters.windowsAnchored,
        scdSamples: counts.measurements,
        proofVerified: proofOk,
      };
      if (!proofOk) throw new Error('the proof of a stored sample did not verify');
    } finally {
      await cloud.stop();
    }
  },
};
