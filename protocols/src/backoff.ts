/**
 * The one retry / reconnect policy of Light Node: exponential backoff with jitter and a cap. Pure: the caller owns
 * the timer and the random source (tests inject one). Used by the MQTT uplink, the Chain 2 transports, the Modbus
 * line (a failing device) and the BAL (key-register wait, MQTT reconnect). MQTT.js reconnects at a fixed 1 s; we do
 * not.
 *
 * Step for attempt n (0-based): `min(maxMs, baseMs · 2^n)`.
 * - `full` jitter: delay uniform in [0, step) — spreads a fleet that lost its broker at the same instant;
 * - `equal` jitter: delay uniform in [step/2, step) — never retries sooner than half the step.
 */
export interface BackoffPolicy {
  /** First step, ms (> 0). */
  baseMs: number;
  /** Cap on any step, ms (≥ baseMs). */
  maxMs: number;
  jitter: 'full' | 'equal';
}

/** The delay before retry number `attempt` (0-based), ms: an integer in [0, min(maxMs, baseMs·2^attempt)]. */
export function backoff(policy: BackoffPolicy, attempt: number, random: () => number): number {
  const n = Number.isFinite(attempt) && attempt > 0 ? Math.floor(attempt) : 0;
  const base = Math.max(0, policy.baseMs);
  const max = Math.max(base, policy.maxMs);
  // 2^n overflows to Infinity for n > 1023: cap the exponent where the step is already at max
  const step = n >= 1024 ? max : Math.min(max, base * 2 ** n);
  const r = Math.min(Math.max(random(), 0), 1);
  const delay = policy.jitter === 'equal' ? step / 2 + (r * step) / 2 : r * step;
  return Math.min(step, Math.floor(delay));
}

/** Stateful wrapper: `next()` returns the next delay and counts the attempt; `reset()` after a success. */
export class Backoff {
  private n = 0;

  constructor(
    readonly policy: BackoffPolicy,
    private readonly random: () => number = Math.random,
  ) {}

  /** Attempts made since the last reset. */
  get attempt(): number {
    return this.n;
  }

  next(): number {
    const d = backoff(this.policy, this.n, this.random);
    if (this.n < 1024) this.n++;
    return d;
  }

  reset(): void {
    this.n = 0;
  }
}
