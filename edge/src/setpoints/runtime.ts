/**
 * The setpoint controller's runtime: the I/O around the pure parts (checks.ts, plan.ts, state.ts) — the link's
 * `setpoint` subscription, the nonce file, the audit log, the ESS adapter, the durable queue for acks and QoS
 * reports, and timers on the injected Clock. Every step is appended to the audit log before its ack is queued.
 * Adapter operations run one at a time (one chain), so a release never overtakes a write in flight.
 */
import { join } from 'node:path';
import {
  isLightNodeError,
  silentLogger,
  type AckState,
  LightNodeError,
  type Logger,
  type SignedSetpoint,
} from '@lightnode/protocols';
import type { Reading } from '../sources/index.js';
import { checkSetpoint, setpointIdOf, ZERO_ID, type RefusalCode } from './checks.js';
import { NONCE_FILE, readNonces, writeNonces } from './nonce-file.js';
import { planCommand, type Plan } from './plan.js';
import { Outbound } from './outbound.js';
import { afterRevert, observeAsset, revertedRecord, type RevertSeenBy } from './revert.js';
import { linkStateOf, newStatus, statusOf, type ControllerOptions, type ControllerStatus } from './runtime-types.js';
import { AssetView, EssAtPod, PodMeter, readback, RefusalLimiter, SiteFigure, withTimeout } from './runtime-parts.js';
import {
  accept,
  advanceNonce,
  afterReadback,
  ended,
  inForce,
  nextEdge,
  writeDue,
  type Drive,
  type Entry,
  type FallbackReason,
  type Nonces,
} from './state.js';
import type { EssAdapter, EssState } from './types.js';

export type { AuditSink } from './outbound.js';
export type { ControllerOptions, ControllerStatus } from './runtime-types.js';

const START_TIMEOUT_MS = 60_000;

export class SetpointController {
  private nonces: Nonces = {};
  private entries: Entry[] = [];
  private drive: Drive | null = null;
  private readonly site = new SiteFigure();
  private ops: Promise<void> = Promise.resolve();
  private cycleQueued = false;
  private cancelEdge: (() => void) | null = null;
  private unsubscribe: (() => void) | null = null;
  private stopped = false;
  /** The driven setpoint was superseded: release unless a newer one drives the asset at the next cycle. */
  private releasePending = false;
  private readonly essAtPod = new EssAtPod();
  private readonly pod = new PodMeter();
  private readonly limiter = new RefusalLimiter(10, 1000);
  private readonly s = newStatus();
  private readonly log: Logger;
  private readonly noncePath: string;
  private readonly out: Outbound;
  private readonly view: AssetView;

  constructor(private readonly o: ControllerOptions) {
    this.log = (o.logger ?? silentLogger).child({ component: 'setpoints' });
    this.noncePath = join(o.stateDir, NONCE_FILE);
    this.out = new Outbound(o);
    this.view = new AssetView(o.clock, o.pollMs ?? 1000);
  }

  /** Loads the nonces, subscribes to `setpoint`, starts the adapter (a failing start is logged, not fatal). */
  async start(): Promise<void> {
    this.nonces = readNonces(this.noncePath);
    this.unsubscribe = this.o.link.subscribe('setpoint', {
      onMessage: (m) => this.onMessage(m),
      onInvalid: (e, raw) => this.onInvalid(e, raw),
    });
    // discovery may take a while: on the adapter chain, not holding the agent's start
    void this.enqueueOp(() =>
      this.call('start', (a) => a.start(), START_TIMEOUT_MS).then(
        () => undefined,
        (e: unknown) => void this.adapterError(e),
      ),
    );
  }

  /** The agent's readings hook: the PoD meter's power and energies, then one control cycle. */
  onReadings(readings: readonly Reading[]): void {
    for (const r of readings) if (r.role === 'pod') this.pod.update(r);
    this.requestCycle();
  }

