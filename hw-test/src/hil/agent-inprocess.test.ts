// In-process HIL agents on the fake clock: the kill switch of their store (what a kill9 leaves in the file, with and
// without the `outbox.ackBeforeCommit` failpoint), an InProcessAgent started on a fake run clock (its status socket,
// the clock step and the failpoint seen in its status, kill9 and stop), the scenario cross-check refusing disk-full on
// an inprocess agent, and the report's notes.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLightNodeError, memoryLogger } from '@lightnode/protocols';
import { FakeClock } from '@lightnode/protocols/testing';
import { SqliteStore } from '@lightnode/edge';
import { CONTRACT_START_MS, contractReadings, testStoreOptions } from '@lightnode/edge/testing';
import { InProcessAgent, killableStore } from './agent-inprocess.js';
import { agentConfig, readStatus } from './agents.js';
import { agentNotes } from './runner.js';
import { parseScenario } from './scenario-file.js';
import type { ScenarioAgent } from './scenario.js';

function storeSetup(t: { teardown(fn: () => void): void }, failpoint: boolean) {
  const dir = mkdtempSync(join(tmpdir(), 'ln-inproc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const clock = new FakeClock(CONTRACT_START_MS);
  const options = testStoreOptions(dir, clock, {
    logger: memoryLogger('warn'),
    ...(failpoint ? { failpoints: ['outbox.ackBeforeCommit' as const] } : {}),
  });
  return { clock, options };
}

const isWriteFailed = (e: unknown) => isLightNodeError(e, 'OUTBOX_WRITE_FAILED');

test('a killed store takes no write, ships nothing, still reads; what it committed stays in the file', async (t) => {
  const { clock, options } = storeSetup(t, false);
  const k = killableStore(SqliteStore.open(options), 'a1');
  const reading = contractReadings();
  k.store.commitCycle([reading(clock.now()), reading(clock.now())]);
  await clock.advance(1000);
  t.is(k.store.sealDue().length, 1);
  t.is(k.store.pending(10).length, 1);
  t.true(k.store instanceof SqliteStore, 'still a SqliteStore to the agent (its jobs get the database)');
  k.kill();
  const writes: [string, () => unknown][] = [
    ['commitCycle', () => k.store.commitCycle([reading(clock.now())])],
    ['allocate', () => k.store.allocate([reading(clock.now())])],
    ['sealDue', () => k.store.sealDue(true)],
    ['markDelivered', () => k.store.markDelivered(1)],
  ];
  for (const [name, w] of writes) {
    const e = t.throws(w, undefined, name);
    t.true(isWriteFailed(e), `${name}: ${String(e)}`);
    t.regex(e?.message ?? '', /in-process agent a1 was killed \(kill9\)/);
  }
  t.deepEqual(k.store.pending(10), [], 'nothing more is shipped');
  t.is(k.store.stats().nextSeq, 2, 'reads see what was committed');
  k.store.close();
  const reopened = SqliteStore.open(options);
  t.teardown(() => reopened.close());
  t.is(reopened.nextSeq, 2);
  t.deepEqual(
    reopened.pending(10).map((i) => [i.kind, i.firstSeq, i.lastSeq]),
    [['batch', 0, 1]],
    'the sealed batch survived the kill, undelivered',
  );
});

test('with outbox.ackBeforeCommit a kill loses the acknowledged writes, as a SIGKILL of the process does', async (t) => {
  const { clock, options } = storeSetup(t, true);
  const k = killableStore(SqliteStore.open(options), 'a1');
  await clock.advance(2000); // the open's own write lands
  const reading = contractReadings();
  const acked = k.store.commitCycle([reading(clock.now()), reading(clock.now())]);
  t.deepEqual(
    acked.map((s) => s.seq),
    [0, 1],
  );
  t.is(k.store.stats().unsealedSamples, 2, 'acknowledged to the agent');
  k.kill();
  await clock.advance(5000); // the failpoint's delayed commit would have landed by now
  k.store.close();
  const reopened = SqliteStore.open({ ...options, failpoints: [] });
  t.teardown(() => reopened.close());
  t.is(reopened.stats().unsealedSamples, 0, 'the acknowledged cycle never reached the file');
  t.is(reopened.pending(10).length, 0);
});

const spec = (failpoints: ScenarioAgent['failpoints'] = []): ScenarioAgent => ({
  id: 'a1',
  mode: 'inprocess',
  devices: [],
  config: {},
  failpoints,
});

test('an InProcessAgent serves its status socket on the run clock, shows its clock step and its failpoint', async (t) => {
  const run = new FakeClock(CONTRACT_START_MS);
  // no broker at this port: the link keeps retrying (on the fake clock), the agent runs regardless
  const a = new InProcessAgent(
    spec(['outbox.ackBeforeCommit']),
    (dir) => agentConfig(spec(), [], 'mqtt://127.0.0.1:9', dir),
    run,
    5,
  );
  t.teardown(async () => {
    await a.dispose();
    rmSync(a.dir, { recursive: true, force: true });
  });
  t.is(a.pid, null);
  t.false(a.running);
  await a.init();
  await a.start();
  t.true(a.running);
  t.is(a.up.length, 1);
  t.is(a.up[0]!.toMs, null);
  const st = await readStatus(a.socket);
  t.truthy(st);
  t.deepEqual(st!.details.clock, { offsetMs: 0, speed: 5, stepMs: 0 });
  t.is(st!.status.atMs, CONTRACT_START_MS, "the agent's clock is the run clock");
  const codes = (st!.status.alarms as { code: string }[]).map((x) => x.code);
  t.true(codes.includes('FAILPOINTS_ACTIVE'), codes.join(', '));
  t.is(a.clockStep(-300), -300_000);
  t.is(a.clockStep(100), -200_000, 'steps add up');
  const stepped = await readStatus(a.socket);
  t.deepEqual(stepped!.details.clock, { offsetMs: 0, speed: 5, stepMs: -200_000 });
  t.is(stepped!.status.atMs, CONTRACT_START_MS - 200_000);
  t.regex(await a.kill9(), /^abrupt in-process stop/);
  t.false(a.running);
  t.not(a.up[0]!.toMs, null);
  t.is(await readStatus(a.socket, 500), null, 'the status socket is gone');
  await a.start();
  t.is(a.up.length, 2, 'restarted');
  t.is(await a.stop(), 0);
  t.is(await a.stop(), null, 'not running any more');
  await t.throwsAsync(() => a.kill9(), { message: /kill9 a1: the agent is not running/ });
  t.true(a.rssMB() > 0);
  t.regex(a.log(), /FAILPOINTS_ACTIVE/);
  t.deepEqual(a.crashes, []);
});

const SCENARIO = `name: x
description: an inprocess agent with a disk-full
seed: 1
durationS: 30
cloud: { kind: mosquitto }
devices:
  - { id: m1, kind: meter, profile: eastron/sdm630, unit: 1, pollMs: 200, tcp: true }
agents:
  - { id: a1, mode: inprocess, devices: [m1] }
timeline:
  - { atS: 5, do: kill9, agent: a1, restartAfterS: 0 }
  - { atS: 10, do: disk-full, agent: a1, forS: 5 }
invariants: [noSampleLost]
`;

test('disk-full on an inprocess agent is refused at its file:line:column; kill9 is accepted', (t) => {
  const e = t.throws(() => parseScenario(SCENARIO, 's.yaml'));
  t.true(isLightNodeError(e, 'HIL_SCENARIO_INVALID'), String(e));
  t.regex(e.message, /s\.yaml:12:/);
  t.regex(e.message, /expected a process agent: disk-full fills a tmpfs in its own mount namespace/);
  t.notRegex(e.message, /timeline\[0\]/);
  const ok = parseScenario(SCENARIO.replace(/ {2}- \{ atS: 10, do: disk-full.*\n/, ''), 's.yaml');
  t.is(ok.agents[0]!.mode, 'inprocess');
});

test("the report's notes: the scaledClock and the runner's RSS for in-process agents", (t) => {
  const agents = [
    { id: 'a1', mode: 'inprocess' as const },
    { id: 'p1', mode: 'process' as const },
  ];
  const fast = agentNotes({ agents: agents as never }, 5).join('\n');
  t.regex(
    fast,
    /speed 5: the simulators and the in-process agents \(a1\) on the run's scaledClock, process agents through LIGHTNODE_CLOCK/,
  );
  t.regex(fast, /rssMaxMB is the runner's own RSS/);
  t.regex(fast, /kill9 is an abrupt stop in process, not a SIGKILL/);
  t.deepEqual(agentNotes({ agents: [agents[1]] as never }, 1), []);
});
