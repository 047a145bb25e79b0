/**
 * Demo stage: the measurement path on the embedded default — an in-process MQTT broker (aedes), a simulated
 * SDM630 over Modbus TCP, the agent (outbox, signed batches, uplink) and a subscriber that verifies every batch live.
 */
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import {
  builtinProfiles,
  decodeBatchWire,
  parseAgentConfig,
  parseTopic,
  systemClock,
  verifyBatch,
} from '@lightnode/protocols';
import { Agent, writeNewKeyFile } from '@lightnode/edge';
import { MeterSimulator, serveTcp } from '../sim/index.js';
import type { DemoStage } from './stages.js';

export const agentStage: DemoStage = {
  name: 'agent → embedded broker → live verifier',
  async run(ctx) {
    const aedes = await Aedes.createBroker();
    const sockets = new Set<Socket>();
    const brokerServer = createServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      aedes.handle(s);
    });
    await new Promise<void>((r) => brokerServer.listen(0, '127.0.0.1', () => r()));
    const brokerUrl = `mqtt://127.0.0.1:${(brokerServer.address() as { port: number }).port}`;
    const sim = new MeterSimulator({
      profile: builtinProfiles().get('eastron/sdm630'),
      unit: 1,
      clock: systemClock,
      load: { pvPeakW: 4000, seed: 11 },
    });
    const meter = await serveTcp([sim]);
    ctx.say(`embedded MQTT broker (aedes) on ${brokerUrl}; simulated SDM630 on ${meter.address}`);
    const dir = join(ctx.workDir, 'agent');
    const keyFile = join(dir, 'device.key');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir, { recursive: true });
    const { address } = writeNewKeyFile(keyFile);
    const config = parseAgentConfig({
      podId: 'IT002E61899978',
      stateDir: dir,
      keyFile,
      batch: { windowMs: 2000 },
      uplink: { url: brokerUrl, keepaliveS: 30 },
      lines: [
        {
          name: 'demo',
          transport: { tcp: { host: '127.0.0.1', port: meter.port! } },
          meters: [{ id: 'grid', profile: 'eastron/sdm630', pollMs: 200 }],
        },
      ],
    });
    let verified = 0;
    let samples = 0;
    const failures: string[] = [];
    const sub = mqtt.connect(brokerUrl, { protocolVersion: 4 });
    sub.on('message', (topic, payload) => {
      const t = parseTopic(topic);
      if (t?.leaf !== 'batch') return;
      try {
        const b = decodeBatchWire(payload);
        verifyBatch(b, ctx.domain, { expectedSigner: address });
        verified++;
        samples += b.header.count;
        ctx.say(
          `  verified batch seq ${b.header.firstSeq}..${b.header.lastSeq} (${payload.length} B, ${b.samples.at(-1)!.quantities.activePowerW} W at the end)`,
        );
      } catch (e) {
        failures.push((e as Error).message);
      }
    });
    await new Promise<void>((r) => sub.on('connect', () => sub.subscribe('ln/v1/+/batch', { qos: 1 }, () => r())));
    const agent = new Agent(config, { clock: systemClock, notify: () => undefined });
    await agent.start();
    ctx.say(`agent ${address} polling at 5 Hz, sealing 2-s windows into signed batches, shipping over MQTT …`);
    await new Promise((r) => setTimeout(r, 7000));
    const st = agent.status();
    ctx.say(
      `status: ${st.state}, link ${st.link?.state} (MQTT ${st.link?.protocolVersion === 5 ? '5' : '3.1.1'}), outbox ${st.outbox?.depthSamples} samples waiting`,
    );
    await agent.stop({ drainMs: 3000 });
    await new Promise((r) => setTimeout(r, 300));
    sub.end(true);
    await meter.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => brokerServer.close(() => aedes.close(() => r())));
    ctx.say(`the live verifier accepted ${verified} batches (${samples} samples), rejected ${failures.length}`);
    ctx.summary.agent = { batchesVerified: verified, samples, rejected: failures.length };
    if (failures.length) throw new Error(`live verification failed: ${failures[0]}`);
    if (verified === 0) throw new Error('no batch reached the live verifier');
  },
};
