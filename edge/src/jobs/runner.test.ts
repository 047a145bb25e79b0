// The job runner on the fake clock (clockScheduler): runs at the cron times, no overlapping runs (skips counted),
// lastRunMs / lastResult / nextRunMs, JOB_FAILED until the next success, a job's own alarms, stop aborts and waits;
// and the node-cron scheduler agrees with nextCronMs (the one place that tells the next run).
import test from 'ava';
import { isLightNodeError, nextCronMs, parseCron, silentLogger } from '@lightnode/protocols';
import { FakeClock } from '@lightnode/protocols/testing';
import { createTask } from 'node-cron';
import { JobRunner, type JobContext, type JobOutcome } from './runner.js';
import { clockScheduler, nodeCronScheduler } from './scheduler.js';

const START = Date.UTC(2026, 11, 2, 5, 7, 0); // 05:07 UTC
const MIN = 60_000;

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

test('runs at the cron times; status tells lastRunMs, lastResult and nextRunMs', async (t) => {
  const clock = new FakeClock(START);
  const runs: number[] = [];
  const r = new JobRunner({
    clock,
    scheduler: clockScheduler(clock),
    jobs: [
      { name: 'q', schedule: '*/15 * * * *', run: (ctx) => (runs.push(ctx.now()), Promise.resolve()) },
      { name: 'off', schedule: false, run: () => Promise.reject(new Error('never')) },
    ],
  });
  r.start();
  const [q, off] = r.status();
  t.like(q, { name: 'q', schedule: '*/15 * * * *', lastRunMs: null, lastResult: null });
  t.is(q!.nextRunMs, Date.UTC(2026, 11, 2, 5, 15));
  t.like(off, { name: 'off', schedule: false, lastRunMs: null, lastResult: null, nextRunMs: null });
  await clock.advance(38 * MIN); // 05:45
  t.deepEqual(
    runs,
    [5 * 60 + 15, 5 * 60 + 30, 5 * 60 + 45].map((m) => Date.UTC(2026, 11, 2, 0, m)),
  );
  t.like(r.status()[0], { lastRunMs: Date.UTC(2026, 11, 2, 5, 45), lastResult: 'ok', runs: 3, skipped: 0 });
  t.is(r.status()[0]!.nextRunMs, Date.UTC(2026, 11, 2, 6, 0));
  await r.stop();
  await clock.advance(60 * MIN);
  t.is(runs.length, 3); // unscheduled
  t.is(clock.pending, 0);
});

test('no overlapping runs: a run still going when the next time comes is skipped and counted', async (t) => {
  const clock = new FakeClock(START);
  const gate = deferred();
  let started = 0;
  const r = new JobRunner({
    clock,
    scheduler: clockScheduler(clock),
    jobs: [{ name: 'slow', schedule: '* * * * *', run: () => (started++, gate.promise) }],
  });
  r.start();
  await clock.advance(1 * MIN); // 05:08: starts
  t.is(started, 1);
  t.true(r.status()[0]!.running);
  await clock.advance(2 * MIN); // 05:09, 05:10: still running → both skipped
  t.is(started, 1);
  t.like(r.status()[0], { running: true, skipped: 2, lastResult: null });
  gate.resolve();
  await clock.advance(0);
  t.like(r.status()[0], { running: false, lastResult: 'ok', lastRunMs: Date.UTC(2026, 11, 2, 5, 8) });
  await clock.advance(1 * MIN); // 05:11: runs again
  t.is(started, 2);
  await r.stop();
});

test('a failure raises JOB_FAILED naming the job and the error, until its next success', async (t) => {
  const clock = new FakeClock(START);
  let fail = true;
  const r = new JobRunner({
    clock,
    scheduler: clockScheduler(clock),
    jobs: [
      {
        name: 'flaky',
        schedule: '0 * * * *',
        run: () => (fail ? Promise.reject(new Error('disk on fire')) : Promise.resolve()),
      },
    ],
  });
  r.start();
  t.deepEqual(r.alarms(), []);
  await clock.advance(53 * MIN); // 06:00
  t.deepEqual(r.alarms(), [
    { code: 'JOB_FAILED', message: 'job flaky failed: disk on fire', sinceMs: Date.UTC(2026, 11, 2, 6) },
  ]);
  t.like(r.status()[0], { lastResult: 'error', lastError: 'disk on fire', lastRunMs: Date.UTC(2026, 11, 2, 6) });
  await clock.advance(60 * MIN); // 07:00: fails again, the alarm keeps its first time
  t.is(r.alarms()[0]!.sinceMs, Date.UTC(2026, 11, 2, 6));
  fail = false;
  await r.runNow('flaky');
  t.deepEqual(r.alarms(), []);
  t.like(r.status()[0], { lastResult: 'ok', runs: 3 });
  t.false('lastError' in r.status()[0]!);
  await r.stop();
});

