/**
 * One Light Node per PoD, in process on the run's scaled clock: its own key (registered on chain by the caller), its
 * own state dir, its PoD meter and battery over Modbus TCP from a `startEssSim` site whose house load is the PoD's
 * baseline at the activation slot and whose battery is sized from the PoD's flexibility up and down (MV sizes: kW
 * to MW). Setpoints are accepted from the DSOTP only.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger, parseAgentConfig, type Clock } from '@lightnode/protocols';
import { Agent, signerFromKeyFile, writeNewKeyFile } from '@lightnode/edge';
import { startEssSim, type RunningEssSim } from '../../sim/ess/index.js';
import type { FieldPod } from './scenario.js';

/**
 * Meter poll, battery poll and batch window in simulated ms (at speed 60: 4 meter reads/s, one battery read/s and one
 * batch/s of real time per Light Node). The adapter's timeouts run on the scaled clock too: readback gets the schema's
 * maximum (10 min simulated = 10 s real at speed 60) so a loaded machine does not fail the battery.
 */
export const POLL_MS = 15_000;
export const ESS_POLL_MS = 60_000;
export const BATCH_MS = 60_000;

export interface PodKey {
  pod: string;
  dir: string;
  keyFile: string;
  deviceId: string;
  publicKey: string;
}

export function podKey(workDir: string, pod: string): PodKey {
  const dir = join(workDir, 'agents', pod);
  mkdirSync(dir, { recursive: true });
  const keyFile = join(dir, 'device.key');
  const { address } = writeNewKeyFile(keyFile);
  return { pod, dir, keyFile, deviceId: address, publicKey: signerFromKeyFile(keyFile).publicKey! };
}

export interface PodNode {
  key: PodKey;
  sim: RunningEssSim;
  agent: Agent;
  maxDischargeW: number;
  maxChargeW: number;
}

/** A battery of at least 10 kW (a PoD without offers still has one), two hours of capacity at full power. */
export function batterySize(p: FieldPod): { maxDischargeW: number; maxChargeW: number; capacityWh: number } {
  const maxDischargeW = Math.round(Math.max(10, p.maxDownkW) * 1000);
  const maxChargeW = Math.round(Math.max(10, p.maxUpkW) * 1000);
  return { maxDischargeW, maxChargeW, capacityWh: 2 * Math.max(maxDischargeW, maxChargeW) };
}

export async function startPodNode(o: {
  key: PodKey;
  pod: FieldPod;
  slot: number;
  clock: Clock;
  brokerUrl: string;
  chain: { chainId: number; keyRegister: string };
  issuer: string;
}): Promise<PodNode> {
  const size = batterySize(o.pod);
  const sim = await startEssSim({
    interface: { kind: 'sunspec' },
    clock: o.clock,
    loadW: o.pod.baselinesW[o.slot]!,
    battery: { ...size, ratedVA: Math.max(size.maxDischargeW, size.maxChargeW), autonomous: 'idle' },
  });
  try {
    const tolerance = Math.max(150, Math.round(0.01 * Math.max(size.maxDischargeW, size.maxChargeW)));
    const config = parseAgentConfig({
      podId: o.pod.pod,
      stateDir: o.key.dir,
      keyFile: o.key.keyFile,
      batch: { windowMs: BATCH_MS },
      uplink: { url: o.brokerUrl, keepaliveS: 30 },
      chain: o.chain,
      // two connections to the site's server: the PoD meter's readings are not queued behind the battery's
      // SunSpec reads (a reading is stamped when it starts; its energy counters feed the QoS report)
      lines: [
        {
          name: 'pod',
          transport: { tcp: { host: '127.0.0.1', port: sim.port! } },
          meters: [
            {
              id: 'pod',
              profile: 'eastron/sdm630',
              unit: sim.meter?.unit ?? 2,
              role: 'pod',
              pollMs: POLL_MS,
              slowEvery: 1,
            },
          ],
        },
        { name: 'site', transport: { tcp: { host: '127.0.0.1', port: sim.port! } }, meters: [] },
      ],
      setpoints: {
        issuers: [o.issuer],
        revertS: 600,
        refreshMs: 60_000,
        readbackTimeoutMs: 600_000,
        readbackToleranceW: tolerance,
      },
      assets: [
        {
          id: 'battery',
          kind: 'ess',
          pollMs: ESS_POLL_MS,
          adapter: { sunspec: { line: 'site', unit: 1 } },
          limits: {
            ...size,
            socMinPermille: 100,
            socMaxPermille: 950,
            rampWps: 10 * Math.max(size.maxDischargeW, size.maxChargeW),
          },
        },
      ],
    });
    // the agent's log (JSON lines, simulated time) stays in its state dir under work/
    const logFile = join(o.key.dir, 'agent.log');
    const logger = createLogger({
      level: 'info',
      now: () => o.clock.now(),
      sink: (l) => appendFileSync(logFile, l + '\n'),
    });
    const agent = new Agent(config, { clock: o.clock, logger });
    await agent.start();
    return { key: o.key, sim, agent, ...size };
  } catch (e) {
    await sim.stop();
    throw e;
  }
}

export async function stopPodNode(n: PodNode): Promise<void> {
  await n.agent.stop({ drainMs: 300_000 }).catch(() => undefined);
  await n.sim.stop();
}
