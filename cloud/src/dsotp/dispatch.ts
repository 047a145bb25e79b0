/**
 * Dispatch of a validated outcome: one setpoint per (PoD, slot) with a validated service, fired 5 min before the
 * slot on the injected clock (at once when that moment has passed but the slot has not ended). The setpoint:
 * `activePowerW` = round(level × 1000), level = the PoD's baseline + Σ (acceptedPValue − baseline) of its validated
 * services in the slot (one service: its acceptedPValue); `baselineW` = the slot's SCD baseline; `slotIndex`;
 * `marketSession` = the session id; `playerServiceId` = the offer's (several services on one PoD and slot: their ids
 * joined by `,`); window = the slot [start, start + 15 min); nonce = max(last + 1, now ms), written durably to
 * `<dir>/dsotp-nonce.json` before the setpoint is stored (`POST /setpoints`) and published QoS 1 on
 * `ln/v1/{deviceId}/setpoint`. A PoD without a device, without a baseline, or whose validated level is its
 * baseline, is skipped and reported.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  LightNodeError,
  signSetpoint,
  type Clock,
  type Eip712Domain,
  type Logger,
  type Signer,
} from '@lightnode/protocols';
import { buildSetpoint, publishSetpoint } from '../operator/setpoint.js';
import type { JsonClient } from '../http/client.js';

export const DISPATCH_LEAD_MS = 5 * 60_000;
const SLOT_MS = 900_000;

/** One service of a validated outcome (the fields dispatch reads). */
export interface ValidatedService {
  index: number;
  acceptedPValue: number;
  playerServiceId: string;
  playerRequestId?: string;
}

export interface DispatchItem {
  pod: string;
  deviceId: string;
  index: number;
  activePowerW: number;
  baselineW: number;
  playerServiceId: string;
  validFromMs: number;
  validUntilMs: number;
  fireAtMs: number;
}

export interface DispatchPlan {
  session: string;
  items: DispatchItem[];
  skipped: { pod: string; index: number; reason: string }[];
}

/** The dispatch plan of a validated outcome (pure). */
export function planDispatch(o: {
  session: string;
  dayStartMs: number;
  flexibility: readonly { pod: string; power: readonly ValidatedService[] }[];
  deviceOf: (pod: string) => string | undefined;
  baselineW: (pod: string, index: number) => number | undefined;
  nowMs: number;
}): DispatchPlan {
  const groups = new Map<string, { pod: string; index: number; services: ValidatedService[] }>();
  for (const f of o.flexibility)
    for (const p of f.power) {
      const k = `${f.pod}\u0000${p.index}`;
      const g = groups.get(k) ?? { pod: f.pod, index: p.index, services: [] };
      g.services.push(p);
      groups.set(k, g);
    }
  const plan: DispatchPlan = { session: o.session, items: [], skipped: [] };
  for (const { pod, index, services } of [...groups.values()].sort((a, b) => a.index - b.index)) {
    const skip = (reason: string): void => void plan.skipped.push({ pod, index, reason });
    const baselineW = o.baselineW(pod, index);
    const deviceId = o.deviceOf(pod);
    const validFromMs = o.dayStartMs + index * SLOT_MS;
    if (baselineW === undefined) skip('no SCD baseline for the slot');
    else if (!deviceId) skip('no device registered for the PoD');
    else if (o.nowMs >= validFromMs + SLOT_MS) skip('the slot has ended');
    else {
      const levelKW = baselineW / 1000 + services.reduce((a, s) => a + (s.acceptedPValue - baselineW / 1000), 0);
      const activePowerW = Math.round(levelKW * 1000);
      if (activePowerW === baselineW) skip('validated level is the baseline (rejected)');
      else
        plan.items.push({
          pod,
          deviceId,
          index,
          activePowerW,
          baselineW,
          playerServiceId: [...new Set(services.map((s) => s.playerServiceId))].join(','),
          validFromMs,
          validUntilMs: validFromMs + SLOT_MS,
          fireAtMs: validFromMs - DISPATCH_LEAD_MS,
        });
    }
  }
  return plan;
}

