// The agent's test knobs as a process: LIGHTNODE_CLOCK's step file steps a running agent −300 s (its seq keeps
// increasing, its batches verify with ethers, the step shows in `lightnode status --json`) against Mosquitto;
// LIGHTNODE_FAILPOINTS raises FAILPOINTS_ACTIVE; bad knobs exit 1 before anything starts.
import test from 'ava';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { builtinProfiles, decodeBatchWire, systemClock } from '@lightnode/protocols';
import { MeterSimulator, serveTcp, startMosquitto } from '../index.js';
import {
  Subscriber,
  agentDir,
  agentStatus,
  bufferNextSeq,
  cli,
  startAgent,
  waitFor,
  waitUntil,
} from '../hil/harness.js';
import { waitForStatusSocket } from '../hil/status-socket.js';

const STEP_MS = -300_000;

function meterConfig(url: string, port: number | undefined) {
  return (d: string) => ({
    podId: 'IT002E61899978',
    stateDir: d,
    batch: { windowMs: 1000 },
    uplink: { url, keepaliveS: 10, reconnectBaseMs: 200, reconnectMaxMs: 2000 },
    lines: [
      {
        name: 'l1',
        transport: { tcp: { host: '127.0.0.1', port } },
        meters: [{ id: 'grid', profile: 'eastron/sdm630', pollMs: 200 }],
      },
    ],
  });
}

/** Each batch's first seq and window start, in arrival order (the Subscriber verifies them; this records time). */
async function batchTimes(
  url: string,
): Promise<{ seen: { firstSeq: number; windowStartMs: number }[]; stop: () => Promise<void> }> {
  const seen: { firstSeq: number; windowStartMs: number }[] = [];
  const c = mqtt.connect(url, { clientId: `times-${process.pid}`, reconnectPeriod: 200, protocolVersion: 4 });
  c.on('message', (_topic, payload) => {
    const h = decodeBatchWire(payload).header;
    seen.push({ firstSeq: h.firstSeq, windowStartMs: h.windowStartMs });
  });
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => c.subscribe('ln/v1/+/batch', { qos: 1 }, (e) => (e ? reject(e) : resolve())));
    c.once('error', reject);
  });
  return { seen, stop: () => new Promise<void>((r) => c.end(true, {}, () => r())) };
}

