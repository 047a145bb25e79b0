// After SIGTERM the agent exits within 5 s (its 2-second drain included) even with a Modbus poll in flight: a meter
// that answers 40 ms late (`lightnode sim meter --fault slow:40`, a separate process) keeps a request on the wire at
// almost every moment, and a closed line must neither reopen the transport nor wait for the reply.
import test from 'ava';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startMosquitto } from '../index.js';
import { BIN, agentDir, cli, startAgent } from '../hil/harness.js';
import { waitForStatusSocket } from '../hil/status-socket.js';

const TRIES = 5;

async function startSlowMeter(): Promise<{ port: number; stop: () => Promise<void> }> {
  const child = spawn(
    process.execPath,
    [BIN, 'sim', 'meter', '--profile', 'eastron/sdm630', '--tcp', '127.0.0.1:0', '--fault', 'slow:40'],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  const first = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`lightnode sim meter exited ${code} before listening`)));
  });
  const port = Number(new URL((JSON.parse(first) as { listening: string }).listening).port);
  return {
    port,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

test(`SIGTERM with a poll in flight: the agent exits within 5 s (${TRIES} tries)`, async (t) => {
  const broker = await startMosquitto();
  const meter = await startSlowMeter();
  const { dir, configPath } = agentDir((d) => ({
    podId: 'IT002E61899978',
    stateDir: d,
    batch: { windowMs: 1000 },
    uplink: { url: broker.url, keepaliveS: 30 },
    lines: [
      {
        name: 'l1',
        transport: { tcp: { host: '127.0.0.1', port: meter.port } },
        meters: [{ id: 'main', profile: 'eastron/sdm630', pollMs: 100 }],
      },
    ],
  }));
  try {
    t.is((await cli(['protocol', 'keygen', '--out', join(dir, 'device.key')])).code, 0);
    const took: number[] = [];
    for (let i = 0; i < TRIES; i++) {
      const a = startAgent(configPath);
      await waitForStatusSocket(join(dir, 'agent.sock'), a.exited);
      const t0 = Date.now();
      a.child.kill('SIGTERM');
      const code = await Promise.race([a.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 5000))]);
      took.push(Date.now() - t0);
      if (code === 'hung') {
        a.child.kill('SIGKILL');
        await a.exited;
      }
      t.is(
        code,
        0,
        `try ${i + 1}: ${code === 'hung' ? 'still running 5 s after SIGTERM' : `exit ${code}`}\n${a.log().slice(-1500)}`,
      );
    }
    t.log(`exit after SIGTERM: ${took.join(', ')} ms`);
  } finally {
    await meter.stop();
    await broker.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
