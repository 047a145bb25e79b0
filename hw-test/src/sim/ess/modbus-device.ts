/** The battery as a Modbus device over one of its register maps: SunSpec models, or a generic `kind: "ess"` profile. */
import { LightNodeError, type Clock, type ProfileLookup } from '@lightnode/protocols';
import type { Fault, MeterSimulator } from '../modbus/simulator.js';
import { batteryDevice } from './battery-device.js';
import { profileBatteryMap } from './profile-device.js';
import type { EssSimulator } from './site.js';
import { sunspecBatteryMap } from './sunspec-device.js';

export interface ModbusBatteryOptions {
  clock: Clock;
  unit: number;
  profiles: ProfileLookup;
  faults?: readonly Fault[];
  /** SunSpec models in order (1 first; default 1, 124, 701, 702, 704, 713). */
  sunspec?: readonly number[];
  /** Where "SunS" lies (default 40000). */
  base?: number;
  /** A generic `kind: "ess"` profile instead of SunSpec. */
  profile?: string;
}

export function modbusBattery(site: EssSimulator, o: ModbusBatteryOptions): MeterSimulator {
  const map =
    o.profile !== undefined
      ? profileBatteryMap(o.profiles.get(o.profile), () => site.state())
      : sunspecBatteryMap(site.battery, {
          profiles: o.profiles,
          ids: o.sunspec ?? [1, 124, 701, 702, 704, 713],
          unit: o.unit,
          now: () => o.clock.now(),
          ...(o.base !== undefined ? { base: o.base } : {}),
        });
  if (o.profile !== undefined && o.sunspec !== undefined)
    throw new LightNodeError('USAGE', 'give --profile or --models, not both', { flag: 'models' });
  return batteryDevice(site, o, map);
}
