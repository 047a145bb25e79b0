/**
 * Generic Modbus map ESS adapter for `kind: "ess"` profiles (protocols profile.ts `SetpointMapSchema`). Reads the
 * profile's essPowerW / socPermille / productionPowerW points with the meter driver (one conversion policy: scale,
 * sign, unit); a value that is not `good` this poll is an error, never a stale number.
 *
 * command(w, revertS): w outside the setpoint's [min, max] is refused (INPUT_INVALID naming the range: the adapter
 * never changes a command), else it writes, in this order, the revert timer (revertS, when the map has one), the
 * setpoint raw = sign × w / (10^scale × unitFactor(unit → W)) (rounded to the register's resolution for integer
 * types), then the enable register's `value`. All writes use the setpoint's fc (16 for a multi-register revert timer).
 * release(): writes 0 to the enable register; a map without one gets a 0 W setpoint (its revert timer, if any,
 * then hands the device back). Mode: the enable register read back (remote when it holds `value`); without one, the
 * adapter's own state (remote between a command and a release), as such a device cannot say.
 */
import {
  LightNodeError,
  REGISTER_UNITS,
  decodeRegisters,
  invalidField,
  registerCount,
  type Clock,
  type Profile,
  type SetpointMap,
} from '@lightnode/protocols';
import { ModbusMeter, type LineDevice } from '../modbus/index.js';
import { checkRevertS, checkWatts, encodeValue, withAdapterTimeout } from './registers.js';
import type { EssAdapter, EssState } from './types.js';

export interface ModbusMapEssOptions {
  id: string;
  profile: Profile;
  device: LineDevice;
  clock: Clock;
}

export class ModbusMapEssAdapter implements EssAdapter {
  readonly kind = 'modbus' as const;
  readonly id: string;
  private readonly sp: SetpointMap;
  private readonly meter: ModbusMeter;
  private commanded = false;

  constructor(private readonly o: ModbusMapEssOptions) {
    this.id = o.id;
    const sp = o.profile.setpoints?.[0];
    if (o.profile.kind !== 'ess' || !sp)
      throw new LightNodeError(
        'CONFIG_INVALID',
        `assets.${o.id}.adapter.modbus.profile: expected a kind "ess" profile with a setpoint, received ${o.profile.id} (kind ${o.profile.kind})`,
        { asset: o.id, profile: o.profile.id },
      );
    this.sp = sp;
    this.meter = new ModbusMeter({ id: o.id, profile: o.profile, device: o.device, clock: o.clock });
  }

  async start(): Promise<void> {
    await this.read();
  }

  async read(): Promise<EssState> {
    const r = await this.meter.read({ includeSlow: true });
    const good = (q: 'essPowerW' | 'socPermille'): number => {
      const v = r.values[q];
      if (v?.quality === 'good' && v.value !== undefined) return v.value;
      const code = r.errors.includes('MODBUS_TIMEOUT')
        ? 'ADAPTER_TIMEOUT'
        : r.errors.includes('DEVICE_UNAVAILABLE')
          ? 'DEVICE_UNAVAILABLE'
          : 'IO_ERROR';
      throw new LightNodeError(
        code,
        `asset ${this.id}: ${q} is ${v?.quality ?? 'invalid'}${r.errors.length ? ` (${r.errors.join(', ')})` : ''}`,
        { asset: this.id, errors: r.errors },
      );
    };
    const state: EssState = {
      atMs: r.tsMs,
      essPowerW: good('essPowerW'),
      socPermille: good('socPermille'),
      mode: (await this.remote(r.named)) ? 'remote' : 'autonomous',
    };
    const pv = r.values.productionPowerW;
    if (pv?.quality === 'good' && pv.value !== undefined) state.productionPowerW = pv.value;
    return state;
  }

  private async remote(named: Record<string, number | string | null>): Promise<boolean> {
    const en = this.sp.enable;
    if (!en) return this.commanded;
    const mapped = this.o.profile.points.find((p) => p.name && p.address === en.address && p.fc === 3);
    if (mapped) return named[mapped.name!] === en.value;
    const [w] = await withAdapterTimeout(this.id, 'read', () => this.o.device.read(3, en.address, 1));
    return decodeRegisters('u16', [w ?? 0]).value === en.value;
  }

  /** The setpoint's registers for `w` W, or INPUT_INVALID when w is outside [min, max]. */
  private setpointWords(w: number): number[] {
    const sp = this.sp;
    if (w < sp.min || w > sp.max)
      throw invalidField(
        'INPUT_INVALID',
        `asset ${this.id} essPowerW`,
        `a command in [${sp.min}, ${sp.max}] W (${this.o.profile.id} setpoints[0])`,
        w,
        { asset: this.id },
      );
    const raw = ((sp.sign ?? 1) * w) / (10 ** (sp.scale ?? 0) * REGISTER_UNITS[sp.unit]!.W!);
    const value = sp.type === 'float32' || sp.type === 'float64' ? raw : Math.round(raw);
    return encodeValue(sp.type, value, `asset ${this.id} setpoint`, sp.wordOrder ?? this.o.profile.wordOrder);
  }

  private async write(address: number, words: number[]): Promise<void> {
    await this.o.device.write(this.sp.fc === 6 && words.length === 1 ? 6 : 16, address, words);
  }

  async command(w: number, revertS: number): Promise<void> {
    const sp = this.sp;
    checkWatts(w);
    const words = this.setpointWords(w);
    const revert = sp.revert;
    const revertWords = revert
      ? encodeValue(
          revert.type,
          checkRevertS(revertS, registerCount(revert.type) === 1 ? 0xffff : 0xffffffff),
          `asset ${this.id} revert`,
        )
      : undefined;
    await withAdapterTimeout(this.id, 'command', async () => {
      if (revert && revertWords) await this.write(revert.address, revertWords);
      await this.write(sp.address, words);
      if (sp.enable) await this.write(sp.enable.address, [sp.enable.value]);
    });
    this.commanded = true;
  }

  async release(): Promise<void> {
    const sp = this.sp;
    await withAdapterTimeout(this.id, 'release', async () => {
      if (sp.enable) await this.write(sp.enable.address, [0]);
      else await this.write(sp.address, this.setpointWords(Math.min(Math.max(0, sp.min), sp.max)));
    });
    this.commanded = false;
  }

  async close(): Promise<void> {}
}