  /** Releases the asset if driven (`autonomous`, AGENT_STOP), unsubscribes, cancels the timers. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.out.flush();
    this.stopped = true;
    this.unsubscribe?.();
    this.cancelEdge?.();
    await this.enqueueOp(async () => {
      if (this.drive) await this.fallback('AGENT_STOP');
      await this.call('close', (a) => a.close()).catch((e: unknown) => this.adapterError(e));
    });
  }

  status(): ControllerStatus {
    const now = this.o.clock.now();
    return statusOf(this.s, this.entries, this.drive, now, linkStateOf(this.o.link, now, this.o.options.linkLossMs));
  }

  // ---- inbound

  private onInvalid(e: LightNodeError, raw: Uint8Array): void {
    if (this.stopped) return;
    const code = e.code === 'SCHEMA_INVALID' ? 'SCHEMA_INVALID' : 'DECODE_ERROR';
    this.refuse(code, ZERO_ID, e.message, () =>
      this.audit('message', { valid: false, bytes: raw.length, error: e.message }),
    );
  }

  private onMessage(m: SignedSetpoint): void {
    if (this.stopped) return;
    const now = this.o.clock.now();
    const out = checkSetpoint(m, {
      domain: this.o.domain,
      issuers: this.o.options.issuers.map((x) => x.toLowerCase()),
      podId: this.o.podId,
      maxLeadMs: this.o.options.maxLeadMs,
      nowMs: now,
      lastNonce: (issuer) => this.nonces[issuer],
    });
    // the message and each check, audited before the ack (a refusal suppressed by the rate limit is only counted)
    const auditSteps = (): void => {
      const setpointId = setpointIdOf(m.message);
      this.audit('message', { setpointId, message: m.message, signature: m.signature });
      for (const step of out.steps) this.audit('check', { setpointId, ...step });
    };
    if (!out.ok) return this.refuse(out.code, out.setpointId, out.message, auditSteps);
    auditSteps();
    const sp = out.setpoint;
    const nonces = advanceNonce(this.nonces, sp.issuer, sp.nonce);
    try {
      writeNonces(this.noncePath, nonces);
    } catch (e) {
      // not accepted without its nonce on disk (a replay after a restart must stay refused): no ack, the issuer resends
      this.audit('nonce_write_failed', { setpointId: sp.id, error: (e as Error).message });
      this.log.error('setpoint nonce file not written: setpoint dropped', { error: (e as Error).message });
      return;
    }
    this.nonces = nonces;
    const { entries, superseded } = accept(this.entries, sp);
    this.entries = entries;
    for (const x of superseded) {
      this.audit('superseded', { setpointId: x.sp.id, by: sp.id });
      if (this.drive?.id !== x.sp.id) continue;
      this.drive = null; // the newer one takes the asset over at the next cycle, or it is released
      this.releasePending = true;
    }
    // the cycle (and its register write) first, then the ack: queueing it costs two fsyncs (audit, SQLite) that the
    // write need not wait for; any later ack flushes it first, so acks keep their order
    this.armEdge();
    this.requestCycle();
    this.out.defer(() => this.ack(sp.id, sp.validFromMs > now ? 'scheduled' : 'received', '', 0));
  }

  private refuse(code: RefusalCode, setpointId: string, message: string, auditSteps: () => void): void {
    this.s.refusals.byCode[code] = (this.s.refusals.byCode[code] ?? 0) + 1;
    const gate = this.limiter.take(this.o.clock.monotonic());
    if (gate.suppressedBefore) this.audit('refusals_suppressed', { count: gate.suppressedBefore });
    if (!gate.ok) {
      this.s.refusals.suppressed++;
      return;
    }
    auditSteps();
    this.s.refusals.acked++;
    this.log.warn('setpoint refused', { code, setpointId, message });
    this.ack(setpointId, 'rejected', code, 0);
  }

  // ---- acks, reports, audit

  private audit(event: string, fields: Record<string, unknown>, sync = false): void {
    this.out.audit(event, fields, sync);
  }

  private ack(setpointId: string, state: AckState, reason: string, appliedPowerW: number): void {
    this.out.flush();
    this.s.lastAck = this.out.ack(setpointId, state, reason, appliedPowerW);
  }

  private qos(e: Entry): void {
    this.out.qos(e.sp, this.pod.energySince(e.startMark, e.endMark));
  }

  private acted(): void {
    this.essAtPod.acted(this.o.clock.now());
    this.view.acted();
  }

  private async release(): Promise<void> {
    await this.call('release', (a) => a.release()).catch((err: unknown) => this.adapterError(err));
    this.acted();
  }

  /** A state of the asset its telemetry source read (the controller regulates on it: see AssetView). */
  observe(s: EssState): void {
    this.view.observe(s);
  }

