/**
 * The SunSpec register map of the battery: "SunS" at `base`, model 1, the chosen models (their profiles give every
 * address), end 0xFFFF; the values and the meaning of a write come from sunspec-map.ts.
 */
import {
  LightNodeError,
  decodeRegisters,
  encodeRegisters,
  pointRegisters,
  pointWordOrder,
  sunspecImage,
  type Profile,
  type ProfileLookup,
  type ProfilePoint,
  type RegisterImage,
} from '@lightnode/protocols';
import type { BatteryMap } from './battery-device.js';
import {
  CONTROL_POINTS,
  ENABLE_POINTS,
  chooseSfs,
  interpretWrite,
  modelValues,
  type MapContext,
} from './sunspec-map.js';
import type { Battery } from './battery.js';

/** The profile of each SunSpec model the simulator can serve. */
export const SUNSPEC_MODEL_PROFILES: Record<number, string> = {
  124: 'sunspec/storage-124',
  701: 'sunspec/der-701',
  702: 'sunspec/der-702',
  704: 'sunspec/der-704',
  713: 'sunspec/der-713',
};

interface Model {
  id: number;
  profile: Profile;
  /** Address of the model's ID register. */
  start: number;
  byName: Map<string, ProfilePoint>;
}

/** The SunSpec map of `battery`: models `ids` in order (1 first), from `base` (default 40000). */
export function sunspecBatteryMap(
  battery: Battery,
  o: { profiles: ProfileLookup; ids: readonly number[]; base?: number; unit: number; now: () => number },
): BatteryMap {
  const ids = o.ids;
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
  const writable = new Set<number>();
  for (const m of models)
    for (const pt of m.profile.points)
      if (pt.access === 'rw') for (let k = 0; k < pointRegisters(pt); k++) writable.add(m.start + pt.address + k);

  const sfs = new Map<number, Map<string, number>>();
  const ratedW = Math.max(battery.ratedVA, battery.maxDischargeW, battery.maxChargeW);
  const ctx = (image: RegisterImage, nowMs: number): MapContext => ({
    battery,
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
  const put = (image: RegisterImage, m: Model, pt: ProfilePoint, v: number, sf: number): void => {
    const raw = pt.type === 'float32' || pt.type === 'float64' ? v : Math.round(v / 10 ** sf);
    image.set(3, m.start + pt.address, encodeRegisters(pt.type, raw, pointWordOrder(m.profile, pt)));
  };
  const fill = (img: RegisterImage, nowMs: number): void => {
    sunspecImage(
      models.map((m) => ({ profile: m.profile, values: {}, length: modelLength(m.profile) })),
      { profile: common, named: { Mn: 'LightNode', Md: 'SIM-ESS', SN: `SIMESS${o.unit}`, Vr: '1.0' } },
      base,
      img,
    );
    const c = ctx(img, nowMs);
    for (const m of models) {
      const values = modelValues(m.id, c);
      const mSfs = sfs.get(m.id) ?? chooseSfs(m.profile, values, ratedW); // chosen once: written raw values keep their meaning
      sfs.set(m.id, mSfs);
      for (const [name, sf] of mSfs) {
        const pt = m.byName.get(name);
        if (pt) put(img, m, pt, sf, 0);
      }
      for (const [name, v] of Object.entries(values)) {
        const pt = m.byName.get(name);
        if (pt) put(img, m, pt, v, pt.scaleFactor ? (mSfs.get(pt.scaleFactor) ?? 0) : 0);
      }
    }
  };
  const interpret: BatteryMap['interpret'] = (image, address, count) => {
    const c = ctx(image, o.now());
    let action: ReturnType<BatteryMap['interpret']> = null;
    for (const m of models) {
      const touched = (CONTROL_POINTS[m.id] ?? []).some((name) => {
        const pt = m.byName.get(name);
        if (!pt) return false;
        const a = m.start + pt.address;
        return address < a + pointRegisters(pt) && a < address + count;
      });
      if (touched) action = interpretWrite(m.id, c) ?? action;
    }
    return action;
  };
  const enables = models.flatMap((m) => {
    const pt = m.byName.get(ENABLE_POINTS[m.id] ?? '');
    return pt ? [m.start + pt.address] : [];
  });
  return { profile: common, writable, fill, interpret, enables };
}

/** The model's length L: the profile's `sunspecLength`, else up to its last point. */
function modelLength(p: Profile): number {
  return p.sunspecLength ?? Math.max(...p.points.map((pt) => pt.address + pointRegisters(pt))) - 2;
}
