/**
 * An adapter whose start (SunSpec discovery, a first connection) is retried until it succeeds: a battery that is off
 * or unreachable when the agent boots is found later, without a restart. `start()` is idempotent; `read`, `command`
 * and `release` start it first when needed — at most one attempt per backoff step (1 s doubling to 60 s), otherwise
 * they fail at once with the last start error (typed, as the inner adapter threw it). `close()` is idempotent.
 */
import { Backoff, type Clock } from '@lightnode/protocols';
import type { EssAdapter, EssAdapterKind, EssState } from './types.js';

export class RetryingStartAdapter implements EssAdapter {
  private started = false;
  private closed = false;
  private pending: Promise<void> | null = null;
  private lastError: Error = new Error('not started');
  private nextTryMono = -Infinity;
  private readonly backoff: Backoff;

  constructor(
    readonly inner: EssAdapter,
    private readonly clock: Clock,
    random?: () => number,
  ) {
    this.backoff = new Backoff({ baseMs: 1000, maxMs: 60_000, jitter: 'equal' }, random);
  }

  get id(): string {
    return this.inner.id;
  }
  get kind(): EssAdapterKind {
    return this.inner.kind;
  }
  get isStarted(): boolean {
    return this.started;
  }

  start(): Promise<void> {
    return this.ensure(true);
  }

  private ensure(now = false): Promise<void> {
    if (this.started) return Promise.resolve();
    if (this.pending) return this.pending;
    if (!now && this.clock.monotonic() < this.nextTryMono) return Promise.reject(this.lastError);
    this.pending = this.inner
      .start()
      .then(
        () => {
          this.started = true;
          this.backoff.reset();
        },
        (e: unknown) => {
          this.lastError = e instanceof Error ? e : new Error(String(e));
          this.nextTryMono = this.clock.monotonic() + this.backoff.next();
          throw e;
        },
      )
      .finally(() => {
        this.pending = null;
      });
    return this.pending;
  }

  async read(): Promise<EssState> {
    await this.ensure();
    return this.inner.read();
  }

  async command(w: number, revertS: number): Promise<void> {
    await this.ensure();
    return this.inner.command(w, revertS);
  }

  async release(): Promise<void> {
    await this.ensure();
    return this.inner.release();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.inner.close();
  }
}