  /** An adapter call, ADAPTER_TIMEOUT when it does not answer within readbackTimeoutMs. */
  private call<T>(what: string, fn: (a: EssAdapter) => Promise<T>, ms = this.o.options.readbackTimeoutMs): Promise<T> {
    const a = this.o.adapter;
    return withTimeout(fn(a), this.o.clock, ms, `ESS ${a.id} ${what}`);
  }

  private adapterError(e: unknown): string {
    const code = isLightNodeError(e) ? e.code : 'IO_ERROR';
    const message = (e as Error).message;
    this.s.adapterErrors++;
    this.s.lastAdapterError = { code, message };
    this.log.warn('ESS adapter error', { code, error: message });
    return code;
  }

  // ---- time: window edges, link loss

  private armEdge(): void {
    this.cancelEdge?.();
    this.cancelEdge = null;
    const now = this.o.clock.now();
    const at = nextEdge(this.entries, now);
    if (at === undefined || this.stopped) return;
    this.cancelEdge = this.o.clock.setTimer(at - now, () => {
      this.cancelEdge = null;
      this.requestCycle();
    });
  }

  private enqueueOp(fn: () => Promise<void>): Promise<void> {
    this.ops = this.ops.then(fn).catch((e: unknown) => {
      this.log.error('setpoint controller step failed', { error: (e as Error).message });
    });
    return this.ops;
  }

  private requestCycle(): void {
    if (this.cycleQueued || this.stopped) return;
    this.cycleQueued = true;
    void this.enqueueOp(async () => {
      this.cycleQueued = false;
      await this.cycle().finally(() => this.out.flush());
    });
  }

  // ---- the control cycle

  private async cycle(): Promise<void> {
    const now = this.o.clock.now();
    const { done, rest } = ended(this.entries, now);
    this.entries = rest;
    for (const e of done) await this.endWindow(e);
    this.armEdge();
    const e = inForce(this.entries, now);
    if (this.releasePending && (!e || e.fallback)) {
      this.audit('release', { reason: 'superseded' });
      await this.release();
    }
    this.releasePending = false;
    if (!e) return;
    e.started = true;
    if (!e.startMark && this.pod.lastTsMs !== undefined) e.startMark = this.pod.mark(); // the first PoD reading in force
    if ((this.pod.markTsMs ?? Infinity) < e.sp.validUntilMs) e.endMark = this.pod.mark();
    if (e.fallback) return;
    if (this.drive?.id !== e.sp.id) this.drive = { id: e.sp.id, confirmed: false, failedReadbacks: 0 };
    if (linkStateOf(this.o.link, this.o.clock.now(), this.o.options.linkLossMs).lost) {
      e.fallback = 'LINK_LOST';
      return this.fallback('LINK_LOST');
    }
    await this.driveStep(e);
  }

  private async driveStep(e: Entry): Promise<void> {
    const o = this.o.options;
    const d = this.drive!;
    let seen: { state: EssState; seenBy?: RevertSeenBy };
    try {
      const pod = { podW: this.pod.powerW, siteW: this.site.siteW };
      const read = (): Promise<EssState> => this.call('read', (a) => a.read());
      seen = await observeAsset(d, this.view.fresh(), read, pod, o.readbackToleranceW);
    } catch (err) {
      return this.failed(e, undefined, { code: this.adapterError(err), message: (err as Error).message });
    }
    const { state, seenBy } = seen;
    if (seenBy) this.reverted(e, state, seenBy);
    this.essAtPod.seen(state.essPowerW);
    const podPowerW = this.pod.powerW;
    if (podPowerW === undefined) return; // no PoD reading yet: nothing to regulate on
    const pair =
      (seenBy && this.site.held(state)) ||
      this.site.pair(podPowerW, this.essAtPod.at(this.pod.lastTsMs ?? -Infinity, state.essPowerW), state);
    if (!pair) return; // no site figure yet: wait for a fresh PoD reading
    const { podW, essW: essAtPodW } = pair;
    const mono = this.o.clock.monotonic();
    const dd = this.drive!;
    const plan = planCommand({
      targetPodW: e.sp.activePowerW,
      podPowerW: podW,
      essPowerW: essAtPodW,
      socPermille: state.socPermille,
      limits: this.o.limits,
      nowMs: this.o.clock.now(),
      validUntilMs: e.sp.validUntilMs,
      ...(dd.lastCommandW !== undefined ? { lastCommandW: dd.lastCommandW } : {}),
      elapsedMs: dd.lastWriteMono !== undefined && dd.lastWriteMono > -Infinity ? mono - dd.lastWriteMono : 1000,
    });
    if (!writeDue(dd, plan, mono, o)) return;
    await this.write(e, plan, podW + essAtPodW);
  }

