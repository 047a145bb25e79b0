/**
 * The agent's loop: readings from the sources → one commit per cycle → the store's batcher (windows sealed at their
 * edge into signed batches) → the durable queue → the shipper (acks and QoS reports before the backlog).
 *
 * A full disk (OUTBOX_WRITE_FAILED from the store) raises the alarm and nothing else stops: sources keep polling, the
 * cycle completes (the watchdog is fed — a restart frees no disk), and the readings wait in memory, seqs already
 * given, up to `maxHeldSamples` (edge/README.md § Full disk). They are committed with the first write that succeeds;
 * beyond the bound the oldest are declared in one signed gap (`reason: "store_write_failed"`), never dropped without
 * trace. The alarm clears on the next cycle whose writes all succeed.
 */
import { isLightNodeError, silentLogger, type Clock, type Logger, type Sample } from '@lightnode/protocols';
import type { Link } from '../link/link.js';
import type { MeterSource, Reading } from '../sources/index.js';
import type { Store } from '../store/index.js';
import { Shipper } from './shipper.js';

/** Readings held in memory while store writes fail, at most (then declared lost in a signed gap). */
export const DEFAULT_MAX_HELD_SAMPLES = 3600;

export interface LoopOptions {
  clock: Clock;
  logger?: Logger;
  store: Store;
  link: Link;
  sources: readonly MeterSource[];
  /** Cycle period, ms (default 1000). */
  cycleMs?: number;
  /** Items published and not yet acknowledged at once (default 16). */
  inflight?: number;
  maxHeldSamples?: number;
  /** Called after every completed cycle (systemd watchdog, status changes). */
  onCycle?: () => void;
}

export type ReadingsListener = (readings: readonly Reading[], atMs: number) => void;

export interface LoopStats {
  cycles: number;
  lastCycleMs?: number;
  commits: number;
  failedCommits: number;
  /** Cycles that failed for another reason than a store write (not completed: no watchdog). */
  failedCycles: number;
  /** Readings waiting in memory for a successful write. */
  heldSamples: number;
  /** Samples declared lost (signed gaps, `store_write_failed`) since start. */
  lostSamples: number;
  listenerErrors: number;
  delivered: number;
  inFlight: number;
  /** Set while the OUTBOX_WRITE_FAILED alarm stands. */
  writeFailure?: { sinceMs: number; message: string };
}

export class AgentLoop {
  readonly shipper: Shipper;
  private readonly log: Logger;
  private readonly collected: Reading[] = [];
  /** Readings not yet given seqs (allocation itself failed) and samples given seqs, not yet stored. */
  private heldReadings: Reading[] = [];
  private heldSamples: Sample[] = [];
  private readonly listeners = new Set<ReadingsListener>();
  private cancel: (() => void) | null = null;
  private polling = false;
  private nextDueMs = 0;
  private readonly s: LoopStats = {
    cycles: 0,
    commits: 0,
    failedCommits: 0,
    failedCycles: 0,
    heldSamples: 0,
    lostSamples: 0,
    listenerErrors: 0,
    delivered: 0,
    inFlight: 0,
  };

  constructor(private readonly o: LoopOptions) {
    this.log = (o.logger ?? silentLogger).child({ component: 'loop' });
    this.shipper = new Shipper(o.store, o.link, o.inflight ?? 16, this.log);
  }

  /** Starts the sources and the cycle timer (the first cycle one period from now). */
  start(): void {
    this.polling = true;
    for (const s of this.o.sources) s.start((r) => this.collected.push(r));
    this.nextDueMs = this.o.clock.monotonic(); // due times in monotonic time: a wall-clock step must not stall cycles
    this.schedule();
  }

  private schedule(): void {
    if (!this.polling) return;
    const period = this.o.cycleMs ?? 1000;
    const now = this.o.clock.monotonic();
    this.nextDueMs += period;
    if (this.nextDueMs <= now) this.nextDueMs = now + period;
    this.cancel = this.o.clock.setTimer(this.nextDueMs - now, () => {
      try {
        this.cycle();
      } catch (e) {
        // not a write failure: a bug or a corrupt store. The cycle did not complete (no watchdog for it).
        this.s.failedCycles++;
        this.log.error('cycle failed', { error: (e as Error).message });
      }
      this.schedule();
    });
  }

