/**
 * The simulated battery (ESS) behind `lightnode sim ess`: state of charge with round-trip losses, charge and
 * discharge limits, stops at SoC 0 and 1000 ‰, its own revert timer, an autonomous mode, and faults. Time is the
 * injected `Clock`; the state is integrated lazily (each read or write integrates from the previous one) so tests on
 * a FakeClock get closed-form figures.
 *
 * Sign convention (ESS): battery AC power `essPowerW` is DISCHARGE POSITIVE, charge negative.
 *
 * Ratings: `ratedVA` (default 3000, the pilot's 3 kVA; 4600 for the 4.6 kVA one) bounds the active power both ways
 * (`maxDischargeW` = `maxChargeW` = `ratedVA` unless given): the inverter delivers active power at PF 1, and its
 * |PF| ≥ 0.8 capability is reactive headroom this simulator does not use (it produces no reactive power).
 * Efficiency: the round trip `roundTripEfficiency` (default 0.92) is split evenly, √η per direction: charging at
 * P W stores P·√η, discharging at P W draws P/√η from the cells.
 *
 * Modes: `remote` while a command is in force (until its revert timer, a release or a new command), else
 * `autonomous`: `self-consumption` (default; the battery covers the house's net load, load − PV, within its limits,
 * which is what a home battery does on its own) or `idle` (0 W).
 */
import { LightNodeError, invalidField, type Clock } from '@lightnode/protocols';
import { faultSelected, type EssFault } from './faults.js';

export type EssMode = 'remote' | 'autonomous';
export type AutonomousMode = 'self-consumption' | 'idle';

export interface BatteryOptions {
  clock: Clock;
  /** Rated apparent power, VA (default 3000). */
  ratedVA?: number;
  /** Maximum discharge / charge power, W ≥ 0 (default `ratedVA`). */
  maxDischargeW?: number;
  maxChargeW?: number;
  /** Usable capacity, Wh (default 4800; the pilot's sizes are 2400, 4800, 9600). */
  capacityWh?: number;
  /** State of charge at start, ‰ (default 500). */
  socPermille?: number;
  /** Round-trip efficiency 0 < η ≤ 1 (default 0.92), √η per direction. */
  roundTripEfficiency?: number;
  autonomous?: AutonomousMode;
  faults?: readonly EssFault[];
  random?: () => number;
}

/** One line of `lightnode sim ess`'s stdout: a change of the battery. */
export interface EssEvent {
  atMs: number;
  event: 'command' | 'revert' | 'release' | 'fault';
  /** Battery AC power after the change, W (discharge positive). */
  essPowerW: number;
  socPermille: number;
  /** The commanded power, W (command events, and faults about a command). */
  commandW?: number;
  /** The command's revert timer, ms (0: none). */
  revertMs?: number;
  /** Which fault (fault events). */
  fault?: EssFault['kind'];
}

/** What the device reports. `setpointW` is the command it says it follows (absent when autonomous). */
export interface BatteryState {
  atMs: number;
  essPowerW: number;
  socPermille: number;
  mode: EssMode;
  setpointW?: number;
}

interface Command {
  w: number;
  revertMs: number;
  /** When the device's own timer reverts it (Infinity: no timer). */
  revertAtMs: number;
  /** false once silently reverted, or from the start under fake-mode: power does not follow. */
  follows: boolean;
}

export class Battery {
  readonly ratedVA: number;
  readonly maxDischargeW: number;
  readonly maxChargeW: number;
  readonly capacityWh: number;
  readonly roundTripEfficiency: number;
  private energyWh: number;
  private dischargedWh = 0;
  private chargedWh = 0;
  private powerW = 0;
  private lastMs: number;
  private siteNetW = 0;
  private cmd: Command | null = null;
  private cancelRevert: () => void = () => undefined;
  private cancelSilent: () => void = () => undefined;
  private cancelBound: () => void = () => undefined;
  private readonly listeners: ((e: EssEvent) => void)[] = [];
  private readonly random: () => number;
  /** The faults in force: those of the options, and those added at run time (`addFault`). */
  private readonly faultList: EssFault[];

