// The agent with a Chain 2 source: signed batches from the simulated gateway over WebSocket reach Mosquitto; a
// WebSocket drop and a gateway reboot lose no quarter — every quarter is either delivered as a sample or reported as
// a gap with its energy (from the cumulative energy of the next CF1).
import test from 'ava';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import {
  decodeBatchWire,
  lightNodeDomain,
  romeToUtc,
  VECTOR_CHAIN_ID,
  VECTOR_VERIFYING_CONTRACT,
  verifyBatch,
} from '@lightnode/protocols';
import { serveChain2Ws, startMosquitto } from '../index.js';
import { agentDir, agentStatus, cli, startAgent, waitFor } from '../hil/harness.js';

test('Chain 2 over WebSocket: signed batches, and a WebSocket drop plus a gateway reboot lose no quarter', async (t) => {
  const broker = await startMosquitto();
  const startMs = romeToUtc(2024, 1, 10, 8);
  const gw = await serveChain2Ws({ pod: 'IT001E01524052', startMs, speed: 600, seed: 4 }); // a quarter every 1.5 s
  const quarters = new Map<number, number | null>(); // quarter end (s) → quarterEnergyImportWh (null: untrusted)
  const domain = lightNodeDomain(VECTOR_CHAIN_ID, VECTOR_VERIFYING_CONTRACT);
  const sub = mqtt.connect(broker.url, { protocolVersion: 4 });
  let badBatches = 0;
  sub.on('message', (_topic, payload) => {
    try {
      const b = decodeBatchWire(payload);
      verifyBatch(b, domain);
      for (const s of b.samples)
        if (s.source === 'chain2' && s.quantities.tariffBand !== undefined)
          quarters.set(s.tsMs / 1000, s.quantities.quarterEnergyImportWh ?? null);
    } catch {
      badBatches++;
    }
  });
  await new Promise<void>((r) => sub.on('connect', () => sub.subscribe('ln/v1/+/batch', { qos: 1 }, () => r())));
  const { dir, configPath } = agentDir((d) => ({
    podId: 'IT001E01524052',
    stateDir: d,
    batch: { windowMs: 1000 },
    uplink: { url: broker.url, reconnectBaseMs: 100, reconnectMaxMs: 1000 },
    chain2: [{ name: 'gw', ws: gw.url, meters: ['M1'] }],
  }));
  t.is((await cli(['protocol', 'keygen', '--out', join(dir, 'device.key')])).code, 0);
  const agent = startAgent(configPath);
  try {
    await waitFor(() => quarters.size >= 4, 30_000, 'first quarters');
    gw.drop(); // the WebSocket drops: the agent reconnects with backoff
    await waitFor(() => quarters.size >= 8, 30_000, 'quarters after the drop');
    // the gateway restarts: its CF1s read 0 for 3 quarters (4.5 s here) — longer than the agent's WebSocket
    // reconnect on a busy machine, so the agent sees the counters drop (a real gateway takes far longer to resync)
    gw.reboot(3);
    await waitFor(() => quarters.size >= 14, 40_000, 'quarters after the reboot');
    const st = (await agentStatus(configPath))!;
    const c2 = st.details.chain2.gw as {
      gaps: { missedQuarters: number; energyWh: number }[];
      diagnostics: Record<string, number>;
      transport: { connects: number };
    };
    t.true(c2.transport.connects >= 3, JSON.stringify(c2.transport));
    t.true((c2.diagnostics.CHAIN2_TOTAL_DECREASED ?? 0) >= 1, JSON.stringify(c2.diagnostics));
    // every quarter between the first and the last one received is a sample with its energy, or inside a reported
    // gap (a lost CF1, or the rebooted gateway's untrusted one, which arrives with its energy marked invalid)
    const ends = [...quarters.keys()].sort((a, b) => a - b);
    const span = (ends[ends.length - 1]! - ends[0]!) / 900 + 1;
    const untrusted = [...quarters.values()].filter((v) => v === null).length;
    const missedReported = c2.gaps.reduce((a, g) => a + g.missedQuarters, 0);
    t.is(
      span - ends.length + untrusted,
      missedReported,
      `span ${span}, received ${ends.length} (${untrusted} untrusted), gaps ${JSON.stringify(c2.gaps)}`,
    );
    t.true(untrusted >= 1);
    t.true(c2.gaps.every((g) => g.energyWh > 0));
    t.is(badBatches, 0);
  } finally {
    agent.child.kill('SIGKILL');
    sub.end(true);
    await gw.close();
    await broker.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
