// The agent's test knobs as a process: LIGHTNODE_FAILPOINTS raises FAILPOINTS_ACTIVE; bad knobs exit 1 before
// anything starts. The clock step of a running agent (−300 s, then +300 s) is the scenario clock-step
// (hil-scenarios.test.ts: seq, ethers, the step in status, windows back by the step).
import test from 'ava';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { builtinProfiles, systemClock } from '@lightnode/protocols';
import { MeterSimulator, serveTcp } from '../index.js';
import { agentDir, agentStatus, cli, startAgent } from '../hil/harness.js';
import { waitForStatusSocket } from '../hil/status-socket.js';

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
