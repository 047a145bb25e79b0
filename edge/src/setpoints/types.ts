/**
 * The setpoint controller's own types: its options (`config.setpoints`), the asset limits it clamps to
 * (`assets[].limits`), and the ESS adapter it drives (the interface of `edge/src/ess/`).
 */
// TODO(merge): replace these stand-ins by the foundation types once they land on main (AgentConfig['setpoints'],
// AssetConfig['limits'], EssAdapter / EssState from ../ess/index.js); the shapes are the brief's, field for field.

/** `config.setpoints`. */
export interface SetpointsOptions {
  /** Lowercase 0x addresses of the accepted issuers (≥ 1). */
  issuers: string[];
  /** A setpoint starting later than now + maxLeadMs is refused (`SETPOINT_NOT_YET_VALID`). */
  maxLeadMs: number;
  /** Link down longer than this → fallback to autonomous (`LINK_LOST`). */
  linkLossMs: number;
  /** The device-side revert timer passed with every command, s. */
  revertS: number;
  /** The command is rewritten at least this often, ms. */
  refreshMs: number;
  /** Readback: asset power within this of the command, W. */
  readbackToleranceW: number;
  /** Readback: … within this time after the write, ms. */
  readbackTimeoutMs: number;
}

/** `assets[].limits` of an ESS. Powers W, ESS convention (discharge positive). */
export interface EssLimits {
  maxDischargeW: number;
  maxChargeW: number;
  socMinPermille: number;
  socMaxPermille: number;
  capacityWh: number;
  /** Maximum change of the command, W per second. */
  rampWps: number;
}

export interface EssState {
  atMs: number;
  /** Battery AC power, W, ESS convention: DISCHARGE POSITIVE. */
  essPowerW: number;
  socPermille: number;
  productionPowerW?: number;
  mode: 'remote' | 'autonomous';
}

export interface EssAdapter {
  readonly id: string;
  readonly kind: 'sunspec' | 'modbus' | 'rest' | 'mqtt';
  start(): Promise<void>;
  read(): Promise<EssState>;
  command(w: number, revertS: number): Promise<void>;
  release(): Promise<void>;
  close(): Promise<void>;
}