  /** One `reverted` ack naming what saw it first; the command is written again in this cycle. */
  private reverted(e: Entry, state: EssState, seenBy: RevertSeenBy): void {
    const d = this.drive!;
    this.audit('reverted', revertedRecord(e.sp.id, seenBy, d, state, this.pod.powerW));
    this.ack(e.sp.id, 'reverted', seenBy, this.pod.powerW ?? 0);
    this.drive = afterRevert(d);
  }

  private async write(e: Entry, plan: Plan, siteW: number): Promise<void> {
    const o = this.o.options;
    this.audit('command', {
      setpointId: e.sp.id,
      commandW: plan.commandW,
      desiredW: plan.desiredW,
      reason: plan.reason ?? '',
      revertS: o.revertS,
    });
    this.drive = { ...this.drive!, lastCommandW: plan.commandW, lastWriteMono: this.o.clock.monotonic() };
    this.s.commands++;
    this.acted();
    try {
      await this.call('command', (a) => a.command(plan.commandW, o.revertS)).finally(() => this.out.flush());
    } catch (err) {
      return this.failed(e, plan, { code: this.adapterError(err), message: (err as Error).message });
    }
    const r = await readback(() => this.call('read', (a) => a.read()), this.o.clock, {
      commandW: plan.commandW,
      toleranceW: o.readbackToleranceW,
      timeoutMs: o.readbackTimeoutMs,
      pollMs: this.o.pollMs ?? 1000,
    });
    this.audit('readback', { setpointId: e.sp.id, commandW: plan.commandW, ...r }, true);
    if (r.essPowerW !== undefined) this.essAtPod.seen(r.essPowerW);
    if (!r.ok) {
      if (r.code === 'ADAPTER_TIMEOUT') this.adapterError(new LightNodeError('ADAPTER_TIMEOUT', r.message));
      return this.failed(e, plan, r);
    }
    const next = afterReadback(this.drive, r, plan);
    this.drive = next.drive;
    if (next.ack) this.ack(e.sp.id, next.ack.state, next.ack.reason, siteW - r.essPowerW);
  }

  /** A failed write or readback: `not_applied` with the code, the second in a row → fallback. */
  private async failed(
    e: Entry,
    plan: Plan | undefined,
    r: { code: string; message: string; essPowerW?: number },
  ): Promise<void> {
    this.s.readbackFailures++;
    const next = afterReadback(this.drive!, { ok: false, ...r }, plan ?? { ramping: false });
    this.drive = next.drive;
    if (next.ack) this.ack(e.sp.id, next.ack.state, next.ack.reason, this.pod.powerW ?? 0);
    if (next.fallback) {
      e.fallback = next.fallback;
      await this.fallback(next.fallback);
    }
  }

  /** Back to autonomous: release, then the `autonomous` ack naming the cause. */
  private async fallback(reason: FallbackReason): Promise<void> {
    const d = this.drive;
    this.drive = null;
    if (!d) return;
    this.s.fallbacks[reason] = (this.s.fallbacks[reason] ?? 0) + 1;
    this.audit('fallback', { setpointId: d.id, reason });
    await this.release();
    this.ack(d.id, 'autonomous', reason, this.pod.powerW ?? 0);
  }

  /** The window's end: release and `expired` if it was driven, then its QoS report. */
  private async endWindow(e: Entry): Promise<void> {
    if (this.drive?.id === e.sp.id) {
      this.drive = null;
      this.audit('expired', { setpointId: e.sp.id });
      await this.release();
      this.ack(e.sp.id, 'expired', '', this.pod.powerW ?? 0);
    }
    if (e.started) this.qos(e);
  }
}
