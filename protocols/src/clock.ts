/** Time, injected everywhere (never `Date.now()` in library code). Epoch milliseconds, UTC. */
export interface Clock {
  /** Wall clock, UTC epoch ms (may jump when NTP steps the clock). */
  now(): number;
  /** Monotonic ms for durations and timeouts (never jumps). */
  monotonic(): number;
  /** Resolves after `ms` of this clock's time. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Calls `fn` after `ms`; returns a cancel function. */
  setTimer(ms: number, fn: () => void): () => void;
}

/** The real clock: `Date.now()` and `performance.now()`. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      const t = setTimeout(resolve, ms);
      signal?.addEventListener('abort', () => {
        clearTimeout(t);
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      });
    }),
  setTimer: (ms, fn) => {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};

/**
 * Simulated time that runs `speed` times faster than `base` (default the real clock): `now() = startMs + elapsed ·
 * speed`, where elapsed is `base`'s monotonic time since the call; timers and sleeps are scaled alike (a 60 s timer at
 * speed 60 fires after 1 s of `base` time). Used to replay a field day (the Tor di Valle run) in minutes. `speed` must
 * be > 0 and finite.
 */
export function scaledClock(o: { startMs: number; speed: number }, base: Clock = systemClock): Clock {
  if (!(o.speed > 0) || !Number.isFinite(o.speed))
    throw new RangeError(`scaledClock: speed must be a finite number > 0, received ${o.speed}`);
  const m0 = base.monotonic();
  const elapsed = (): number => (base.monotonic() - m0) * o.speed;
  return {
    now: () => Math.floor(o.startMs + elapsed()),
    monotonic: elapsed,
    sleep: (ms, signal) => base.sleep(Math.max(0, ms) / o.speed, signal),
    setTimer: (ms, fn) => base.setTimer(Math.max(0, ms) / o.speed, fn),
  };
}

/** A scaled clock that can also jump forward (the field test's day-ahead day → the activation morning). */
export interface SteppableClock extends Clock {
  /**
   * Moves `now()` forward to `ms` at once (no-op when already past it), like an NTP step: `monotonic()`, pending
   * timers and sleeps are unaffected (they stay relative), so schedule deadline-based work after the jump.
   */
  advanceTo(ms: number): void;
}

/** `scaledClock` with `advanceTo`: `now() = startMs + jumps + elapsed · speed`. */
export function steppableScaledClock(o: { startMs: number; speed: number }, base: Clock = systemClock): SteppableClock {
  const inner = scaledClock(o, base);
  let offset = 0;
  return {
    now: () => inner.now() + offset,
    monotonic: () => inner.monotonic(),
    sleep: (ms, signal) => inner.sleep(ms, signal),
    setTimer: (ms, fn) => inner.setTimer(ms, fn),
    advanceTo(ms) {
      const d = ms - (inner.now() + offset);
      if (d > 0) offset += Math.ceil(d);
    },
  };
}
