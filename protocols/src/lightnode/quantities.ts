/**
 * The quantity table of protocol v1. A sample carries quantities as **integers whose unit is in the name**.
 * Sign conventions, stated once: at the PoD, **load convention** (import positive, export negative);
 * ESS power positive = **discharge**. Per-phase names append `L1`/`L2`/`L3` before the unit.
 */
export type QuantityUnit = 'W' | 'var' | 'VA' | 'Wh' | 'varh' | 'mV' | 'mA' | 'mHz' | '‰' | 'band' | 's';

export interface QuantityInfo {
  /** The unit of the integer (the name's suffix). */
  unit: QuantityUnit;
  /** Sign convention / range. */
  sign: string;
  description: string;
}

const IMPORT_POS = 'load convention at the PoD: import (consumption) positive, export negative';

/** Every quantity a v1 sample may carry. Receivers reject names not in this table. */
export const QUANTITIES = {
  activePowerW: { unit: 'W', sign: IMPORT_POS, description: 'active power, total / single phase' },
  activePowerL1W: { unit: 'W', sign: IMPORT_POS, description: 'active power, phase L1' },
  activePowerL2W: { unit: 'W', sign: IMPORT_POS, description: 'active power, phase L2' },
  activePowerL3W: { unit: 'W', sign: IMPORT_POS, description: 'active power, phase L3' },
  reactivePowerVar: {
    unit: 'var',
    sign: 'inductive (lagging, consumed) positive',
    description: 'reactive power, total / single phase',
  },
  reactivePowerL1Var: {
    unit: 'var',
    sign: 'inductive (lagging, consumed) positive',
    description: 'reactive power, phase L1',
  },
  reactivePowerL2Var: {
    unit: 'var',
    sign: 'inductive (lagging, consumed) positive',
    description: 'reactive power, phase L2',
  },
  reactivePowerL3Var: {
    unit: 'var',
    sign: 'inductive (lagging, consumed) positive',
    description: 'reactive power, phase L3',
  },
  apparentPowerVA: { unit: 'VA', sign: '≥ 0', description: 'apparent power, total / single phase' },
  apparentPowerL1VA: { unit: 'VA', sign: '≥ 0', description: 'apparent power, phase L1' },
  apparentPowerL2VA: { unit: 'VA', sign: '≥ 0', description: 'apparent power, phase L2' },
  apparentPowerL3VA: { unit: 'VA', sign: '≥ 0', description: 'apparent power, phase L3' },
  powerFactorPermille: {
    unit: '‰',
    sign: '-1000..1000; sign as active power',
    description: 'power factor × 1000, total / single phase',
  },
  powerFactorL1Permille: {
    unit: '‰',
    sign: '-1000..1000; sign as active power',
    description: 'power factor × 1000, phase L1',
  },
  powerFactorL2Permille: {
    unit: '‰',
    sign: '-1000..1000; sign as active power',
    description: 'power factor × 1000, phase L2',
  },
  powerFactorL3Permille: {
    unit: '‰',
    sign: '-1000..1000; sign as active power',
    description: 'power factor × 1000, phase L3',
  },
  voltageL1mV: { unit: 'mV', sign: '≥ 0', description: 'phase L1 to neutral voltage (RMS)' },
  voltageL2mV: { unit: 'mV', sign: '≥ 0', description: 'phase L2 to neutral voltage (RMS)' },
  voltageL3mV: { unit: 'mV', sign: '≥ 0', description: 'phase L3 to neutral voltage (RMS)' },
  voltageL1L2mV: { unit: 'mV', sign: '≥ 0', description: 'line L1–L2 voltage (RMS)' },
  voltageL2L3mV: { unit: 'mV', sign: '≥ 0', description: 'line L2–L3 voltage (RMS)' },
  voltageL3L1mV: { unit: 'mV', sign: '≥ 0', description: 'line L3–L1 voltage (RMS)' },
  currentmA: {
    unit: 'mA',
    sign: '≥ 0 (direction is in the power sign)',
    description: 'current, total / single phase (RMS)',
  },
  currentL1mA: { unit: 'mA', sign: '≥ 0', description: 'phase L1 current (RMS)' },
  currentL2mA: { unit: 'mA', sign: '≥ 0', description: 'phase L2 current (RMS)' },
  currentL3mA: { unit: 'mA', sign: '≥ 0', description: 'phase L3 current (RMS)' },
  currentNmA: { unit: 'mA', sign: '≥ 0', description: 'neutral current (RMS)' },
  frequencymHz: { unit: 'mHz', sign: '> 0', description: 'grid frequency' },
  energyImportWh: { unit: 'Wh', sign: '≥ 0, never decreases', description: 'cumulative imported active energy' },
  energyExportWh: { unit: 'Wh', sign: '≥ 0, never decreases', description: 'cumulative exported active energy' },
  energyImportL1Wh: { unit: 'Wh', sign: '≥ 0, never decreases', description: 'cumulative imported active energy, L1' },
  energyImportL2Wh: { unit: 'Wh', sign: '≥ 0, never decreases', description: 'cumulative imported active energy, L2' },
  energyImportL3Wh: { unit: 'Wh', sign: '≥ 0, never decreases', description: 'cumulative imported active energy, L3' },
  energyExportL1Wh: { unit: 'Wh', sign: '≥ 0, never decreases', description: 'cumulative exported active energy, L1' },
  energyExportL2Wh: { unit: 'Wh', sign: '≥ 0, never decreases', description: 'cumulative exported active energy, L2' },
  energyExportL3Wh: { unit: 'Wh', sign: '≥ 0, never decreases', description: 'cumulative exported active energy, L3' },
  energyReactiveImportVarh: {
    unit: 'varh',
    sign: '≥ 0, never decreases',
    description: 'cumulative reactive energy, inductive',
  },
  energyReactiveExportVarh: {
    unit: 'varh',
    sign: '≥ 0, never decreases',
    description: 'cumulative reactive energy, capacitive',
  },
  energyProductionWh: { unit: 'Wh', sign: '≥ 0, never decreases', description: 'cumulative production (PV) energy' },
  productionPowerW: { unit: 'W', sign: '≥ 0', description: 'production (PV) active power' },
  quarterEnergyImportWh: {
    unit: 'Wh',
    sign: '≥ 0',
    description: 'imported energy of the 15-min quarter the sample closes',
  },
  quarterEnergyExportWh: {
    unit: 'Wh',
    sign: '≥ 0',
    description: 'exported energy of the 15-min quarter the sample closes',
  },
  quarterAveragePowerW: { unit: 'W', sign: IMPORT_POS, description: 'average active power of the quarter' },
  tariffBand: { unit: 'band', sign: '1..6 (F1..F6); 0 unknown', description: 'ARERA tariff band in force' },
  essPowerW: {
    unit: 'W',
    sign: 'ESS convention: discharge positive, charge negative',
    description: 'battery (ESS) active power',
  },
  socPermille: { unit: '‰', sign: '0..1000', description: 'battery state of charge' },
  essSetpointW: { unit: 'W', sign: 'ESS convention: discharge positive', description: 'ESS power setpoint in force' },
  energyImportF1Wh: {
    unit: 'Wh',
    sign: '≥ 0',
    description: 'imported energy in tariff band F1 over the record period',
  },
  energyImportF2Wh: {
    unit: 'Wh',
    sign: '≥ 0',
    description: 'imported energy in tariff band F2 over the record period',
  },
  energyImportF3Wh: {
    unit: 'Wh',
    sign: '≥ 0',
    description: 'imported energy in tariff band F3 over the record period',
  },
  energyImportF4Wh: {
    unit: 'Wh',
    sign: '≥ 0',
    description: 'imported energy in tariff band F4 over the record period',
  },
  energyImportF5Wh: {
    unit: 'Wh',
    sign: '≥ 0',
    description: 'imported energy in tariff band F5 over the record period',
  },
  energyImportF6Wh: {
    unit: 'Wh',
    sign: '≥ 0',
    description: 'imported energy in tariff band F6 over the record period',
  },
} as const satisfies Record<string, QuantityInfo>;

export type QuantityName = keyof typeof QUANTITIES;

export function isQuantityName(name: string): name is QuantityName {
  return Object.hasOwn(QUANTITIES, name);
}

/** The quantity names in table order; a name's index is its stable numeric id on the wire (new names append). */
export const QUANTITY_NAMES = Object.keys(QUANTITIES) as QuantityName[];
/** name → numeric id (index in `QUANTITY_NAMES`). */
export const QUANTITY_IDS = Object.fromEntries(QUANTITY_NAMES.map((n, i) => [n, i])) as Record<QuantityName, number>;
