/**
 * Ships the store's queue over the uplink: acks / QoS reports / reports first, then batches and gap declarations in
 * seq order, at most `inflight` published and not yet acknowledged; each is marked delivered only on its PUBACK. On a
 * reconnect everything not acknowledged is published again (at least once; receivers deduplicate on (deviceId, seq)).
 */
import { topics } from '@lightnode/protocols';
import type { DurableQueue } from '../store/index.js';
import type { Uplink } from '../uplink/index.js';

const asBuffer = (b: Uint8Array): Buffer =>
  Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);

export class Shipper {
  private readonly inflight = new Set<number>();
  private busy = false;
  private stopped = false;
  delivered = 0;

  constructor(
    private readonly outbox: DurableQueue,
    private readonly uplink: Uplink,
    private readonly deviceId: string,
    private readonly window: number,
  ) {}

  get inFlight(): number {
    return this.inflight.size;
  }

  /** Forget what was in flight (after a reconnect it is all published again). */
  reset(): void {
    this.inflight.clear();
  }

  stop(): void {
    this.stopped = true;
  }

  /** Fills the in-flight window; call it after new batches are sealed and on every (re)connection. */
  kick(): void {
    if (this.busy || this.stopped || this.uplink.state !== 'connected') return;
    this.busy = true;
    try {
      for (;;) {
        const room = this.window - this.inflight.size;
        if (room <= 0 || this.uplink.state !== 'connected') break;
        const items = this.outbox.pending(room, this.inflight);
        if (!items.length) break;
        for (const it of items) {
          const key = it.id;
          this.inflight.add(key);
          this.uplink.publish(topics[it.kind](this.deviceId), asBuffer(it.payload)).then(
            () => {
              if (this.stopped) return;
              this.inflight.delete(key);
              try {
                this.outbox.markDelivered(it.id);
                this.delivered++;
              } catch {
                return; // the mark could not be written (OUTBOX_WRITE_FAILED): it stays pending, published again
              }
              this.kick();
            },
            () => this.inflight.delete(key),
          );
        }
      }
    } finally {
      this.busy = false;
    }
  }
}
