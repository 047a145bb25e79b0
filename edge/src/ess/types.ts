/**
 * One interface for every controllable battery (ESS), whatever speaks for it: SunSpec (704 or 124), a generic Modbus
 * map (`kind: "ess"` profile), a REST EMS or an MQTT EMS. An adapter does exactly what it is told or throws a typed
 * `LightNodeError`; limits, ramps, readback and fallback are the controller's (edge/src/setpoints/).
 */
import type { AssetConfig, Clock, Logger, ProfileRegistry } from '@lightnode/protocols';
import type { ModbusLine } from '../modbus/index.js';

export interface EssState {
  /** When read (clock.now()), epoch ms. */
  atMs: number;
  /** Battery AC power, W, ESS convention: discharge positive. */
  essPowerW: number;
  /** State of charge, ‰ (0..1000). */
  socPermille: number;
  /** PV production, W ≥ 0, when the device has PV. */
  productionPowerW?: number;
  /** What the device reports (it may lie: the controller's readback checks the power). */
  mode: 'remote' | 'autonomous';
}

export type EssAdapterKind = 'sunspec' | 'modbus' | 'rest' | 'mqtt';

export interface EssAdapter {
  readonly id: string;
  readonly kind: EssAdapterKind;
  /** Connects / discovers (SunSpec models); throws a typed error naming what is missing. */
  start(): Promise<void>;
  read(): Promise<EssState>;
  /**
   * Commands `w` W (discharge +) with the device's own revert timer of `revertS` s. Resolves when the device took the
   * write (not when power follows: that is the controller's readback); a typed error otherwise (`ADAPTER_TIMEOUT`
   * when the device does not answer in time, `MODBUS_EXCEPTION`, `IO_ERROR`, …).
   */
  command(w: number, revertS: number): Promise<void>;
  /** Back to autonomous mode (the remote setpoint disabled). */
  release(): Promise<void>;
  close(): Promise<void>;
}

export interface EssAdapterContext {
  clock: Clock;
  logger: Logger;
  /** The configured Modbus line of that name (shared with the meters on it: one bus scheduler). */
  line(name: string): ModbusLine;
  profiles: ProfileRegistry;
}

export type EssAdapterFactory = (asset: AssetConfig, ctx: EssAdapterContext) => EssAdapter;
