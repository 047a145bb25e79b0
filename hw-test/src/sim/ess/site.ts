/**
 * The customer's site around the simulated battery: a house load (constant, or the daily load model), PV, the
 * battery, and the PoD meter that reads house load − PV − battery power (PoD convention: import positive; battery
 * discharge lowers it). The meter is a `MeterSimulator` of any meter profile whose values come from the site, so
 * its energy counters integrate the net (import and export separately) like the real one.
 */
import { builtinProfiles, type Clock, type ProfileLookup, type QuantityName } from '@lightnode/protocols';
import { LoadModel, type LoadModelOptions } from '../load-model.js';
import { MeterSimulator } from '../modbus/simulator.js';
import { Battery, type BatteryOptions, type BatteryState, type EssEvent } from './battery.js';
import type { EssFault } from './faults.js';

export interface EssSiteOptions {
  clock: Clock;
  battery?: Omit<BatteryOptions, 'clock' | 'faults' | 'random'>;
  faults?: readonly EssFault[];
  /** Constant house load, W; absent: the daily load model around `baseLoadW` (default 3000). */
  loadW?: number;
  baseLoadW?: number;
  /** PV peak, W (default 0: no PV). */
  pvPeakW?: number;
  seed?: number;
  /** The PoD meter: its unit (default 2) and profile (default eastron/sdm630). */
  meterUnit?: number;
  meterProfile?: string;
  profiles?: ProfileLookup;
  /** How often the site integrates when nobody reads it, ms (default 1000). */
  tickMs?: number;
  random?: () => number;
}

/** The ESS simulator's state as the REST / MQTT EMS reports it. */
export interface EssSiteState extends BatteryState {
  /** PV power, W ≥ 0 (only when the site has PV). */
  productionPowerW?: number;
}

export class EssSimulator {
  readonly battery: Battery;
  readonly meter: MeterSimulator;
  private readonly load: LoadModel;
  /** The load model's options, kept: `setLoad` changes its constant load. */
  private readonly loadOptions: LoadModelOptions;
  private cancelTick: () => void = () => undefined;
  private stopped = false;
  private lastValues: Partial<Record<QuantityName, number>> = {};

  constructor(private readonly o: EssSiteOptions) {
    this.battery = new Battery({
      ...o.battery,
      clock: o.clock,
      faults: o.faults ?? [],
      ...(o.random ? { random: o.random } : {}),
    });
    const profiles = o.profiles ?? builtinProfiles();
    const profile = profiles.get(o.meterProfile ?? 'eastron/sdm630');
    this.loadOptions = {
      phases: profile.phases ?? 3,
      baseLoadW: o.baseLoadW ?? 3000,
      pvPeakW: o.pvPeakW ?? 0,
      seed: o.seed ?? 42,
      ...(o.loadW !== undefined ? { constantLoadW: o.loadW } : {}),
    };
    this.load = new LoadModel(this.loadOptions);
    this.siteValues(o.clock.now());
    this.meter = new MeterSimulator({
      profile,
      unit: o.meterUnit ?? 2,
      clock: o.clock,
      values: (now) => this.siteValues(now),
      refreshMs: 0, // every request sees the battery as it is now
    });
    this.tick();
  }

  /** The PoD meter's quantities now (PoD convention, import positive), advancing the site. */
  siteValues(nowMs: number): Partial<Record<QuantityName, number>> {
    const q = this.load.at(nowMs, this.battery.powerNow());
    this.battery.setSiteNet(this.load.last.loadW - this.load.last.pvW);
    this.lastValues = q;
    return q;
  }

  /** Sets a constant house load from now on, W ≥ 0 (the HIL bench's `load`); the battery settles on it at once. */
  setLoad(w: number): void {
    this.siteValues(this.o.clock.now()); // integrate up to now at the old load
    this.loadOptions.constantLoadW = w;
    this.siteValues(this.o.clock.now());
  }

  /** The constant house load, W, or undefined under the daily load model. */
  get constantLoadW(): number | undefined {
    return this.loadOptions.constantLoadW;
  }

  /** The meter's last reading (PoD convention): what `activePowerW`, `energyImportWh`, … read now. */
  podValues(): Partial<Record<QuantityName, number>> {
    return this.lastValues;
  }

  state(): EssSiteState {
    this.siteValues(this.o.clock.now());
    return {
      ...this.battery.state(),
      ...((this.o.pvPeakW ?? 0) > 0 ? { productionPowerW: Math.round(this.load.last.pvW) } : {}),
    };
  }

  onEvent(fn: (e: EssEvent) => void): void {
    this.battery.onEvent(fn);
  }

  stop(): void {
    this.stopped = true;
    this.cancelTick();
    this.battery.close();
  }

  private tick(): void {
    if (this.stopped) return;
    this.cancelTick = this.o.clock.setTimer(this.o.tickMs ?? 1000, () => {
      this.siteValues(this.o.clock.now());
      this.tick();
    });
  }
}