test("a job's own alarms stand until its next successful run replaces them; an error keeps them", async (t) => {
  const clock = new FakeClock(START);
  let out: JobOutcome | Error = { alarms: [{ code: 'DISK_LOW', message: 'low' }], details: { freePercent: 5 } };
  const r = new JobRunner({
    clock,
    scheduler: clockScheduler(clock),
    jobs: [
      {
        name: 'hk',
        schedule: '*/15 * * * *',
        run: () => (out instanceof Error ? Promise.reject(out) : Promise.resolve(out)),
      },
    ],
  });
  r.start();
  await clock.advance(8 * MIN); // 05:15
  t.deepEqual(r.alarms(), [{ code: 'DISK_LOW', message: 'low', sinceMs: Date.UTC(2026, 11, 2, 5, 15) }]);
  t.deepEqual(r.status()[0]!.details, { freePercent: 5 });
  await clock.advance(15 * MIN); // 05:30: the same alarm keeps its first time
  t.is(r.alarms()[0]!.sinceMs, Date.UTC(2026, 11, 2, 5, 15));
  out = new Error('statfs failed');
  await clock.advance(15 * MIN);
  t.deepEqual(
    r.alarms().map((a) => a.code),
    ['JOB_FAILED', 'DISK_LOW'],
  );
  out = { details: { freePercent: 50 } };
  await clock.advance(15 * MIN);
  t.deepEqual(r.alarms(), []);
  await r.stop();
});

test('stop aborts a running job (its signal) and waits for it to return', async (t) => {
  const clock = new FakeClock(START);
  let seen: JobContext | undefined;
  let returned = false;
  const r = new JobRunner({
    clock,
    scheduler: clockScheduler(clock),
    jobs: [
      {
        name: 'dl',
        schedule: '* * * * *',
        run: async (ctx) => {
          seen = ctx;
          await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
          returned = true;
        },
      },
    ],
  });
  r.start();
  await clock.advance(MIN);
  t.false(seen!.signal.aborted);
  await r.stop();
  t.true(seen!.signal.aborted);
  t.true(returned);
  await t.throwsAsync(() => r.runNow('nope'), { message: /no job named "nope"/ });
});

test('node-cron (timezone Etc/UTC) tells the same next run as nextCronMs, for the defaults and a few more', (t) => {
  for (const e of [
    '*/15 * * * *',
    '17 3 * * *',
    '0 6 * * *',
    '0 */6 * * *',
    '30 12 * * sun',
    '5-59/20 1-3 * * mon-fri',
    '0 0 1 * 1',
  ]) {
    const task = createTask(e, () => undefined, { timezone: 'Etc/UTC' });
    const now = Date.now();
    // createTask leaves the task stopped; getNextRuns needs no start (it walks from the real now)
    const theirs = task.getNextRuns(1)[0]!.getTime();
    const ours = nextCronMs(parseCron(e), now)!;
    void task.destroy();
    // both walk from "now": a minute boundary crossed between the two reads is the only tolerated difference
    t.true(theirs === ours || nextCronMs(parseCron(e), now + 1000) === theirs, `${e}: ${theirs} vs ${ours}`);
  }
});

test('nodeCronScheduler schedules a real node-cron task and cancels it; an expression node-cron refuses is CONFIG_INVALID', (t) => {
  const s = nodeCronScheduler(silentLogger);
  let fired = 0;
  const cancel = s.schedule(parseCron('0 0 1 1 *'), 'yearly', () => fired++);
  cancel();
  t.is(fired, 0);
  // accepted by parseCron but not by node-cron (a spec built by hand): named by the job
  const e = t.throws(() =>
    s.schedule({ ...parseCron('0 0 * * *'), expression: '5/20 * * * *' }, 'housekeeping', () => undefined),
  );
  t.true(isLightNodeError(e, 'CONFIG_INVALID'));
  t.regex(e.message, /jobs\.housekeeping: node-cron refuses the expression "5\/20 \* \* \* \*"/);
});