test('clock step: an agent stepped −300 s while running keeps its seq increasing, its batches verifying, the step in status', async (t) => {
  const broker = await startMosquitto();
  const sim = new MeterSimulator({
    profile: builtinProfiles().get('eastron/sdm630'),
    unit: 1,
    clock: systemClock,
    load: { seed: 11 },
  });
  const meter = await serveTcp([sim]);
  const sub = new Subscriber(broker.url);
  await sub.start();
  const times = await batchTimes(broker.url);
  const { dir, configPath } = agentDir(meterConfig(broker.url, meter.port));
  t.is((await cli(['protocol', 'keygen', '--out', join(dir, 'device.key')])).code, 0);
  const stepFile = join(dir, 'clock-step');
  writeFileSync(stepFile, '0\n');
  const agent = startAgent(configPath, { LIGHTNODE_CLOCK: `stepFile=${stepFile}` });
  try {
    await waitForStatusSocket(join(dir, 'agent.sock'), agent.exited).catch((e: Error) => {
      throw new Error(`${e.message}\n${agent.log().slice(-2000)}`);
    });
    await waitFor(() => sub.batches >= 3, 20_000, 'first batches');
    const before = (await agentStatus(configPath))!;
    t.deepEqual(before.details.clock, { offsetMs: 0, speed: 1, stepMs: 0, stepFile });
    t.true(Math.abs(Date.now() - before.status.atMs) < 5000, 'unstepped: the agent runs on the system time');
    const stepAtSeq = before.details.nextSeq as number;
    writeFileSync(stepFile, `${STEP_MS}\n`);
    const after = await waitUntil(
      async () => {
        const s = await agentStatus(configPath);
        return s?.details.clock?.stepMs === STEP_MS ? s : undefined;
      },
      10_000,
      'the step in lightnode status --json',
    );
    const skew = Date.now() - (after.status.atMs as number);
    t.true(Math.abs(skew + STEP_MS) < 5000, `the agent's clock is ${skew} ms behind the system's`);
    t.true((after.details.nextSeq as number) >= stepAtSeq);
    const batchesAtStep = sub.batches;
    await waitFor(() => sub.batches >= batchesAtStep + 5, 20_000, 'batches after the step');
    const later = (await agentStatus(configPath))!;
    t.true((later.details.nextSeq as number) > (after.details.nextSeq as number), 'the seq keeps increasing');
    agent.child.kill('SIGTERM');
    t.is(await agent.exited, 0, agent.log().slice(-1500));
    t.regex(agent.log(), /LIGHTNODE_CLOCK: the clock steps/);
    const n = await bufferNextSeq(join(dir, 'outbox.db'));
    await waitFor(() => sub.missing(n).length === 0, 10_000, 'all samples at the subscriber').catch(() => undefined);
    t.deepEqual(sub.missing(n).slice(0, 20), [], `of ${n}`);
    t.deepEqual(sub.bad, [], 'every batch verifies (ethers), before and after the step');
    // seqs increase across the jump while the windows go back by the step
    const firsts = times.seen.filter((b, i) => times.seen.findIndex((x) => x.firstSeq === b.firstSeq) === i);
    t.deepEqual(
      firsts.map((b) => b.firstSeq),
      [...firsts].map((b) => b.firstSeq).sort((a, b) => a - b),
      'batches arrive in seq order',
    );
    const jump = firsts.findIndex((b, i) => i > 0 && b.windowStartMs < firsts[i - 1]!.windowStartMs);
    t.true(jump > 0, 'a batch after the step has an earlier window than the one before it');
    const back = firsts[jump - 1]!.windowStartMs - firsts[jump]!.windowStartMs;
    t.true(Math.abs(back + STEP_MS) < 5000, `windows went back by ${back} ms`);
  } finally {
    agent.child.kill('SIGKILL');
    await times.stop();
    await sub.stop();
    await meter.close();
    await broker.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('LIGHTNODE_FAILPOINTS: a warning at start and FAILPOINTS_ACTIVE in lightnode status', async (t) => {
  const meter = await serveTcp([
    new MeterSimulator({ profile: builtinProfiles().get('eastron/sdm630'), unit: 1, clock: systemClock }),
  ]);
  // no broker: the agent meters offline, which is all this needs
  const { dir, configPath } = agentDir(meterConfig('mqtt://127.0.0.1:9', meter.port));
  t.is((await cli(['protocol', 'keygen', '--out', join(dir, 'device.key')])).code, 0);
  const agent = startAgent(configPath, { LIGHTNODE_FAILPOINTS: 'outbox.ackBeforeCommit' });
  try {
    await waitForStatusSocket(join(dir, 'agent.sock'), agent.exited);
    const s = (await agentStatus(configPath))!;
    t.deepEqual(
      (s.status.alarms as { code: string }[]).map((a) => a.code),
      ['FAILPOINTS_ACTIVE'],
    );
    t.regex(agent.log(), /"level":"warn".*FAILPOINTS_ACTIVE/);
    agent.child.kill('SIGTERM');
    t.is(await agent.exited, 0, agent.log().slice(-1500));
  } finally {
    agent.child.kill('SIGKILL');
    await meter.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad test knobs: exit 1 with CONFIG_INVALID naming the variable and the part, before anything starts', async (t) => {
  const { dir, configPath } = agentDir((d) => ({
    podId: 'IT002E61899978',
    stateDir: d,
    uplink: { url: 'mqtt://127.0.0.1:9' },
  }));
  try {
    const cases: [Record<string, string>, RegExp][] = [
      [
        { LIGHTNODE_CLOCK: 'speed=0' },
        /CONFIG_INVALID: LIGHTNODE_CLOCK: "speed=0": expected speed a finite number > 0/,
      ],
      [{ LIGHTNODE_CLOCK: 'offset=5' }, /CONFIG_INVALID: LIGHTNODE_CLOCK: "offset=5"/],
      [
        { LIGHTNODE_FAILPOINTS: 'outbox.lies' },
        /CONFIG_INVALID: LIGHTNODE_FAILPOINTS: unknown failpoint "outbox\.lies": known ones are outbox\.ackBeforeCommit/,
      ],
    ];
    for (const [env, message] of cases) {
      const a = startAgent(configPath, env);
      t.is(await a.exited, 1, JSON.stringify(env));
      t.regex(a.log(), message);
      t.false(existsSync(join(dir, 'outbox.db')), 'nothing started: no outbox');
      t.false(existsSync(join(dir, 'device.key')), 'nothing started: no key');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
