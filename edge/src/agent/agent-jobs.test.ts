// The agent runs its scheduled jobs (fake clock, clockScheduler) and shows them: `lightnode status --json` →
// details.jobs [{name, schedule, lastRunMs, lastResult, nextRunMs}], the human output's job lines, JOB_FAILED in the
// status document's alarms (and its STATUS= line); the jobs stop with the agent.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAgentConfig, type CommandIo } from '@lightnode/protocols';
import { FakeClock, TEST_DEVICE_KEY } from '@lightnode/protocols/testing';
import status from '../cli/status.js';
import { writeNewKeyFile } from '../keys/index.js';
import { FakeLink, FakeQueue, FakeSource } from '../testing/index.js';
import { Agent } from './agent.js';
import { statusLine } from './status.js';

const START = Date.UTC(2026, 11, 2, 5, 50);

async function ask(socket: string, json: boolean): Promise<string[]> {
  const out: string[] = [];
  const io: CommandIo = {
    stdout: (s) => out.push(s),
    stderr: () => undefined,
    env: {},
    cwd: process.cwd(),
    signal: new AbortController().signal,
  };
  await status.run(['--socket', socket, ...(json ? ['--json'] : [])], io);
  return out;
}

test('jobs run on their schedules; status --json lists them; a failing job raises JOB_FAILED', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ln-agent-jobs-'));
  writeNewKeyFile(join(dir, 'device.key'), { privateKey: TEST_DEVICE_KEY });
  const config = parseAgentConfig({
    podId: 'IT002E61899978',
    stateDir: dir,
    // the certificate file does not exist: the expiry check fails
    uplink: { url: 'mqtt://127.0.0.1:1', certFile: join(dir, 'missing-cert.pem') },
    jobs: { outboxMaintenance: false },
  });
  const clock = new FakeClock(START);
  const agent = new Agent(config, {
    clock,
    store: FakeQueue.open({ clock, windowMs: 60_000 }),
    link: new FakeLink(() => clock.now()),
    sources: [new FakeSource('pod', clock, { pollMs: 1000, role: 'pod' })],
    env: {},
  });
  t.teardown(async () => {
    const stop = agent.stop().catch(() => undefined);
    await clock.advance(100);
    await stop;
    rmSync(dir, { recursive: true, force: true });
  });
  await agent.start();
  const jobs = () =>
    (agent.details() as { jobs: { name: string; lastResult: string | null; nextRunMs: number | null }[] }).jobs;
  t.deepEqual(
    jobs().map((j) => [j.name, j.lastResult, j.nextRunMs]),
    [
      ['housekeeping', null, Date.UTC(2026, 11, 2, 6, 0)],
      ['outboxMaintenance', null, null],
      ['expiryCheck', null, Date.UTC(2026, 11, 2, 6, 0)],
      ['updateCheck', null, null], // no updates.indexUrl: off
    ],
  );
  await clock.advance(10 * 60_000 + 1000); // 06:00:01: housekeeping and the expiry check ran
  t.is(agent.jobRunner!.status()[0]!.lastResult, 'ok');
  const doc = agent.status();
  const failed = doc.alarms?.find((a) => a.code === 'JOB_FAILED');
  t.truthy(failed);
  t.regex(failed!.message, /^job expiryCheck failed: JOB_FAILED: cannot read .*missing-cert\.pem/);
  t.is(failed!.sinceMs, Date.UTC(2026, 11, 2, 6, 0));
  t.regex(statusLine(doc), /alarms: .*JOB_FAILED/);

  const [line] = await ask(agent.socketPath!, true);
  const r = JSON.parse(line!) as { details: { jobs: Record<string, unknown>[] } };
  t.deepEqual(
    r.details.jobs.map(({ name, schedule, lastRunMs, lastResult, nextRunMs }) => ({
      name,
      schedule,
      lastRunMs,
      lastResult,
      nextRunMs,
    })),
    [
      {
        name: 'housekeeping',
        schedule: '*/15 * * * *',
        lastRunMs: Date.UTC(2026, 11, 2, 6),
        lastResult: 'ok',
        nextRunMs: Date.UTC(2026, 11, 2, 6, 15),
      },
      { name: 'outboxMaintenance', schedule: false, lastRunMs: null, lastResult: null, nextRunMs: null },
      {
        name: 'expiryCheck',
        schedule: '0 6 * * *',
        lastRunMs: Date.UTC(2026, 11, 2, 6),
        lastResult: 'error',
        nextRunMs: Date.UTC(2026, 11, 3, 6),
      },
      { name: 'updateCheck', schedule: false, lastRunMs: null, lastResult: null, nextRunMs: null },
    ],
  );
  const human = await ask(agent.socketPath!, false);
  t.true(
    human.includes(
      '  job      housekeeping (*/15 * * * *): last 2026-12-02T06:00:00.000Z ok, next 2026-12-02T06:15:00.000Z',
    ),
  );
  t.true(human.includes('  job      updateCheck: off'));
  t.true(human.some((l) => l.startsWith('  ALARM    JOB_FAILED: job expiryCheck failed')));

  const stop = agent.stop();
  await clock.advance(100);
  await stop;
  const runs = agent.jobRunner!.status()[0]!.runs;
  await clock.advance(3_600_000);
  t.is(agent.jobRunner!.status()[0]!.runs, runs); // unscheduled at stop
});
