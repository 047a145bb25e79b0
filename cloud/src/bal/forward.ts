/**
 * The BAL's forwarding of the devices' signed messages from its ledger to the SCD: declared gaps (`ingestGaps`, every
 * window) and verified acks and QoS reports (`ingestMessages`, on arrival and every window: one delivery at a time,
 * the oldest first, up to 500 per delivery). A failure leaves them pending for the next window; a SEQ_CONFLICT from
 * the SCD (another BAL stored other content for that (deviceId, seq)) dead-letters the message it names, and the
 * others go in the next delivery.
 */
import {
  isLightNodeError,
  topics,
  type Logger,
  type SignedAck,
  type SignedGap,
  type SignedQosReport,
} from '@lightnode/protocols';
import type { DeliveredMessage, ScdSink } from '../delivery.js';
import type { BalLedger, MessageRow } from './ledger.js';
import { conflictIndex } from './messages.js';

/** At most this many acks / QoS reports per delivery to the SCD. */
export const MESSAGES_PER_DELIVERY = 500;

export interface MessageForwarderOptions {
  id: string;
  ledger: BalLedger;
  sink: ScdSink;
  log: Logger;
  counters: { messagesForwarded: number; forwardFailures: number };
  /** The BAL's dead-letter path. */
  deadLetter(topic: string, payload: Uint8Array, e: unknown, deviceId: string): void;
}

export class MessageForwarder {
  private forwarding: Promise<void> | undefined;
  private again = false;

  constructor(private readonly o: MessageForwarderOptions) {}

  /** Forwards what is pending; a call while a delivery is in flight makes it run once more. Never throws. */
  forward(): Promise<void> {
    if (this.forwarding) {
      this.again = true;
      return this.forwarding;
    }
    this.forwarding = (async () => {
      do {
        this.again = false;
        while (await this.forwardSome());
      } while (this.again);
    })().finally(() => (this.forwarding = undefined));
    return this.forwarding;
  }

  /** Forwards the declared gaps not yet forwarded, in one delivery. Never throws. */
  async forwardGaps(): Promise<void> {
    const gs = this.o.ledger.declaredToForward();
    if (gs.length === 0) return;
    try {
      await this.o.sink.ingestGaps({
        v: 1,
        bal: this.o.id,
        gaps: gs.map((g) => ({ signed: JSON.parse(g.signed!) as SignedGap, receivedMs: g.atMs })),
      });
      this.o.ledger.markGapsForwarded(gs);
    } catch (e) {
      this.o.counters.forwardFailures += 1;
      this.o.log.warn('forwarding declared gaps to the SCD failed; retried next window', {
        error: (e as Error).message,
      });
    }
  }

  /** Resolves when no delivery is in flight. */
  async idle(): Promise<void> {
    await this.forwarding;
  }

  /** One delivery of pending messages; true when more may be pending. */
  private async forwardSome(): Promise<boolean> {
    const { ledger, log, counters } = this.o;
    let rows: MessageRow[];
    try {
      rows = ledger.messages.pending(MESSAGES_PER_DELIVERY);
    } catch (e) {
      log.error('reading pending acks / QoS reports failed', { error: (e as Error).message });
      return false;
    }
    if (rows.length === 0) return false;
    const messages = rows.map((r): DeliveredMessage => {
      const signed = JSON.parse(r.signed) as SignedAck | SignedQosReport;
      return { ...signed, deviceId: r.deviceId, receivedMs: r.receivedMs };
    });
    try {
      await this.o.sink.ingestMessages({ v: 1, bal: this.o.id, messages });
      ledger.messages.markForwarded(rows);
      counters.messagesForwarded += rows.length;
      log.debug('acks / QoS reports forwarded to the SCD', { count: rows.length });
      return rows.length === MESSAGES_PER_DELIVERY;
    } catch (e) {
      const i = isLightNodeError(e, 'SEQ_CONFLICT') ? conflictIndex(e) : undefined;
      const r = i === undefined ? undefined : rows[i];
      if (r) {
        ledger.messages.refuse(r);
        this.o.deadLetter(topics[r.kind](r.deviceId), Buffer.from(r.signed), e, r.deviceId);
        return true;
      }
      counters.forwardFailures += 1;
      log.warn('forwarding acks / QoS reports to the SCD failed; retried next window', {
        pending: rows.length,
        error: (e as Error).message,
      });
      return false;
    }
  }
}
