// The test knobs as the agent sees them: a store opened with a failpoint (through AgentDeps.store, or by the wiring
// from LIGHTNODE_FAILPOINTS) raises FAILPOINTS_ACTIVE in the status document and logs a warning at start; an
// unknown failpoint stops the start with CONFIG_INVALID; the LIGHTNODE_CLOCK state shows in `details.clock`.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryLogger, parseAgentConfig } from '@lightnode/protocols';
import { FakeClock, TEST_DEVICE_KEY } from '@lightnode/protocols/testing';
import { writeNewKeyFile } from '../keys/index.js';
import { SqliteStore } from '../store/index.js';
import { FakeLink, FakeSource, testStoreOptions } from '../testing/index.js';
import { Agent, type AgentDeps } from './agent.js';

const START = Date.UTC(2024, 0, 10, 9);

function rig(t: { teardown(fn: () => void | Promise<void>): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'ln-knobs-'));
  writeNewKeyFile(join(dir, 'device.key'), { privateKey: TEST_DEVICE_KEY });
  const config = parseAgentConfig({
    podId: 'IT002E61899978',
    stateDir: dir,
    uplink: { url: 'mqtt://127.0.0.1:1' },
    lines: [
      {
        name: 'l',
        transport: { tcp: { host: '127.0.0.1' } },
        meters: [{ id: 'x', profile: 'eastron/sdm630', pollMs: 1000 }],
      },
    ],
  });
  const clock = new FakeClock(START);
  const logger = memoryLogger('warn');
  const agents: Agent[] = [];
  const make = (deps: Partial<AgentDeps>): Agent => {
    const link = new FakeLink(() => clock.now());
    const sources = [new FakeSource('pod', clock, { pollMs: 1000, role: 'pod' })];
    const a = new Agent(config, { clock, logger, link, sources, notifier: null, env: {}, ...deps });
    agents.push(a);
    return a;
  };
  t.teardown(async () => {
    for (const a of agents) {
      const stop = a.stop().catch(() => undefined);
      await clock.advance(100);
      await stop;
    }
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, clock, logger, make };
}

const codes = (a: Agent) => (a.status().alarms ?? []).map((x) => x.code);

test('AgentDeps.store opened with a failpoint: FAILPOINTS_ACTIVE in status, a warning at start', async (t) => {
  const { dir, clock, logger, make } = rig(t);
  const store = SqliteStore.open(testStoreOptions(dir, clock, { logger, failpoints: ['outbox.ackBeforeCommit'] }));
  const agent = make({ store });
  await agent.start();
  t.deepEqual(codes(agent), ['FAILPOINTS_ACTIVE']);
  const alarm = agent.status().alarms![0]!;
  t.regex(alarm.message, /outbox\.ackBeforeCommit .*never in production/);
  t.is(alarm.sinceMs, START);
  t.is(agent.status().state, 'degraded');
  t.true(logger.lines.some((l) => l.level === 'warn' && String(l.msg).startsWith('FAILPOINTS_ACTIVE')));
});

test('LIGHTNODE_FAILPOINTS read by the wiring: the store it opens carries the failpoint', async (t) => {
  const { clock, make } = rig(t);
  const agent = make({ env: { LIGHTNODE_FAILPOINTS: 'outbox.ackBeforeCommit' } });
  await agent.start();
  t.deepEqual(codes(agent), ['FAILPOINTS_ACTIVE']);
  t.deepEqual((agent.details().outbox as { failpoints?: string[] }).failpoints, ['outbox.ackBeforeCommit']);
  await clock.advance(3000);
  t.true(agent.wired!.store.nextSeq >= 2, 'the agent meters on');
});

test('no failpoint: no alarm, no details.clock; an unknown failpoint: CONFIG_INVALID at start', async (t) => {
  const { make } = rig(t);
  const plain = make({});
  await plain.start();
  t.deepEqual(codes(plain), []);
  t.false('clock' in plain.details());
  await plain.stop();
  const bad = make({ env: { LIGHTNODE_FAILPOINTS: 'outbox.lies' } });
  await t.throwsAsync(() => bad.start(), {
    message:
      /^CONFIG_INVALID: LIGHTNODE_FAILPOINTS: unknown failpoint "outbox\.lies": known ones are outbox\.ackBeforeCommit/,
  });
});

test('the LIGHTNODE_CLOCK state is in details.clock', async (t) => {
  const { make } = rig(t);
  let stepMs = 0;
  const agent = make({ clockStatus: () => ({ offsetMs: 0, speed: 1, stepMs }) });
  await agent.start();
  t.deepEqual(agent.details().clock, { offsetMs: 0, speed: 1, stepMs: 0 });
  stepMs = -300_000;
  t.deepEqual(agent.details().clock, { offsetMs: 0, speed: 1, stepMs: -300_000 });
});
