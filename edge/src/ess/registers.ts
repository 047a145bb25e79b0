/**
 * Named points of a profile on a Modbus device, for the ESS adapters: read a few points in one request, encode a
 * value for a write, map a device timeout to `ADAPTER_TIMEOUT`. Addresses are the profile's plus `base` (the model's
 * ID register for SunSpec model profiles, 0 for absolute maps).
 */
import {
  LightNodeError,
  decodeRegisters,
  encodeRegisters,
  invalidField,
  isLightNodeError,
  pointRegisters,
  pointWordOrder,
  type Profile,
  type ProfilePoint,
  type RegisterType,
} from '@lightnode/protocols';
import type { LineDevice } from '../modbus/index.js';

/** Largest read of one request (Modbus: 125 registers). */
const MAX_READ = 125;

export class ProfileRegisters {
  constructor(
    readonly device: LineDevice,
    readonly profile: Profile,
    readonly base = 0,
    /** Registers after the (ID, L) header that the device implements (SunSpec L); points past it read as absent. */
    readonly length?: number,
  ) {}

  has(name: string): boolean {
    const p = this.profile.points.find((x) => x.name === name);
    return p !== undefined && (this.length === undefined || p.address + pointRegisters(p) - 1 <= this.length + 1);
  }

  point(name: string): ProfilePoint {
    const p = this.profile.points.find((x) => x.name === name);
    if (!p) throw new LightNodeError('PROFILE_INVALID', `${this.profile.id}: no point named ${name}`, { name });
    return p;
  }

  address(name: string): number {
    return this.base + this.point(name).address;
  }

  /**
   * Reads the named points in one request (they must lie within 125 registers of each other; fc 3) and decodes
   * them; the SunSpec "no value" sentinel of its type (0x8000, 0xFFFF …) or a point past the model's length gives null.
   */
  async read<N extends string>(names: readonly N[]): Promise<Record<N, number | null>> {
    const present = names.filter((n) => this.has(n)).map((n) => this.point(n));
    const out = Object.fromEntries(names.map((n) => [n, null])) as Record<N, number | null>;
    if (present.length === 0) return out;
    const lo = Math.min(...present.map((p) => p.address));
    const hi = Math.max(...present.map((p) => p.address + pointRegisters(p) - 1));
    if (hi - lo + 1 > MAX_READ)
      throw new LightNodeError('INTERNAL', `${this.profile.id}: ${names.join(', ')} span ${hi - lo + 1} registers`);
    const words = await this.device.read(3, this.base + lo, hi - lo + 1);
    for (const p of present) {
      const w = words.slice(p.address - lo, p.address - lo + pointRegisters(p));
      out[p.name as N] = decodeRegisters(p.type, w, pointWordOrder(this.profile, p)).value;
    }
    return out;
  }

  /** Raw registers of `value` for the named point (range-checked by its type). */
  encode(name: string, value: number): number[] {
    const p = this.point(name);
    return encodeValue(p.type, value, `${this.profile.id} ${name}`, pointWordOrder(this.profile, p));
  }
}

/** Encodes an integer for a register type; a value the type cannot hold is refused (INPUT_INVALID naming it). */
export function encodeValue(type: RegisterType, value: number, field: string, order: 'be' | 'le' = 'be'): number[] {
  try {
    return encodeRegisters(type, value, order);
  } catch (e) {
    if (isLightNodeError(e, 'ENCODE_ERROR'))
      throw invalidField('INPUT_INVALID', field, `a value that fits ${type}`, value);
    throw e;
  }
}

/** A whole number of seconds the device's revert timer can hold. */
export function checkRevertS(revertS: number, max: number, field = 'revertS'): number {
  if (!Number.isInteger(revertS) || revertS < 1 || revertS > max)
    throw invalidField('INPUT_INVALID', field, `an integer number of seconds in 1..${max}`, revertS);
  return revertS;
}

/** A finite number of watts. */
export function checkWatts(w: number, field = 'essPowerW'): number {
  if (!Number.isFinite(w)) throw invalidField('INPUT_INVALID', field, 'a finite number of W', w);
  return w;
}

/** Runs a device operation; a device that does not answer (MODBUS_TIMEOUT) becomes ADAPTER_TIMEOUT naming the asset. */
export async function withAdapterTimeout<T>(id: string, what: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (e) {
    if (isLightNodeError(e, 'MODBUS_TIMEOUT'))
      throw new LightNodeError(
        'ADAPTER_TIMEOUT',
        `asset ${id}: ${what}: the device did not answer in time`,
        {
          asset: id,
        },
        { cause: e },
      );
    throw e;
  }
}

/** 10^sf for a SunSpec scale factor; an unimplemented one (null) counts as 0. */
export function pow10(sf: number | null | undefined): number {
  return 10 ** (sf ?? 0);
}
