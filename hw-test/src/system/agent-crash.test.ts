// Crash test: the agent sampling at 10 Hz is kill -9'ed at random moments ≥ 50 times; after each restart
// `lightnode buffer verify` passes; at the end every committed sample has reached the broker (Mosquitto) — no seq
// gap, duplicates only as at-least-once allows — checked by an independent subscriber (ethers verifies signatures).
import test from 'ava';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { builtinProfiles, systemClock } from '@lightnode/protocols';
import { MeterSimulator, serveTcp, startMosquitto } from '../index.js';
import { Subscriber, agentDir, bufferNextSeq, cli, startAgent, waitFor } from '../hil/harness.js';
import { waitForStatusSocket } from './status-socket.js';

const KILLS = Number(process.env.LN_CRASH_KILLS ?? 50);

test(`agent survives ${KILLS} kill -9 at random moments without losing or corrupting a committed sample`, async (t) => {
  const broker = await startMosquitto();
  const sim = new MeterSimulator({
    profile: builtinProfiles().get('eastron/sdm630'),
    unit: 1,
    clock: systemClock,
    load: { seed: 7 },
  });
  const meter = await serveTcp([sim]);
  const sub = new Subscriber(broker.url);
  await sub.start();
  const { dir, configPath } = agentDir((d) => ({
    podId: 'IT002E61899978',
    stateDir: d,
    batch: { windowMs: 1000 },
    uplink: { url: broker.url, keepaliveS: 30, reconnectBaseMs: 100, reconnectMaxMs: 1000 },
    status: { publishEveryMs: 5000 },
    lines: [
      {
        name: 'l1',
        transport: { tcp: { host: '127.0.0.1', port: meter.port } },
        meters: [{ id: 'main', profile: 'eastron/sdm630', pollMs: 100 }],
      },
    ],
  }));
  const key = await cli(['protocol', 'keygen', '--out', join(dir, 'device.key')]);
  t.is(key.code, 0, key.err);
  const db = join(dir, 'outbox.db');
  const socket = join(dir, 'agent.sock');
  const verifyFailures: string[] = [];
  try {
    for (let k = 0; k < KILLS; k++) {
      const a = startAgent(configPath);
      // killed only once the agent is up (its outbox exists), then at a random moment of its sampling
      await waitForStatusSocket(socket, a.exited).catch((e: Error) => {
        throw new Error(`${e.message}\n${a.log().slice(-2000)}`);
      });
      await new Promise((r) => setTimeout(r, Math.random() * 1200));
      a.child.kill('SIGKILL');
      await a.exited;
      const v = await cli(['buffer', 'verify', '--db', db]);
      if (v.code !== 0) verifyFailures.push(`after kill ${k + 1}: ${v.out}${v.err}`);
    }
    t.deepEqual(verifyFailures, []);
    // a last, graceful run: everything committed gets sealed and shipped
    const a = startAgent(configPath);
    await new Promise((r) => setTimeout(r, 3000));
    a.child.kill('SIGTERM');
    t.is(await a.exited, 0, a.log().slice(-2000));
    const n = await bufferNextSeq(db);
    t.true(n > KILLS * 3, `${n} samples committed`);
    await waitFor(() => sub.missing(n).length === 0, 15_000, `all ${n} samples at the subscriber`).catch(
      () => undefined,
    );
    const missing = sub.missing(n);
    t.deepEqual(missing.slice(0, 20), [], `${missing.length} of ${n} committed samples never reached the broker`);
    t.deepEqual(sub.bad, []);
    const dups = [...sub.seqs.values()].filter((c) => c > 1).length;
    t.log(
      `${KILLS} kills, ${n} samples committed, ${sub.batches} batches received, ${dups} samples received more than once (at least once)`,
    );
    const final = await cli(['buffer', 'verify', '--db', db]);
    t.is(final.code, 0, final.out);
  } finally {
    await sub.stop();
    await meter.close();
    await broker.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
