/**
 * The battery as a Modbus device: a `MeterSimulator` (faults, function codes, statistics) whose image is filled from
 * the battery's state through a SunSpec map (sunspec-map.ts: "SunS" at `base`, model 1, the chosen models, end
 * 0xFFFF), and whose writes to the control points command it. Written control registers are kept across the image
 * refresh; writes to read-only points get exception 2, refused writes (fault `refuse`) exception 4.
 */
import {
  LightNodeError,
  decodeRegisters,
  encodeRegisters,
  isLightNodeError,
  pointRegisters,
  pointWordOrder,
  sunspecImage,
  type Clock,
  type Profile,
  type ProfileLookup,
  type ProfilePoint,
  type RegisterImage,
} from '@lightnode/protocols';
import { MeterSimulator, type Fault } from '../modbus/simulator.js';
import {
  CONTROL_POINTS,
  ENABLE_POINTS,
  chooseSfs,
  interpretWrite,
  modelValues,
  type MapContext,
} from './sunspec-map.js';
import type { EssSimulator } from './site.js';

/** The profile of each SunSpec model the simulator can serve. */
export const SUNSPEC_MODEL_PROFILES: Record<number, string> = {
  124: 'sunspec/storage-124',
  701: 'sunspec/der-701',
  702: 'sunspec/der-702',
  704: 'sunspec/der-704',
  713: 'sunspec/der-713',
};

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

interface Model {
  id: number;
  profile: Profile;
  /** Address of the model's ID register. */
  start: number;
  byName: Map<string, ProfilePoint>;
}

/** A Modbus device serving the battery of `site` as a SunSpec storage / DER. */
export function modbusBattery(site: EssSimulator, o: ModbusBatteryOptions): MeterSimulator {
  if (o.profile !== undefined)
    throw new LightNodeError('USAGE', `--profile ${o.profile}: generic ESS profiles are not simulated yet`, {});
  const ids = o.sunspec ?? [1, 124, 701, 702, 704, 713];
  if (ids[0] !== 1)
    throw new LightNodeError('USAGE', `--models: expected model 1 (common) first, received ${ids.join(',')}`, {
      flag: 'models',
    });
  const base = o.base ?? 40000;
  const common = o.profiles.get('sunspec/common');
  const models: Model[] = [];
  for (const id of ids.slice(1)) {
    const pid = SUNSPEC_MODEL_PROFILES[id];
    if (!pid)
      throw new LightNodeError(
        'USAGE',
        `--models: model ${id} is not simulated (known: 1, ${Object.keys(SUNSPEC_MODEL_PROFILES).join(', ')})`,
        { flag: 'models', received: id },
      );
    const profile = o.profiles.get(pid);
    models.push({
      id,
      profile,
      start: 0,
      byName: new Map(profile.points.filter((p) => p.name).map((p) => [p.name!, p])),
    });
  }
  const skeleton = sunspecImage(
    models.map((m) => ({ profile: m.profile, values: {}, length: modelLength(m.profile) })),
    { profile: common, named: { Mn: 'LightNode', Md: 'SIM-ESS', SN: `SIMESS${o.unit}`, Vr: '1.0' } },
    base,
  );
  models.forEach((m, i) => (m.start = skeleton.addresses[i]!));
  const written = new Map<number, number>(); // address → word, of writable points only
  const writable = new Set<number>();
  for (const m of models)
    for (const pt of m.profile.points)
      if (pt.access === 'rw') for (let k = 0; k < pointRegisters(pt); k++) writable.add(m.start + pt.address + k);

  let image: RegisterImage = skeleton.image;
  const sfs = new Map<number, Map<string, number>>();
  const ctx = (nowMs: number): MapContext => ({
    battery: site.battery,
    nowMs,
    control: (model, name) => {
      const m = models.find((x) => x.id === model);
      const pt = m?.byName.get(name);
      if (!m || !pt) return null;
      const words = image.read(3, m.start + pt.address, pointRegisters(pt));
      const raw = words ? decodeRegisters(pt.type, words, pointWordOrder(m.profile, pt)).value : null;
      if (raw === null) return null;
      const sf = pt.scaleFactor ? (sfs.get(model)?.get(pt.scaleFactor) ?? 0) : 0;
      return raw * 10 ** sf;
    },
  });
  const put = (m: Model, pt: ProfilePoint, v: number, sf: number): void => {
    const raw = pt.type === 'float32' || pt.type === 'float64' ? v : Math.round(v / 10 ** sf);
    image.set(3, m.start + pt.address, encodeRegisters(pt.type, raw, pointWordOrder(m.profile, pt)));
  };
  const fill = (img: RegisterImage, nowMs: number): void => {
    image = img;
    sunspecImage(
      models.map((m) => ({ profile: m.profile, values: {}, length: modelLength(m.profile) })),
      { profile: common, named: { Mn: 'LightNode', Md: 'SIM-ESS', SN: `SIMESS${o.unit}`, Vr: '1.0' } },
      base,
      img,
    );
    const c = ctx(nowMs);
    for (const m of models) {
      const values = modelValues(m.id, c);
      const mSfs = sfs.get(m.id) ?? chooseSfs(m.profile, values); // chosen once: written raw values keep their meaning
      sfs.set(m.id, mSfs);
      for (const [name, sf] of mSfs) {
        const pt = m.byName.get(name);
        if (pt) put(m, pt, sf, 0);
      }
      for (const [name, v] of Object.entries(values)) {
        const pt = m.byName.get(name);
        if (pt) put(m, pt, v, pt.scaleFactor ? (mSfs.get(pt.scaleFactor) ?? 0) : 0);
      }
    }
    for (const [a, w] of written) img.set(3, a, [w]);
  };
  const onWrite = (address: number, values: readonly number[]): number | undefined => {
    for (let k = 0; k < values.length; k++) if (!writable.has(address + k)) return 2;
    const before = new Map(written);
    values.forEach((w, k) => written.set(address + k, w));
    const c = ctx(o.clock.now());
    try {
      for (const m of models) {
        const touched = (CONTROL_POINTS[m.id] ?? []).some((name) => {
          const pt = m.byName.get(name);
          if (!pt) return false;
          const a = m.start + pt.address;
          return address < a + pointRegisters(pt) && a < address + values.length;
        });
        if (!touched) continue;
        const what = interpretWrite(m.id, c);
        if (what && 'command' in what) site.battery.setCommand(what.command.w, what.command.revertMs);
        else if (what) site.battery.release();
      }
    } catch (e) {
      written.clear();
      for (const [a, w] of before) written.set(a, w);
      if (isLightNodeError(e, 'DEVICE_UNAVAILABLE')) return 4; // server device failure
      return 3; // illegal data value (e.g. an unusable setpoint)
    }
    return undefined;
  };
  // the battery's own revert (and a release) puts the enable points back to 0
  site.onEvent((e) => {
    if (e.event !== 'revert' && e.event !== 'release') return;
    for (const m of models) {
      const pt = m.byName.get(ENABLE_POINTS[m.id] ?? '');
      if (pt) written.set(m.start + pt.address, 0);
    }
  });
  return new MeterSimulator({
    profile: common,
    unit: o.unit,
    clock: o.clock,
    refreshMs: 0,
    fill,
    onWrite,
    faults: [...(o.faults ?? [])],
  });
}

/** The model's length L: the profile's `sunspecLength`, else up to its last point. */
function modelLength(p: Profile): number {
  return p.sunspecLength ?? Math.max(...p.points.map((pt) => pt.address + pointRegisters(pt))) - 2;
}
