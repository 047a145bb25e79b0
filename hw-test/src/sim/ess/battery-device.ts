/**
 * The battery as a Modbus device: a `MeterSimulator` (faults, function codes, statistics) whose image a register
 * map fills from the battery's state (SunSpec, sunspec-device.ts; a generic `kind: "ess"` profile,
 * profile-device.ts), and whose writes to the map's control registers command the battery. Written registers are
 * kept across the image refresh; writes to registers that are not writable get exception 2, refused writes (fault
 * `refuse`) exception 4, an unusable command (beyond the map's range) exception 3. When the battery's own timer
 * reverts (or it is released), the map's enable registers read 0 again; under `silent-revert` and `fake-mode` they
 * keep what was written (the device does not tell).
 */
import { isLightNodeError, type Clock, type Profile, type RegisterImage } from '@lightnode/protocols';
import { MeterSimulator, type Fault } from '../modbus/simulator.js';
import type { EssSimulator } from './site.js';

export type MapAction = { command: { w: number; revertMs: number } } | { release: true } | null;

export interface BatteryMap {
  /** The profile the device answers as. */
  profile: Profile;
  /** Holding registers a client may write. */
  writable: ReadonlySet<number>;
  /** Writes the battery's state into the image (the written registers are laid over it afterwards). */
  fill(image: RegisterImage, nowMs: number): void;
  /** What a write of `count` registers at `address` means, read from the image (the write already in it). */
  interpret(image: RegisterImage, address: number, count: number): MapAction;
  /** Registers that go back to 0 when the battery reverts or is released. */
  enables: readonly number[];
}

export function batteryDevice(
  site: EssSimulator,
  o: { clock: Clock; unit: number; faults?: readonly Fault[] },
  map: BatteryMap,
): MeterSimulator {
  const written = new Map<number, number>(); // address → word, of writable registers only
  let image: RegisterImage | undefined;
  const onWrite = (address: number, values: readonly number[]): number | undefined => {
    for (let k = 0; k < values.length; k++) if (!map.writable.has(address + k)) return 2;
    const before = new Map(written);
    values.forEach((w, k) => written.set(address + k, w));
    try {
      const what = map.interpret(image!, address, values.length);
      if (what && 'command' in what) site.battery.setCommand(what.command.w, what.command.revertMs);
      else if (what) site.battery.release();
    } catch (e) {
      written.clear();
      for (const [a, w] of before) written.set(a, w);
      return isLightNodeError(e, 'DEVICE_UNAVAILABLE') ? 4 : 3; // server device failure; illegal data value
    }
    return undefined;
  };
  site.onEvent((e) => {
    if (e.event === 'revert' || e.event === 'release') for (const a of map.enables) written.set(a, 0);
  });
  const device = new MeterSimulator({
    profile: map.profile,
    unit: o.unit,
    clock: o.clock,
    refreshMs: 0,
    fill: (img, nowMs) => {
      image = img;
      map.fill(img, nowMs);
      for (const [a, w] of written) img.set(3, a, [w]);
    },
    onWrite,
    faults: [...(o.faults ?? [])],
  });
  // a dropped connection is a battery change worth a line
  const handle = device.handle.bind(device);
  device.handle = (unit, pdu) => {
    const action = handle(unit, pdu);
    if (action.kind === 'drop') site.battery.noteFault('drop-connection');
    return action;
  };
  return device;
}