  constructor(private readonly o: BatteryOptions) {
    const positive = (name: string, v: number | undefined, dflt: number, max = Infinity): number => {
      const x = v ?? dflt;
      if (!Number.isFinite(x) || x < 0 || x > max) throw invalidField('USAGE', name, `a number 0..${max}`, v);
      return x;
    };
    this.ratedVA = positive('ratedVA', o.ratedVA, 3000);
    this.maxDischargeW = positive('maxDischargeW', o.maxDischargeW, this.ratedVA);
    this.maxChargeW = positive('maxChargeW', o.maxChargeW, this.ratedVA);
    this.capacityWh = positive('capacityWh', o.capacityWh, 4800);
    if (this.capacityWh === 0) throw invalidField('USAGE', 'capacityWh', 'a capacity > 0 Wh', 0);
    this.energyWh = (positive('socPermille', o.socPermille, 500, 1000) / 1000) * this.capacityWh;
    this.roundTripEfficiency = positive('roundTripEfficiency', o.roundTripEfficiency, 0.92, 1);
    if (this.roundTripEfficiency === 0) throw invalidField('USAGE', 'roundTripEfficiency', 'η in (0, 1]', 0);
    this.random = o.random ?? Math.random;
    this.faultList = [...(o.faults ?? [])];
    this.lastMs = o.clock.now();
    this.settle();
  }

  /** Calls `fn` on every change (command, revert, release, fault). */
  onEvent(fn: (e: EssEvent) => void): void {
    this.listeners.push(fn);
  }

  /** The house's net load behind the PoD (load − PV, W) that the self-consumption mode covers. */
  setSiteNet(w: number): void {
    this.advance();
    this.siteNetW = w;
    this.settle();
  }

  /** Integrates the SoC up to now and returns the battery power from now on, W (discharge positive). */
  powerNow(): number {
    this.advance();
    this.settle();
    return this.powerW;
  }

  state(): BatteryState {
    const essPowerW = Math.round(this.powerNow());
    return {
      atMs: this.o.clock.now(),
      essPowerW,
      socPermille: this.socPermille(),
      mode: this.cmd ? 'remote' : 'autonomous',
      ...(this.cmd ? { setpointW: this.cmd.w } : {}),
    };
  }

  /** The command in force (also when it silently reverted or never took effect: what the device says). */
  get command(): { w: number; revertMs: number; revertAtMs: number } | null {
    return this.cmd ? { w: this.cmd.w, revertMs: this.cmd.revertMs, revertAtMs: this.cmd.revertAtMs } : null;
  }

  /** Lifetime AC energy out of (discharged) and into (charged) the battery, Wh. */
  get totals(): { dischargedWh: number; chargedWh: number } {
    this.advance();
    return { dischargedWh: this.dischargedWh, chargedWh: this.chargedWh };
  }

  /**
   * Commands `w` W (discharge positive) with the device's own revert timer of `revertMs` (0: none; a new command
   * restarts it). Powers beyond the limits are followed up to the limit. `DEVICE_UNAVAILABLE` under the `refuse`
   * fault (the transports answer it with a Modbus exception or HTTP 503).
   */
  setCommand(w: number, revertMs: number): void {
    if (!Number.isFinite(w)) throw invalidField('INPUT_INVALID', 'essPowerW', 'a finite number of W', w);
    if (!Number.isFinite(revertMs) || revertMs < 0)
      throw invalidField('INPUT_INVALID', 'revertMs', 'a duration ≥ 0 ms', revertMs);
    this.refuseIfFaulty(w);
    this.advance();
    this.cancelRevert();
    this.cancelSilent();
    const fake = this.faults('fake-mode').length > 0;
    this.cmd = { w, revertMs, revertAtMs: revertMs > 0 ? this.o.clock.now() + revertMs : Infinity, follows: !fake };
    if (revertMs > 0) this.armRevert(this.cmd.revertAtMs);
    for (const f of this.faults('silent-revert'))
      this.cancelSilent = this.o.clock.setTimer(f.afterS * 1000, () => this.silentRevert());
    this.settle();
    if (fake) this.emit('fault', { commandW: w, revertMs, fault: 'fake-mode' });
    else this.emit('command', { commandW: w, revertMs });
  }

  /** Back to autonomous mode (also under `refuse`: DEVICE_UNAVAILABLE). */
  release(): void {
    this.refuseIfFaulty();
    if (!this.cmd) return;
    this.advance();
    this.clearCommand();
    this.emit('release');
  }

  /** A transport-level fault happened (a dropped connection): one fault line. */
  noteFault(kind: EssFault['kind']): void {
    this.advance();
    this.emit('fault', { fault: kind });
  }

