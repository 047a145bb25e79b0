/**
 * Ships the durable queue over the link: acks, QoS reports and reports first, then batches and gaps in seq order (the
 * queue's `pending` order), at most `window` published and not yet acknowledged; each item is marked delivered only
 * on its PUBACK. On a reconnect everything not acknowledged is published again (at least once; receivers
 * deduplicate). Each item's payload was encoded once by its leaf's codec and is published as is.
 */
import { silentLogger, type Logger } from '@lightnode/protocols';
import type { Link } from '../link/link.js';
import type { DurableQueue } from '../store/index.js';

export class Shipper {
  private readonly inflight = new Set<number>();
  private busy = false;
  private stopped = false;
  private generation = 0;
  delivered = 0;
  /** Publishes that failed (dropped connection); the item is published again later. */
  failed = 0;

  constructor(
    private readonly queue: DurableQueue,
    private readonly link: Link,
    private readonly window: number,
    private readonly log: Logger = silentLogger,
  ) {}

  get inFlight(): number {
    return this.inflight.size;
  }

  /** Forget what was in flight (after a reconnect it is all published again). */
  reset(): void {
    this.generation++;
    this.inflight.clear();
  }

  stop(): void {
    this.stopped = true;
  }

  /** Fills the in-flight window; call it after new items are queued and on every (re)connection. */
  kick(): void {
    if (this.busy || this.stopped || this.link.state !== 'connected') return;
    this.busy = true;
    try {
      for (;;) {
        const room = this.window - this.inflight.size;
        if (room <= 0 || this.link.state !== 'connected') break;
        const items = this.queue.pending(room, this.inflight);
        if (!items.length) break;
        for (const it of items) {
          this.inflight.add(it.id);
          const gen = this.generation;
          this.link.publish(it.kind, it.payload).then(
            () => {
              if (this.stopped) return;
              try {
                this.queue.markDelivered(it.id);
                this.delivered++;
              } catch (e) {
                // not marked: published again later (at least once)
                this.log.warn('marking an item delivered failed', { id: it.id, error: (e as Error).message });
              }
              if (gen === this.generation) this.inflight.delete(it.id);
              this.kick();
            },
            () => {
              this.failed++;
              if (gen === this.generation) this.inflight.delete(it.id);
            },
          );
        }
      }
    } finally {
      this.busy = false;
    }
  }
}
