/**
 * A source's own scheduler: runs `poll` every `pollMs` on the injected Clock, the next due time advancing by the
 * period (no drift), skipping periods a slow poll overran rather than bunching them. Due times are in monotonic
 * time: a step of the wall clock (NTP, LIGHTNODE_CLOCK) neither stalls nor bunches the polls. `stop()` cancels the timer and
 * waits for a poll in flight, so nothing is emitted after it returns.
 */
import type { Clock } from '@lightnode/protocols';

export class Poller {
  private cancel: (() => void) | null = null;
  private inFlight: Promise<void> | null = null;
  private running = false;
  private nextDueMs = 0;

  constructor(
    private readonly clock: Clock,
    private readonly pollMs: number,
    private readonly poll: () => Promise<void>,
  ) {}

  get active(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.nextDueMs = this.clock.monotonic();
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    this.cancel = this.clock.setTimer(delayMs, () => {
      this.cancel = null;
      this.inFlight = this.poll()
        .catch(() => undefined)
        .finally(() => {
          this.inFlight = null;
          const now = this.clock.monotonic();
          this.nextDueMs += this.pollMs;
          if (this.nextDueMs <= now) this.nextDueMs = now + this.pollMs;
          this.schedule(this.nextDueMs - now);
        });
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    this.cancel?.();
    this.cancel = null;
    await this.inFlight;
  }
}