  socPermille(): number {
    return Math.round((this.energyWh / this.capacityWh) * 1000);
  }

  faults<K extends EssFault['kind']>(kind: K): Extract<EssFault, { kind: K }>[] {
    return this.faultList.filter((f): f is Extract<EssFault, { kind: K }> => f.kind === kind);
  }

  /**
   * Adds a fault at run time (the HIL bench's `device-fault`); the returned function removes it. It applies from the
   * next command on (a `silent-revert` arms with each command, `fake-mode` decides at each command).
   */
  addFault(f: EssFault): () => void {
    this.faultList.push(f);
    return () => {
      const i = this.faultList.indexOf(f);
      if (i >= 0) this.faultList.splice(i, 1);
    };
  }

  /** Stops the timers (the simulator's end). */
  close(): void {
    this.cancelRevert();
    this.cancelSilent();
    this.cancelBound();
  }

  private refuseIfFaulty(commandW?: number): void {
    for (const f of this.faults('refuse'))
      if (faultSelected(f, this.random)) {
        this.advance();
        this.emit('fault', { ...(commandW !== undefined ? { commandW } : {}), fault: 'refuse' });
        throw new LightNodeError('DEVICE_UNAVAILABLE', 'the battery refused the write (fault refuse)', {
          fault: 'refuse',
        });
      }
  }

  /** The revert timer, in steps a timer can hold (≤ 2^31 − 1 ms: WSetRvrtTms is a u32 of seconds). */
  private armRevert(atMs: number): void {
    const left = atMs - this.o.clock.now();
    if (left <= 0) return this.revert();
    this.cancelRevert = this.o.clock.setTimer(Math.min(left, 2 ** 31 - 1), () => this.armRevert(atMs));
  }

  private revert(): void {
    this.advance();
    this.clearCommand();
    this.emit('revert');
  }

  /** silent-revert: back to autonomous power while still saying it follows the command (evcc #33037). */
  private silentRevert(): void {
    if (!this.cmd) return;
    this.advance();
    this.cmd.follows = false;
    this.settle();
    this.emit('fault', { commandW: this.cmd.w, fault: 'silent-revert' });
  }

  private clearCommand(): void {
    this.cancelRevert();
    this.cancelSilent();
    this.cmd = null;
    this.settle();
  }

  /** Integrates the cells' energy from the last step to now at the power held meanwhile. */
  private advance(): void {
    const now = this.o.clock.now();
    const h = Math.max(0, now - this.lastMs) / 3_600_000;
    this.lastMs = now;
    if (h === 0) return;
    const eta = Math.sqrt(this.roundTripEfficiency);
    const dE = this.powerW >= 0 ? (-this.powerW / eta) * h : -this.powerW * eta * h;
    this.energyWh = Math.min(this.capacityWh, Math.max(0, this.energyWh + dE));
    if (this.powerW >= 0) this.dischargedWh += this.powerW * h;
    else this.chargedWh += -this.powerW * h;
  }

  /** The power from now on: the target within the limits, 0 against a full or empty battery. */
  private settle(): void {
    const target =
      this.cmd?.follows === true ? this.cmd.w : this.o.autonomous === 'idle' ? 0 : Math.round(this.siteNetW);
    let p = Math.min(this.maxDischargeW, Math.max(-this.maxChargeW, target));
    if (p > 0 && this.energyWh <= 0) p = 0;
    if (p < 0 && this.energyWh >= this.capacityWh) p = 0;
    this.powerW = p;
    // wake up when the cells run empty or full, so the power stops there and not at the next read
    this.cancelBound();
    if (p === 0) return;
    const eta = Math.sqrt(this.roundTripEfficiency);
    const toBoundWh = p > 0 ? this.energyWh * eta : (this.capacityWh - this.energyWh) / eta;
    // at most an hour ahead (a timer beyond 2^31 ms would fire at once); an early wake-up just settles again
    const ms = Math.min(3_600_000, Math.ceil((toBoundWh / Math.abs(p)) * 3_600_000));
    this.cancelBound = this.o.clock.setTimer(ms, () => {
      this.advance();
      this.settle();
    });
  }

  private emit(event: EssEvent['event'], extra: Partial<EssEvent> = {}): void {
    const e: EssEvent = {
      atMs: this.o.clock.now(),
      event,
      essPowerW: Math.round(this.powerW),
      socPermille: this.socPermille(),
      ...extra,
    };
    for (const fn of this.listeners) fn(e);
  }
}
