/**
 * A generic `kind: "ess"` profile's register map of the battery: the profile's `essPowerW`, `socPermille` and
 * `productionPowerW` points read the battery (with the profile's scale, sign and unit), its first `setpoints[]`
 * entry takes the command: a write touching the setpoint or the enable register commands `sign` × raw ×
 * 10^scale × unitFactor W with the revert timer from the `revert` register (s; 0 none) when the enable register
 * holds its `value` (no enable register: every setpoint write commands), and releases otherwise. A command outside
 * [min, max] is refused with exception 3. Every `access: "rw"` point reads 0 until written.
 */
import {
  LightNodeError,
  REGISTER_UNITS,
  decodeRegisters,
  encodeRegisters,
  imageFromProfile,
  pointRegisters,
  registerCount,
  type Profile,
  type QuantityName,
} from '@lightnode/protocols';
import type { BatteryMap } from './battery-device.js';
import type { EssSiteState } from './site.js';

export function profileBatteryMap(profile: Profile, state: () => EssSiteState): BatteryMap {
  const sp = profile.setpoints?.[0];
  if (profile.kind !== 'ess' || !sp)
    throw new LightNodeError(
      'USAGE',
      `--profile ${profile.id}: expected a kind "ess" profile with a setpoint, received kind ${JSON.stringify(profile.kind)}`,
      { flag: 'profile', received: profile.id },
    );
  const order = sp.wordOrder ?? profile.wordOrder ?? 'be';
  const spRegs = registerCount(sp.type);
  const writable = new Set<number>();
  const add = (a: number, n: number): void => {
    for (let k = 0; k < n; k++) writable.add(a + k);
  };
  for (const pt of profile.points) if (pt.access === 'rw' && pt.fc === 3) add(pt.address, pointRegisters(pt));
  add(sp.address, spRegs);
  if (sp.revert) add(sp.revert.address, registerCount(sp.revert.type));
  if (sp.enable) add(sp.enable.address, 1);
  const overlaps = (a: number, n: number, address: number, count: number): boolean =>
    address < a + n && a < address + count;
  return {
    profile,
    writable,
    enables: sp.enable ? [sp.enable.address] : [],
    fill: (image) => {
      const s = state();
      const values: Partial<Record<QuantityName, number>> = {
        essPowerW: s.essPowerW,
        socPermille: s.socPermille,
        ...(s.productionPowerW !== undefined ? { productionPowerW: s.productionPowerW } : { productionPowerW: 0 }),
      };
      imageFromProfile(profile, values, { image });
      for (const a of writable) image.set(3, a, [0]);
    },
    interpret: (image, address, count) => {
      const onSetpoint = overlaps(sp.address, spRegs, address, count);
      const onEnable = sp.enable !== undefined && overlaps(sp.enable.address, 1, address, count);
      if (!onSetpoint && !onEnable) return null;
      if (sp.enable && image.read(3, sp.enable.address, 1)![0] !== sp.enable.value) return { release: true };
      const raw = decodeRegisters(sp.type, image.read(3, sp.address, spRegs)!, order).value ?? 0;
      const w = Math.round((sp.sign ?? 1) * raw * 10 ** (sp.scale ?? 0) * REGISTER_UNITS[sp.unit]!.W!);
      if (w < sp.min || w > sp.max)
        throw new LightNodeError('INPUT_INVALID', `setpoint ${w} W outside [${sp.min}, ${sp.max}]`, {});
      const rv = sp.revert;
      const revertS = rv
        ? (decodeRegisters(rv.type, image.read(3, rv.address, registerCount(rv.type))!).value ?? 0)
        : 0;
      return { command: { w, revertMs: revertS * 1000 } };
    },
  };
}

/** The words a client writes to command `w` W through the profile's setpoint (tests, examples). */
export function profileSetpointWords(profile: Profile, w: number): number[] {
  const sp = profile.setpoints![0]!;
  const raw = ((sp.sign ?? 1) * w) / (10 ** (sp.scale ?? 0) * REGISTER_UNITS[sp.unit]!.W!);
  return encodeRegisters(sp.type, Math.round(raw), sp.wordOrder ?? profile.wordOrder ?? 'be');
}
