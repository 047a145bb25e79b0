// Agent config: jobs (cron or false, defaults), outbox.keepDeliveredDays, updates; cron parsing and next-run times.
import test from 'ava';
import { isLightNodeError } from '../errors.js';
import { cronError, nextCronMs, parseCron } from './cron.js';
import { JOB_DEFAULTS, parseAgentConfig } from './schema.js';

const base = { podId: 'IT002E61899978', uplink: { url: 'mqtt://127.0.0.1:1883' } };

test('defaults: the four jobs, keepDeliveredDays 7, 20 MB a day, no index URL', (t) => {
  const c = parseAgentConfig(base);
  t.deepEqual(c.jobs, {
    housekeeping: '*/15 * * * *',
    outboxMaintenance: '17 3 * * *',
    expiryCheck: '0 6 * * *',
    updateCheck: '0 */6 * * *',
  });
  t.deepEqual(c.jobs, { ...JOB_DEFAULTS });
  t.is(c.outbox.keepDeliveredDays, 7);
  t.deepEqual(c.updates, { maxBytesPerDay: 20 * 1024 * 1024 });
  // a partial jobs object keeps the other defaults; outbox without keepDeliveredDays gets 7
  const d = parseAgentConfig({ ...base, jobs: { updateCheck: false }, outbox: { quotaBytes: 8192 } });
  t.is(d.jobs.updateCheck, false);
  t.is(d.jobs.housekeeping, '*/15 * * * *');
  t.is(d.outbox.keepDeliveredDays, 7);
});

test('an invalid cron expression is CONFIG_INVALID naming jobs.X and what is wrong', (t) => {
  for (const [expr, why] of [
    ['61 * * * *', /minute: 61 is outside 0–59/],
    ['* * *', /expected 5 or 6 space-separated fields, received 3/],
    ['*/0 * * * *', /step 0 must be at least 1/],
    ['0 5-2 * * *', /range 5-2 runs backwards/],
    ['0 0 L * *', /day-of-month: "L" is not a number/],
  ] as const) {
    const e = t.throws(() => parseAgentConfig({ ...base, jobs: { expiryCheck: expr } }, 'agent.json'));
    t.true(isLightNodeError(e, 'CONFIG_INVALID'));
    t.regex(e.message, /agent\.json\.jobs\.expiryCheck: expected a cron expression or false/);
    t.regex(e.message, why);
  }
  t.throws(() => parseAgentConfig({ ...base, jobs: { housekeeping: true } }), { message: /jobs\.housekeeping/ });
  t.throws(() => parseAgentConfig({ ...base, jobs: { backup: '* * * * *' } }), { message: /jobs/ });
  t.throws(() => parseAgentConfig({ ...base, updates: { indexUrl: 'ftp://x/index.json' } }), {
    message: /updates\.indexUrl: an http:\/\/ or https:\/\/ URL/,
  });
  t.throws(() => parseAgentConfig({ ...base, outbox: { keepDeliveredDays: -1 } }), {
    message: /outbox\.keepDeliveredDays/,
  });
});

test('cron: fields, names, lists, ranges, steps, weekday 7 = Sunday, six fields with seconds', (t) => {
  const c = parseCron('*/15 2-4,8 * jan-mar mon-fri');
  t.deepEqual(c.minute, [0, 15, 30, 45]);
  t.deepEqual(c.hour, [2, 3, 4, 8]);
  t.deepEqual(c.month, [1, 2, 3]);
  t.deepEqual(c.dayOfWeek, [1, 2, 3, 4, 5]);
  t.deepEqual(c.second, [0]);
  t.deepEqual(parseCron('0 0 * * 7').dayOfWeek, [0]);
  t.deepEqual(parseCron('5-59/20 * * * *').minute, [5, 25, 45]);
  t.regex(cronError('5/20 * * * *')!, /minute: a step needs \* or a range before it/); // as node-cron refuses it
  t.deepEqual(parseCron('*/30 * * * * *').second, [0, 30]);
  t.is(cronError('0 6 * * *'), null);
});

test('nextCronMs: the defaults from a known time (UTC), strictly after it', (t) => {
  const at = Date.UTC(2026, 11, 2, 5, 7, 12); // Wed 2026-12-02 05:07:12
  const next = (e: string, from = at) => new Date(nextCronMs(parseCron(e), from)!).toISOString();
  t.is(next('*/15 * * * *'), '2026-12-02T05:15:00.000Z');
  t.is(next('17 3 * * *'), '2026-12-03T03:17:00.000Z');
  t.is(next('0 6 * * *'), '2026-12-02T06:00:00.000Z');
  t.is(next('0 */6 * * *'), '2026-12-02T06:00:00.000Z');
  t.is(next('0 6 * * *', Date.UTC(2026, 11, 2, 6)), '2026-12-03T06:00:00.000Z'); // exactly at a match: the next one
  t.is(next('0 0 29 2 *'), '2028-02-29T00:00:00.000Z'); // leap day
  t.is(next('30 12 * * sun'), '2026-12-06T12:30:00.000Z');
  t.is(next('0 0 1 * 1'), '2027-02-01T00:00:00.000Z'); // day-of-month AND day-of-week (node-cron's rule)
  t.is(next('*/10 * * * * *'), '2026-12-02T05:07:20.000Z');
  t.is(nextCronMs(parseCron('0 0 31 2 *'), at), null); // never
});
