/**
 * Test knobs of `lightnode agent` (the hardware-in-the-loop bench; never for production), parsed here without I/O:
 * - `LIGHTNODE_CLOCK=offsetMs=N,speed=S,stepFile=PATH` (any subset): the agent's clock is `scaledClock` started at
 *   the system time + `offsetMs`, running `speed` times faster, plus the milliseconds written in `stepFile` (an
 *   integer, may be negative; the agent re-reads it every second, so a running process's clock jumps);
 * - `LIGHTNODE_FAILPOINTS=a,b` (comma list of `FAILPOINTS`): deliberate bugs the bench must catch.
 * Absent or empty variables: the system clock, no failpoints. Errors are CONFIG_INVALID naming the variable and the
 * bad part. The knobs are documented in edge/README.md § Test knobs.
 */
import { scaledClock, systemClock, type Clock } from './clock.js';
import { LightNodeError } from './errors.js';

/** `LIGHTNODE_CLOCK` parsed: `offsetMs` (default 0), `speed` (default 1, finite > 0), `stepFile` (optional). */
export interface ClockKnob {
  offsetMs: number;
  speed: number;
  stepFile?: string;
}

const CLOCK_KEYS = ['offsetMs', 'speed', 'stepFile'] as const;

function clockInvalid(part: string, expected: string): LightNodeError {
  return new LightNodeError(
    'CONFIG_INVALID',
    `LIGHTNODE_CLOCK: ${JSON.stringify(part)}: expected ${expected} (syntax: offsetMs=N,speed=S,stepFile=PATH, any subset)`,
    { variable: 'LIGHTNODE_CLOCK', part },
  );
}

/** An integer in ms (may be negative), as written in `offsetMs=` and in the step file. */
const INTEGER = /^[+-]?\d+$/;

/** Parses `LIGHTNODE_CLOCK`; undefined or blank → null (the system clock). */
export function parseClockKnob(text: string | undefined): ClockKnob | null {
  if (text === undefined || text.trim() === '') return null;
  const out: ClockKnob = { offsetMs: 0, speed: 1 };
  const seen = new Set<string>();
  for (const raw of text.split(',')) {
    const part = raw.trim();
    const eq = part.indexOf('=');
    if (eq < 0) throw clockInvalid(part, `key=value with key ∈ {${CLOCK_KEYS.join(', ')}}`);
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (!(CLOCK_KEYS as readonly string[]).includes(key))
      throw clockInvalid(part, `a key ∈ {${CLOCK_KEYS.join(', ')}}`);
    if (seen.has(key)) throw clockInvalid(part, `${key} given once`);
    seen.add(key);
    if (key === 'offsetMs') {
      const n = Number(value);
      if (!INTEGER.test(value) || !Number.isSafeInteger(n)) throw clockInvalid(part, 'offsetMs an integer (ms)');
      out.offsetMs = n;
    } else if (key === 'speed') {
      const n = value === '' ? NaN : Number(value);
      if (!(n > 0) || !Number.isFinite(n)) throw clockInvalid(part, 'speed a finite number > 0');
      out.speed = n;
    } else {
      if (value === '') throw clockInvalid(part, 'stepFile a path');
      out.stepFile = value;
    }
  }
  return out;
}

/**
 * The step file's content: an integer of ms (may be negative), surrounding white space ignored; empty → 0.
 * Anything else → CONFIG_INVALID naming the file and the text.
 */
export function parseClockStep(text: string, file: string): number {
  const s = text.trim();
  if (s === '') return 0;
  const n = Number(s);
  if (!INTEGER.test(s) || !Number.isSafeInteger(n))
    throw new LightNodeError(
      'CONFIG_INVALID',
      `LIGHTNODE_CLOCK stepFile ${file}: ${JSON.stringify(s.slice(0, 40))}: expected an integer of milliseconds (e.g. -300000)`,
      { variable: 'LIGHTNODE_CLOCK', file },
    );
  return n;
}

/** A clock whose `now()` moves by `stepMs` when it is set (like an NTP step: monotonic time and timers unaffected). */
export interface SteppedClock extends Clock {
  /** The current step, ms (may be negative). */
  stepMs: number;
}

/** `scaledClock({startMs: base.now() + offsetMs, speed})` plus `stepMs`: the clock `LIGHTNODE_CLOCK` describes. */
export function steppedClock(k: Pick<ClockKnob, 'offsetMs' | 'speed'>, base: Clock = systemClock): SteppedClock {
  const inner = scaledClock({ startMs: base.now() + k.offsetMs, speed: k.speed }, base);
  const c: SteppedClock = {
    stepMs: 0,
    now: () => inner.now() + c.stepMs,
    monotonic: () => inner.monotonic(),
    sleep: (ms, signal) => inner.sleep(ms, signal),
    setTimer: (ms, fn) => inner.setTimer(ms, fn),
  };
  return c;
}

/** The failpoints `LIGHTNODE_FAILPOINTS` knows (see edge/README.md § Test knobs). */
export const FAILPOINTS = ['outbox.ackBeforeCommit'] as const;
export type Failpoint = (typeof FAILPOINTS)[number];

/** Parses `LIGHTNODE_FAILPOINTS` (comma list, blanks ignored, duplicates once); undefined or blank → []. */
export function parseFailpoints(text: string | undefined): Failpoint[] {
  const out: Failpoint[] = [];
  for (const raw of (text ?? '').split(',')) {
    const name = raw.trim();
    if (name === '') continue;
    if (!(FAILPOINTS as readonly string[]).includes(name))
      throw new LightNodeError(
        'CONFIG_INVALID',
        `LIGHTNODE_FAILPOINTS: unknown failpoint ${JSON.stringify(name)}: known ones are ${FAILPOINTS.join(', ')}`,
        { variable: 'LIGHTNODE_FAILPOINTS', part: name, known: [...FAILPOINTS] },
      );
    if (!out.includes(name as Failpoint)) out.push(name as Failpoint);
  }
  return out;
}