  onReadings(fn: ReadingsListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** One cycle: commit what the sources emitted since the last one (one transaction), seal due windows, ship. */
  cycle(): void {
    const readings = this.collected.splice(0);
    this.heldReadings.push(...readings);
    const atMs = this.o.clock.now();
    try {
      if (this.heldReadings.length) {
        this.heldSamples.push(...this.o.store.allocate(this.heldReadings));
        this.heldReadings = [];
      }
      if (this.heldSamples.length) {
        this.o.store.commit(this.heldSamples);
        this.heldSamples = [];
        this.s.commits++;
      }
      this.o.store.sealDue();
      if (this.s.writeFailure) this.log.info('store writes succeed again: OUTBOX_WRITE_FAILED cleared');
      delete this.s.writeFailure;
    } catch (e) {
      if (!isLightNodeError(e, 'OUTBOX_WRITE_FAILED')) throw e;
      this.s.failedCommits++;
      if (!this.s.writeFailure) this.log.error('store write failed: readings held in memory', { error: e.message });
      this.s.writeFailure ??= { sinceMs: atMs, message: e.message };
      this.bound();
    }
    this.s.cycles++;
    this.s.lastCycleMs = atMs;
    for (const fn of this.listeners)
      try {
        fn(readings, atMs);
      } catch (e) {
        this.s.listenerErrors++;
        this.log.warn('a readings listener threw', { error: (e as Error).message });
      }
    this.ship();
    this.o.onCycle?.();
  }

  /** Beyond the bound, the oldest held samples are declared lost in one signed gap. */
  private bound(): void {
    const max = this.o.maxHeldSamples ?? DEFAULT_MAX_HELD_SAMPLES;
    let excess = this.heldReadings.length + this.heldSamples.length - max;
    if (excess <= 0) return;
    if (this.heldSamples.length < excess && this.heldReadings.length)
      try {
        this.heldSamples.push(...this.o.store.allocate(this.heldReadings));
        this.heldReadings = [];
      } catch {
        // no seqs to declare them under yet: they stay held (the seq file could not be advanced either)
      }
    excess = Math.min(excess, this.heldSamples.length);
    if (excess <= 0) return;
    const lost = this.heldSamples.splice(0, excess);
    this.o.store.declareLost(lost, 'store_write_failed');
    this.s.lostSamples += lost.length;
    this.log.error('readings beyond the in-memory bound declared in a signed gap', {
      firstSeq: lost[0]!.seq,
      lastSeq: lost.at(-1)!.seq,
      reason: 'store_write_failed',
    });
  }

  ship(): void {
    this.shipper.kick();
  }

  /** Stops the sources and the timer; commits what they emitted (a last cycle, without listeners' delay). */
  async stopPolling(): Promise<void> {
    this.polling = false;
    this.cancel?.();
    await Promise.all(this.o.sources.map((s) => s.stop()));
    if (this.collected.length || this.heldReadings.length || this.heldSamples.length) this.cycle();
  }

  /** Seals everything and ships until the queue is empty or `timeoutMs` passes. */
  async drain(timeoutMs: number): Promise<boolean> {
    const until = this.o.clock.monotonic() + timeoutMs;
    this.o.store.sealDue(true);
    for (;;) {
      this.ship();
      const s = this.o.store.stats();
      if (s.undeliveredBatches + s.undeliveredGaps + s.undeliveredMessages + s.unsealedSamples === 0) return true;
      if (this.o.clock.monotonic() >= until) return false;
      await this.o.clock.sleep(50);
    }
  }

  stopShipping(): void {
    this.shipper.stop();
  }

  get writeFailure(): LoopStats['writeFailure'] {
    return this.s.writeFailure;
  }

  stats(): LoopStats {
    return {
      ...this.s,
      heldSamples: this.heldReadings.length + this.heldSamples.length,
      delivered: this.shipper.delivered,
      inFlight: this.shipper.inFlight,
    };
  }
}
