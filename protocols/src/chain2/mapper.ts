/**
 * From Chain 2 frames to protocol readings, with a diagnostic for everything not accepted as is:
 * - CF1 (quarter) → energyImportWh (cumulative, never backwards: a decrease is flagged and not stored as truth),
 *   quarterEnergyImportWh (CurrQuartActEnergy — read as the quarter just closed, the reading most consumers use),
 *   quarterAveragePowerW, activePowerW (InstantPower), tariffBand; a missed CF1 is detected from the next one's
 *   MeasurePosixTimestamp and reported as a gap with its energy (cumulative difference minus the quarter's own);
 * - CF21 / CF51 → activePowerW (the live power stream); CF22 / CF23 → events (overload with countdown, outage);
 * - CF5 / CF10 → daily / monthly per-band totals (energyImportF1Wh … F6Wh); CF20 → identity, checked against the
 *   configured PoD (a mismatch blocks that meter's data until a matching CF20 arrives).
 */
import type { Quality, QuantityName } from '../lightnode/index.js';
import type { Chain2Frame } from './frames.js';
import { validatePodId } from '../lightnode/pod.js';

export interface Chain2Reading {
  meter: string;
  type: string;
  tsMs: number;
  values: Partial<Record<QuantityName, { value?: number; quality: Quality }>>;
}

export interface Chain2Event {
  meter: string;
  type: 'overload' | 'outage' | 'identity';
  tsMs: number;
  data: Record<string, unknown>;
}

export type Chain2DiagnosticCode =
  | 'CHAIN2_POD_MISMATCH'
  | 'CHAIN2_METER_UNCONFIGURED'
  | 'CHAIN2_TOTAL_DECREASED'
  | 'CHAIN2_DATE_UNSPECIFIED'
  | 'CHAIN2_GAP'
  | 'CHAIN2_DUPLICATE'
  | 'CHAIN2_UNKNOWN_TYPE';

export interface Chain2Diagnostic {
  code: Chain2DiagnosticCode;
  meter?: string;
  message: string;
  data?: Record<string, unknown>;
}

export interface MapResult {
  readings: Chain2Reading[];
  events: Chain2Event[];
  diagnostics: Chain2Diagnostic[];
}

interface MeterState {
  lastMeasureS?: number;
  lastTotalWh?: number;
  podMismatch?: string;
}

export class Chain2Mapper {
  private readonly state = new Map<string, MeterState>();
  constructor(private readonly cfg: { podId: string; meters: readonly string[] }) {}

