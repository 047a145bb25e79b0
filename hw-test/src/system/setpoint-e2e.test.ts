/**
 * Setpoints end to end on real parts: Debian's Mosquitto, `lightnode sim ess --sunspec` (a battery with its 704
 * control model and the PoD meter, a child process), the agent as a process (`lightnode agent`), the cloud stack
 * (BAL on anvil's key register, SCD on SQLite) and the operator's `lightnode setpoint send`. The setpoint is written
 * to the battery's registers, the agent acks it and reports its QoS after the window, the BAL verifies both
 * against the key register and the SCD serves them (`GET /acks`, `GET /qos`); the audit log verifies.
 */
import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { privateKeySigner } from '@lightnode/protocols';
import { TEST_OPERATOR_KEY } from '@lightnode/protocols/testing';
import { signerFromKeyFile, writeNewKeyFile } from '@lightnode/edge';
import { devAccountKey, startCloud, type CloudStack } from '@lightnode/cloud';
import { spawnEssSim, type EssChild } from '../sim/ess/index.js';
import { agentStatus, cli, startAgent, waitFor } from '../hil/harness.js';
import { cloudPeers } from './cloud-peers.js';

const POD = 'IT002E61899978';
const WINDOW_MS = 15_000;
// the agent and the simulator stop before the peers (after.always hooks run in registration order: this one first)
test.after.always(async () => {
  if (agent && agent.child.exitCode === null) {
    agent.child.kill('SIGTERM');
    const t = setTimeout(() => agent!.child.kill('SIGKILL'), 10_000);
    await agent.exited;
    clearTimeout(t);
  }
  await sim?.stop();
});
const peers = cloudPeers(test, 'ln-setpoint-e2e-');
let cloud: CloudStack;
let sim: EssChild | undefined;
let agent: ReturnType<typeof startAgent> | undefined;

