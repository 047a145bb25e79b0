/**
 * What the controller sends: every step to the audit log (`setpoint.<event>`), and the signed acks and QoS reports
 * through the durable queue — each audited (with the message seq it gets) before it is queued.
 */
import {
  signAck,
  signQosReport,
  type AckState,
  type Clock,
  type Eip712Domain,
  type Setpoint,
  type Signer,
} from '@lightnode/protocols';
import type { DurableQueue } from '../store/index.js';

/** The audit log as the controller uses it (`AuditLog` of audit.ts): a synchronous, durable append. */
export interface AuditSink {
  append(event: string, fields: Record<string, unknown>, opts?: { sync?: boolean }): { i: number; hash: string };
}

export interface OutboundDeps {
  clock: Clock;
  queue: DurableQueue;
  signer: Signer;
  domain: Eip712Domain;
  audit: AuditSink;
  /** Called after an ack or report was queued (the agent ships at once). */
  onQueued?: () => void;
}

export class Outbound {
  private deferred: (() => void)[] = [];
  constructor(private readonly d: OutboundDeps) {}

  /** Runs `fn` (an ack) at the next `flush()`, or within 100 ms at the latest. */
  defer(fn: () => void): void {
    this.deferred.push(fn);
    if (this.deferred.length === 1) this.d.clock.setTimer(100, () => this.flush());
  }

  /** Runs the deferred acks, in order. */
  flush(): void {
    for (const fn of this.deferred.splice(0)) fn();
  }

  /**
   * One step. Steps are written unsynced (the message, its checks, a command before its write: the latency of a
   * setpoint is not three fsyncs); an ack's or a report's entry is synced, and so is a readback (`sync: true`), so
   * every step is durable before the ack it leads to is queued, and a held command's rewrites at the latest at
   * their readback.
   */
  audit(event: string, fields: Record<string, unknown>, sync = false): void {
    this.d.audit.append(`setpoint.${event}`, fields, { sync });
  }

  /** Audits, signs and queues an ack; `appliedPowerW` is the PoD level (W, import +), rounded. */
  ack(
    setpointId: string,
    state: AckState,
    reason: string,
    appliedPowerW: number,
  ): { setpointId: string; state: AckState; reason: string; atMs: number } {
    const { clock, queue, signer, domain } = this.d;
    const atMs = clock.now();
    const applied = Math.round(appliedPowerW) + 0;
    this.audit('ack', { setpointId, state, reason, appliedPowerW: applied, seq: queue.nextMessageSeq() }, true);
    queue.enqueueMessage('ack', (seq) =>
      signAck(
        { version: 1, setpointId, deviceId: signer.address, state, reason, appliedPowerW: applied, atMs, seq },
        signer,
        domain,
      ),
    );
    this.d.onQueued?.();
    return { setpointId, state, reason, atMs };
  }

  /**
   * The QoS report after the window: requested = activePowerW · window, baseline = baselineW · window, delivered =
   * the PoD meter's import − export between its first reading in force and its last one (`delivered.wh`), scaled
   * to the window when that span is known and differs from it (readings are polled: the span is the window ± a poll
   * period, and at MV sizes a few seconds of a MW-level PoD outweigh the service), all Wh rounded.
   */
  qos(sp: Setpoint, delivered: { wh: number; from: string; spanMs?: number }): void {
    const { clock, queue, signer, domain } = this.d;
    const windowMs = sp.validUntilMs - sp.validFromMs;
    const wh =
      delivered.spanMs !== undefined && delivered.spanMs > 0
        ? (delivered.wh * windowMs) / delivered.spanMs
        : delivered.wh;
    const fields = {
      version: 1,
      setpointId: sp.id,
      deviceId: signer.address,
      podId: sp.podId,
      slotIndex: sp.slotIndex,
      requestedPowerW: sp.activePowerW,
      requestedEnergyWh: Math.round((sp.activePowerW * windowMs) / 3.6e6) + 0,
      baselineEnergyWh: Math.round((sp.baselineW * windowMs) / 3.6e6) + 0,
      deliveredEnergyWh: Math.round(wh) + 0,
    };
    const atMs = clock.now();
    this.audit('qos', { ...fields, deliveredFrom: delivered.from, seq: queue.nextMessageSeq() }, true);
    queue.enqueueMessage('qos', (seq) => signQosReport({ ...fields, atMs, seq }, signer, domain));
    this.d.onQueued?.();
  }
}
