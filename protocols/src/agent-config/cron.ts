/**
 * Cron expressions of the agent's jobs (`jobs.*`): five fields (minute hour day-of-month month day-of-week) or six
 * (a leading second), each `*`, a number, a range `a-b`, a step `*\/n` or `a-b/n` (not `a/n`: node-cron refuses
 * it), or a comma list of those; months and weekdays also by English three-letter names, weekday 7 = Sunday.
 * Evaluated in UTC. This is the subset node-cron 4 accepts with the same meaning (its `L`, `W` and `#` forms are not
 * accepted here); as node-cron does, a time matches when every field matches (day-of-month AND day-of-week). The
 * one place that tells a job's next run (edge/src/jobs/runner.test.ts checks it against node-cron's own).
 */

/** The allowed values of each field, sorted ascending. */
export interface CronSpec {
  expression: string;
  second: readonly number[];
  minute: readonly number[];
  hour: readonly number[];
  dayOfMonth: readonly number[];
  month: readonly number[];
  /** 0 = Sunday … 6 = Saturday. */
  dayOfWeek: readonly number[];
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const FIELDS = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, base: 1 },
  { name: 'day-of-week', min: 0, max: 7, names: DAYS, base: 0 },
] as const;

type Field = (typeof FIELDS)[number];

function value(f: Field, s: string): number {
  const names = 'names' in f ? f.names : undefined;
  const named = names?.indexOf(s.toLowerCase()) ?? -1;
  if (named >= 0 && 'base' in f) return named + f.base;
  if (!/^\d+$/.test(s)) throw new Error(`${f.name}: ${JSON.stringify(s)} is not a number`);
  const n = Number(s);
  if (n < f.min || n > f.max) throw new Error(`${f.name}: ${n} is outside ${f.min}–${f.max}`);
  return n;
}

function field(f: Field, text: string): number[] {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^([^/]+)(?:\/(\d+))?$/.exec(part);
    if (!m) throw new Error(`${f.name}: ${JSON.stringify(part)} is not *, a number, a range or a step`);
    const step = m[2] !== undefined ? Number(m[2]) : 1;
    if (step < 1) throw new Error(`${f.name}: step ${m[2]} must be at least 1`);
    let lo: number;
    let hi: number;
    if (m[1] === '*') [lo, hi] = [f.min, f.max];
    else if (m[1]!.includes('-')) {
      const [a, b, ...rest] = m[1]!.split('-');
      if (rest.length) throw new Error(`${f.name}: ${JSON.stringify(part)} is not a range`);
      [lo, hi] = [value(f, a!), value(f, b!)];
      if (lo > hi) throw new Error(`${f.name}: range ${lo}-${hi} runs backwards`);
    } else {
      if (m[2] !== undefined)
        throw new Error(`${f.name}: a step needs * or a range before it, received ${JSON.stringify(part)}`);
      lo = hi = value(f, m[1]!);
    }
    for (let v = lo; v <= hi; v += step) out.add(f.name === 'day-of-week' && v === 7 ? 0 : v);
  }
  return [...out].sort((a, b) => a - b);
}

/** Parses an expression; throws an Error naming the field and what is wrong. */
export function parseCron(expression: string): CronSpec {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5 && parts.length !== 6)
    throw new Error(`expected 5 or 6 space-separated fields, received ${parts.length}`);
  const all = parts.length === 5 ? ['0', ...parts] : parts;
  const [second, minute, hour, dayOfMonth, month, dayOfWeek] = FIELDS.map((f, i) => field(f, all[i]!));
  return {
    expression,
    second: second!,
    minute: minute!,
    hour: hour!,
    dayOfMonth: dayOfMonth!,
    month: month!,
    dayOfWeek: dayOfWeek!,
  };
}

/** The cron error of an expression, or null when it is valid. */
export function cronError(expression: string): string | null {
  try {
    parseCron(expression);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/** The first time (UTC epoch ms, whole second) strictly after `fromMs` that matches; null when none within 5 years. */
export function nextCronMs(spec: CronSpec, fromMs: number): number | null {
  const start = Math.floor(fromMs / 1000) * 1000 + 1000;
  const d0 = new Date(start);
  let day = Date.UTC(d0.getUTCFullYear(), d0.getUTCMonth(), d0.getUTCDate());
  for (let i = 0; i < 366 * 5; i++, day += 86_400_000) {
    const d = new Date(day);
    if (
      !spec.month.includes(d.getUTCMonth() + 1) ||
      !spec.dayOfMonth.includes(d.getUTCDate()) ||
      !spec.dayOfWeek.includes(d.getUTCDay())
    )
      continue;
    for (const h of spec.hour)
      for (const m of spec.minute)
        for (const s of spec.second) {
          const t = day + h * 3_600_000 + m * 60_000 + s * 1000;
          if (t >= start) return t;
        }
  }
  return null;
}