  accept(frame: Chain2Frame): MapResult {
    const out: MapResult = { readings: [], events: [], diagnostics: [] };
    if (frame.kind !== 'Chain2Data') return out;
    const meter = frame.meter;
    if (!this.cfg.meters.includes(meter)) {
      out.diagnostics.push({
        code: 'CHAIN2_METER_UNCONFIGURED',
        meter,
        message: `meter slot ${meter} is not configured (configured: ${this.cfg.meters.join(', ')}): ${frame.type} dropped`,
      });
      return out;
    }
    const st = this.state.get(meter) ?? {};
    this.state.set(meter, st);
    const v = frame.values;
    for (const [k, d] of Object.entries(frame.dates))
      if (d.day === null || d.month === null || d.year === null || d.weekday === null)
        out.diagnostics.push({
          code: 'CHAIN2_DATE_UNSPECIFIED',
          meter,
          message: `${frame.type}.${k} ${JSON.stringify(d.text)} has unspecified fields (255 / 65535): kept as unspecified, not as a date`,
          data: { field: k },
        });
    if (frame.type === 'CF20') {
      const pod = frame.pod ?? '';
      if (pod !== this.cfg.podId) {
        st.podMismatch = pod;
        out.diagnostics.push({
          code: 'CHAIN2_POD_MISMATCH',
          meter,
          message: `CF20 identifies PoD ${JSON.stringify(pod)}${podNote(pod)}, but this node is configured for ${this.cfg.podId}: data of ${meter} are refused until they match`,
          data: { pod },
        });
      } else delete st.podMismatch;
      out.events.push({
        meter,
        type: 'identity',
        tsMs: (v.MessagePosixTimestamp ?? 0) * 1000,
        data: {
          pod,
          contractPowerW: v.ContractPower,
          availablePowerW: v.AvailablePower,
          gapW: v.Gap,
          serial: frame.extra.DataPlate,
        },
      });
      return out;
    }
    if (st.podMismatch !== undefined) {
      out.diagnostics.push({
        code: 'CHAIN2_POD_MISMATCH',
        meter,
        message: `${frame.type} of ${meter} refused: the meter identified as PoD ${JSON.stringify(st.podMismatch)}, not ${this.cfg.podId}`,
      });
      return out;
    }
    const good = (value: number | undefined): { value?: number; quality: Quality } =>
      value === undefined ? { quality: 'invalid' } : { value: Math.round(value), quality: 'good' };
    switch (frame.type) {
      case 'CF1': {
        const measure = v.MeasurePosixTimestamp!;
        const total = v.TotalActEnergy!;
        if (st.lastMeasureS !== undefined && measure <= st.lastMeasureS) {
          out.diagnostics.push({
            code: 'CHAIN2_DUPLICATE',
            meter,
            message: `CF1 for ${new Date(measure * 1000).toISOString()} already seen (or older): dropped`,
            data: { measure },
          });
          return out;
        }
        const values: Chain2Reading['values'] = {
          quarterEnergyImportWh: good(v.CurrQuartActEnergy),
          quarterAveragePowerW: good(v.QuartAveragePower),
          activePowerW: good(v.InstantPower),
          tariffBand: good(v.TariffCode),
        };
        if (st.lastTotalWh !== undefined && total < st.lastTotalWh) {
          out.diagnostics.push({
            code: 'CHAIN2_TOTAL_DECREASED',
            meter,
            message: `CF1 TotalActEnergy went back from ${st.lastTotalWh} to ${total} Wh (a gateway reboot reads 0): not stored as truth`,
            data: { from: st.lastTotalWh, to: total },
          });
          values.energyImportWh = { quality: 'invalid' };
          // this quarter's figures are not trusted: the next good CF1 accounts for it as a gap with its energy
          out.readings.push({
            meter,
            type: 'CF1',
            tsMs: measure * 1000,
            values: {
              ...values,
              quarterEnergyImportWh: { quality: 'invalid' },
              quarterAveragePowerW: { quality: 'invalid' },
            },
          });
          return out;
        } else {
          if (st.lastMeasureS !== undefined && st.lastTotalWh !== undefined) {
            const quarters = Math.round((measure - st.lastMeasureS) / 900);
            if (quarters > 1) {
              const energyWh = total - st.lastTotalWh - (v.CurrQuartActEnergy ?? 0);
              out.diagnostics.push({
                code: 'CHAIN2_GAP',
                meter,
                message: `${quarters - 1} quarter(s) missed between ${new Date(st.lastMeasureS * 1000).toISOString()} and ${new Date(measure * 1000).toISOString()}: ${energyWh} Wh over the gap (from the cumulative energy)`,
                data: { missedQuarters: quarters - 1, fromS: st.lastMeasureS, toS: measure, energyWh },
              });
            }
          }
          values.energyImportWh = good(total);
          st.lastTotalWh = total;
        }
        st.lastMeasureS = measure;
        out.readings.push({ meter, type: 'CF1', tsMs: measure * 1000, values });
        return out;
      }
      case 'CF21':
      case 'CF51': {
        const ts = (v.EventPosixTimestamp ?? v.MessagePosixTimestamp ?? (frame.tsMs ?? 0) / 1000) * 1000;
        const values: Chain2Reading['values'] = { activePowerW: good(v.InstantPower) };
        if (v.ProdInstantPower !== undefined) values.productionPowerW = good(v.ProdInstantPower);
        out.readings.push({ meter, type: frame.type, tsMs: ts, values });
        return out;
      }
      case 'CF22':
        out.events.push({
          meter,
          type: 'overload',
          tsMs: frame.tsMs ?? 0,
          data: {
            instantPowerW: v.InstantPower,
            availablePowerW: v.AvailablePower,
            switchOffCountdownS: v.SwitchOffCountdownSeconds,
          },
        });
        return out;
      case 'CF23':
        out.events.push({
          meter,
          type: 'outage',
          tsMs: frame.tsMs ?? 0,
          data: { outageDurationS: v.OutageDuration, eventsCounter: v.EventsCounter },
        });
        return out;
      case 'CF5':
      case 'CF10': {
        const prefix = frame.type === 'CF5' ? 'DailyTotalActEnergyF' : 'MonthlyTotalActEnergyF';
        const values: Chain2Reading['values'] = {};
        for (let b = 1; b <= 6; b++)
          if (v[`${prefix}${b}`] !== undefined)
            values[`energyImportF${b}Wh` as QuantityName] = good(v[`${prefix}${b}`]);
        out.readings.push({ meter, type: frame.type, tsMs: v.MeasurePosixTimestamp! * 1000, values });
        return out;
      }
      case 'CF9':
        return out;
      default:
        out.diagnostics.push({
          code: 'CHAIN2_UNKNOWN_TYPE',
          meter,
          message: `unknown frame type ${frame.type}: kept as a record, no samples`,
        });
        return out;
    }
  }
}

/** Says why a CF20 POD is not a PoD id at all (its padding already trimmed), or nothing. */
function podNote(pod: string): string {
  const r = validatePodId(pod);
  return r.ok ? '' : ` (not a valid PoD id: ${r.reason})`;
}
