/** A manual clock for deterministic tests (subpath `@lightnode/protocols/testing`). */
import type { Clock } from '../clock.js';

/**
 * A manual clock for deterministic tests: time moves only through `advance()` / `runUntil()`, which fire due
 * timers in time order.
 */
export class FakeClock implements Clock {
  private t: number;
  private mono = 0;
  private nextId = 0;
  private timers: { id: number; at: number; fn: () => void }[] = [];

  constructor(startMs = Date.UTC(2021, 5, 22, 22, 0, 0)) {
    this.t = startMs;
  }
  now(): number {
    return this.t;
  }
  monotonic(): number {
    return this.mono;
  }
  setTimer(ms: number, fn: () => void): () => void {
    const id = this.nextId++;
    this.timers.push({ id, at: this.mono + Math.max(0, ms), fn });
    this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
    return () => {
      this.timers = this.timers.filter((x) => x.id !== id);
    };
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const cancel = this.setTimer(ms, resolve);
      signal?.addEventListener('abort', () => {
        cancel();
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      });
    });
  }
  /** Number of pending timers. */
  get pending(): number {
    return this.timers.length;
  }
  /** Moves time forward by `ms`, firing timers due on the way (and awaiting microtasks between them). */
  async advance(ms: number): Promise<void> {
    const end = this.mono + ms;
    for (;;) {
      await flushMicrotasks();
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t += next.at - this.mono;
      this.mono = next.at;
      next.fn();
    }
    this.t += end - this.mono;
    this.mono = end;
    await flushMicrotasks();
  }
}

/** Lets every pending promise chain run: one macrotask turn drains the whole microtask queue. */
async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