/** The DSOTP's setpoint nonce, `{v: 1, issuer, nonce}`, replaced atomically and fsynced (file and directory). */
export class NonceFile {
  private last: number;
  constructor(
    readonly path: string,
    private readonly issuer: string,
  ) {
    this.last = 0;
    if (!existsSync(path)) return;
    let d: { v?: unknown; issuer?: unknown; nonce?: unknown };
    try {
      d = JSON.parse(readFileSync(path, 'utf8')) as typeof d;
    } catch (e) {
      throw new LightNodeError('IO_ERROR', `nonce file ${path}: not JSON (${(e as Error).message})`, { path });
    }
    if (d.v !== 1 || typeof d.nonce !== 'number' || !Number.isSafeInteger(d.nonce))
      throw new LightNodeError('IO_ERROR', `nonce file ${path}: expected {"v":1,"issuer","nonce"}`, { path });
    this.last = d.nonce;
  }
  /** The last nonce used (0 if none). */
  get current(): number {
    return this.last;
  }
  /** Reserves the next nonce (> every one before, ≥ `nowMs`) and makes it durable before returning it. */
  next(nowMs: number): number {
    const n = Math.max(this.last + 1, Math.floor(nowMs));
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify({ v: 1, issuer: this.issuer, nonce: n }) + '\n', { mode: 0o600, flush: true });
    renameSync(tmp, this.path);
    const dir = openSync(dirname(this.path), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
    this.last = n;
    return n;
  }
}

export interface DispatchedSetpoint {
  id: string;
  pod: string;
  deviceId: string;
  index: number;
  nonce: number;
  activePowerW: number;
  baselineW: number;
  playerServiceId: string;
  atMs: number;
  topic?: string;
  error?: string;
}

export interface DispatcherOptions {
  scd: JsonClient;
  signer: Signer;
  domain: Eip712Domain;
  brokerUrl: string;
  nonces: NonceFile;
  clock: Clock;
  log: Logger;
  /** Bound on the broker's connect and PUBACK (publishSetpoint). */
  publishTimeoutMs?: number;
}

/** Fires planned setpoints on the clock; `idle()` resolves once every fired one is stored and published (or failed). */
export class Dispatcher {
  readonly dispatched: DispatchedSetpoint[] = [];
  private readonly timers = new Set<() => void>();
  private readonly inFlight = new Set<Promise<void>>();
  constructor(private readonly o: DispatcherOptions) {}

  schedule(plan: DispatchPlan): void {
    for (const item of plan.items) {
      const cancel = this.o.clock.setTimer(Math.max(0, item.fireAtMs - this.o.clock.now()), () => {
        this.timers.delete(cancel);
        const p = this.fire(plan.session, item).finally(() => this.inFlight.delete(p));
        this.inFlight.add(p);
      });
      this.timers.add(cancel);
    }
    this.o.log.info('dispatch scheduled', {
      session: plan.session,
      setpoints: plan.items.length,
      skipped: plan.skipped.length,
    });
    for (const s of plan.skipped) this.o.log.warn('dispatch skipped', { session: plan.session, ...s });
  }

  get pending(): number {
    return this.timers.size;
  }

  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  stop(): void {
    for (const c of this.timers) c();
    this.timers.clear();
  }

  private async fire(session: string, item: DispatchItem): Promise<void> {
    const now = this.o.clock.now();
    const nonce = this.o.nonces.next(now);
    const message = buildSetpoint(
      {
        podId: item.pod,
        activePowerW: item.activePowerW,
        baselineW: item.baselineW,
        validFromMs: item.validFromMs,
        validUntilMs: item.validUntilMs,
        marketSession: session,
        slotIndex: item.index,
        playerServiceId: item.playerServiceId,
        nonce,
      },
      this.o.signer.address,
      now,
    );
    const signed = signSetpoint(message, this.o.signer, this.o.domain);
    const d: DispatchedSetpoint = {
      id: message.id,
      pod: item.pod,
      deviceId: item.deviceId,
      index: item.index,
      nonce,
      activePowerW: item.activePowerW,
      baselineW: item.baselineW,
      playerServiceId: item.playerServiceId,
      atMs: now,
    };
    try {
      await this.o.scd.request('POST', '/setpoints', {
        id: message.id,
        podId: item.pod,
        deviceId: item.deviceId,
        setpoint: signed,
      });
      const { topic } = await publishSetpoint(signed, {
        brokerUrl: this.o.brokerUrl,
        deviceId: item.deviceId,
        clock: this.o.clock,
        ...(this.o.publishTimeoutMs ? { timeoutMs: this.o.publishTimeoutMs } : {}),
      });
      d.topic = topic;
      this.o.log.info('setpoint dispatched', { session, id: d.id, pod: d.pod, slot: d.index, nonce, topic });
    } catch (e) {
      d.error = (e as Error).message;
      this.o.log.error('setpoint dispatch failed', { session, id: d.id, pod: d.pod, slot: d.index, error: d.error });
    }
    this.dispatched.push(d);
  }
}