async function scd(path: string, token: string): Promise<{ status: number; body: unknown }> {
  const r = await fetch(`${cloud.scdUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: r.status, body: await r.json().catch(() => null) };
}

test.serial(
  'setpoint send → agent → 704 register write → signed ack and QoS → BAL → SCD GET /acks, /qos',
  async (t) => {
    const { dir, broker, anvil, stacks } = peers();
    cloud = await startCloud({
      dir: join(dir, 'cloud'),
      brokerUrl: broker.url,
      chain: { rpcUrl: anvil.url, privateKey: devAccountKey(0) },
      windowMs: 2000,
    });
    stacks.push(cloud);
    sim = await spawnEssSim(['--sunspec', '--tcp', '127.0.0.1:0', '--load-w', '1500', '--autonomous', 'idle']);
    const agentDir = join(dir, 'agent');
    const keyFile = join(dir, 'device.key');
    const { address } = writeNewKeyFile(keyFile);
    await cloud.chain.registerDevice(address, signerFromKeyFile(keyFile).publicKey!);
    const pods = await fetch(`${cloud.scdUrl}/pods`, {
      method: 'POST',
      headers: { authorization: `Bearer ${cloud.tokens.ACEAE}`, 'content-type': 'application/json' },
      body: JSON.stringify({ podId: POD, deviceId: address }),
    });
    t.true(pods.ok, `POST /pods: ${pods.status}`);
    const operatorKey = join(dir, 'operator.key');
    writeFileSync(operatorKey, TEST_OPERATOR_KEY + '\n', { mode: 0o600 });
    const operator = privateKeySigner(TEST_OPERATOR_KEY).address;
    const port = Number(new URL(sim.ready.listening).port);
    const configPath = join(dir, 'agent.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        podId: POD,
        stateDir: agentDir,
        keyFile,
        batch: { windowMs: 2000 },
        uplink: { url: broker.url, keepaliveS: 30 },
        chain: { chainId: cloud.book.chainId, keyRegister: cloud.book.keyRegister },
        lines: [
          {
            name: 'site',
            transport: { tcp: { host: '127.0.0.1', port } },
            meters: [
              { id: 'pod', profile: 'eastron/sdm630', unit: sim.ready.meter?.unit ?? 2, role: 'pod', pollMs: 500 },
            ],
          },
        ],
        setpoints: {
          issuers: [operator],
          revertS: 10,
          refreshMs: 2000,
          readbackTimeoutMs: 3000,
          readbackToleranceW: 150,
        },
        assets: [
          {
            id: 'battery',
            kind: 'ess',
            pollMs: 1000,
            adapter: { sunspec: { line: 'site', unit: 1 } },
            limits: {
              maxDischargeW: sim.ready.maxDischargeW,
              maxChargeW: sim.ready.maxChargeW,
              socMinPermille: 100,
              socMaxPermille: 950,
              capacityWh: sim.ready.capacityWh,
              rampWps: 100_000,
            },
          },
        ],
      }),
    );
    agent = startAgent(configPath);
    await waitFor(async () => (await agentStatus(configPath)) !== null, 30_000, `agent status socket (${agent.log()})`);
    await waitFor(
      async () => (await agentStatus(configPath))?.status.link?.state === 'connected',
      30_000,
      'agent connected',
    );

    const from = new Date(Date.now() + 500);
    const until = new Date(from.getTime() + WINDOW_MS);
    const sent = await cli([
      'setpoint',
      'send',
      '--broker',
      broker.url,
      '--key-file',
      operatorKey,
      '--device',
      address,
      '--pod',
      POD,
      '--target-w',
      '-1000',
      '--baseline-w',
      '1500',
      '--from',
      from.toISOString(),
      '--until',
      until.toISOString(),
      '--chain-id',
      String(cloud.book.chainId),
      '--contract',
      cloud.book.keyRegister,
      '--json',
    ]);
    t.is(sent.code, 0, sent.err);
    const { id } = JSON.parse(sent.out) as { id: string; topic: string; nonce: number };

    // the battery is commanded: PoD target −1000 W with a 1500 W house load → the battery discharges ≈ 2500 W
    const cmd = await sim.waitEvent((e) => e.event === 'command' && e.essPowerW > 2000, 20_000);
    t.true(cmd.essPowerW <= sim.ready.maxDischargeW);

    await waitFor(
      async () => {
        const r = await scd(`/acks?setpointId=${id}`, cloud.tokens.dso!);
        return r.status === 200 && (r.body as { state: string }[]).some((a) => a.state === 'applied');
      },
      30_000,
      'an applied ack in the SCD',
    );
    await waitFor(
      async () => {
        const r = await scd(`/qos?setpointId=${id}`, cloud.tokens.dso!);
        return r.status === 200 && (r.body as unknown[]).length > 0;
      },
      WINDOW_MS + 30_000,
      'the QoS report in the SCD',
    );
    const qos = await scd(`/qos?setpointId=${id}&podId=${POD}`, cloud.tokens.ACEAE!);
    t.is(qos.status, 200, JSON.stringify(qos.body));
    const m = (qos.body as { requestedEnergyWh: number; baselineEnergyWh: number; deliveredEnergyWh: number }[])[0]!;
    t.is(m.requestedEnergyWh, Math.round((-1000 * WINDOW_MS) / 3.6e6));
    t.is(m.baselineEnergyWh, Math.round((1500 * WINDOW_MS) / 3.6e6));
    t.true(Math.abs(m.deliveredEnergyWh - m.requestedEnergyWh) <= 3, JSON.stringify(m));
    const states = ((await scd(`/acks?setpointId=${id}`, cloud.tokens.dso!)).body as { state: string }[]).map(
      (a) => a.state,
    );
    // `from` is 500 ms ahead when the test computes it: whether the agent gets it before (scheduled) or after
    // (received) depends on how fast `setpoint send` starts — both are right, then applied
    t.true(['received', 'scheduled'].includes(states[0]!), states.join(', '));
    t.is(states[1], 'applied', states.join(', '));
    t.true(states.includes('expired'), states.join(', '));
    const foreign = await scd(`/acks?setpointId=${id}&podId=${POD}`, cloud.tokens.ACEAE_2!);
    t.is(foreign.status, 403);

    // the battery went back to autonomous at the end of the window; the audit log verifies
    await sim.waitEvent((e) => e.event === 'release' || e.event === 'revert', 20_000);
    const audit = await cli(['audit', 'verify', join(agentDir, 'audit.jsonl'), '--json']);
    t.is(audit.code, 0, audit.err);
    t.true((JSON.parse(audit.out) as { entries: number }).entries > 5);
  },
);
