/**
 * Register images generated from a profile: the inverse of the meter driver. Given quantity values (integers in
 * the quantity's unit) it fills the registers a device with that profile would hold, so that the same profile
 * drives the fake transport, the simulator and the driver's tests (each new profile is tested for free).
 */
import { QUANTITIES, type QuantityName } from '../lightnode/quantities.js';
import { REGISTER_UNITS, pointRegisters, pointWordOrder, type Profile, type ProfilePoint } from './profile.js';
import { encodeRegisters, encodeString } from './registers.js';

/** Sparse register image: key `${fc}:${address}` → 16-bit word. */
export class RegisterImage {
  readonly words = new Map<string, number>();
  /** Per function code, the lowest and highest mapped register: like real meters, holes inside read as 0. */
  private readonly bounds = new Map<number, [number, number]>();
  set(fc: number, address: number, values: readonly number[]): void {
    values.forEach((w, i) => this.words.set(`${fc}:${address + i}`, w & 0xffff));
    const b = this.bounds.get(fc);
    const lo = Math.min(b?.[0] ?? address, address);
    const hi = Math.max(b?.[1] ?? address + values.length - 1, address + values.length - 1);
    this.bounds.set(fc, [lo, hi]);
  }
  /** null when a register lies outside the device's map (it answers exception 2, illegal data address). */
  read(fc: number, address: number, count: number): number[] | null {
    const b = this.bounds.get(fc);
    if (!b || address < b[0] || address + count - 1 > b[1]) return null;
    const out: number[] = [];
    for (let i = 0; i < count; i++) out.push(this.words.get(`${fc}:${address + i}`) ?? 0);
    return out;
  }
  has(fc: number, address: number): boolean {
    return this.words.has(`${fc}:${address}`);
  }
  /** Every register reads 0 (a device that just rebooted), the map stays. */
  zero(): void {
    for (const k of this.words.keys()) this.words.set(k, 0);
  }
}

function rawFor(p: ProfilePoint, value: number, sf: number): number {
  const factor = REGISTER_UNITS[p.unit!]![QUANTITIES[p.quantity!].unit]!;
  const x = (value * (p.sign ?? 1)) / (factor * 10 ** ((p.scale ?? 0) + sf));
  return p.type === 'float32' || p.type === 'float64' ? x : Math.round(x);
}

/** Chooses each SunSpec scale factor so that every value using it fits an int16 with the most precision. */
function chooseScaleFactors(profile: Profile, values: Partial<Record<QuantityName, number>>): Map<string, number> {
  const out = new Map<string, number>();
  for (const sfName of new Set(profile.points.map((p) => p.scaleFactor).filter((x): x is string => !!x))) {
    const users = profile.points.filter(
      (p) => p.scaleFactor === sfName && p.quantity && values[p.quantity] !== undefined,
    );
    let sf = -3;
    const limit = (p: ProfilePoint): number =>
      p.type === 's16' ? 32767 : p.type === 'u16' ? 65534 : p.type === 'acc32' ? 4294967295 : 2147483647;
    while (sf < 9 && users.some((p) => Math.abs(rawFor(p, values[p.quantity!]!, sf)) > limit(p))) sf++;
    out.set(sfName, sf);
  }
  return out;
}

/**
 * Fills `image` (or a new one) with `values` as the profile maps them, at `base` (SunSpec model start).
 * Quantities without a value are written as the type's unavailable-value sentinel. Points combined by `sum` get
 * the whole value on the first non-negative point (e.g. import power) and the rest on the others.
 */
export function imageFromProfile(
  profile: Profile,
  values: Partial<Record<QuantityName, number>>,
  opts: { base?: number; image?: RegisterImage; named?: Record<string, number | string> } = {},
): RegisterImage {
  const img = opts.image ?? new RegisterImage();
  const base = opts.base ?? 0;
  const sfs = chooseScaleFactors(profile, values);
  const sentinel = (p: ProfilePoint): number[] => {
    const n = pointRegisters(p);
    switch (p.type) {
      case 's16':
      case 'sunssf':
        return [0x8000];
      case 's32':
        return [0x8000, 0].slice(0, n);
      case 'float32':
        return [0x7fc0, 0];
      case 'acc32':
      case 'acc64':
        return new Array<number>(n).fill(0);
      default:
        return new Array<number>(n).fill(0xffff);
    }
  };
  const seen = new Set<QuantityName>();
  for (const p of profile.points) {
    const addr = base + p.address;
    if (!p.quantity) {
      const v = p.name ? (sfs.get(p.name) ?? opts.named?.[p.name]) : undefined;
      if (p.type === 'string') img.set(p.fc, addr, encodeString(typeof v === 'string' ? v : '', p.length ?? 1));
      else
        img.set(
          p.fc,
          addr,
          typeof v === 'number' ? encodeRegisters(p.type, v, pointWordOrder(profile, p)) : sentinel(p),
        );
      continue;
    }
    let v = values[p.quantity];
    if (p.combine === 'sum' && v !== undefined) {
      // split a signed total over "import" (sign +1) and "export" (sign −1) registers that only hold magnitudes
      const first = !seen.has(p.quantity);
      seen.add(p.quantity);
      if ((p.sign ?? 1) === 1) v = first ? Math.max(0, v) : 0;
      else v = Math.min(0, v);
    }
    if (v === undefined) {
      img.set(p.fc, addr, sentinel(p));
      continue;
    }
    const raw = rawFor(p, v, p.scaleFactor ? (sfs.get(p.scaleFactor) ?? 0) : 0);
    img.set(p.fc, addr, encodeRegisters(p.type, raw, pointWordOrder(profile, p)));
  }
  return img;
}

/** "SunS" marker, the common model (1), the given models and the end marker, from `base` (default 40000). */
export function sunspecImage(
  models: { profile: Profile; values: Partial<Record<QuantityName, number>>; length: number }[],
  common: { profile: Profile; named: Record<string, number | string> },
  base = 40000,
  img = new RegisterImage(),
): { image: RegisterImage; addresses: number[] } {
  img.set(3, base, [0x5375, 0x6e53]);
  let addr = base + 2;
  img.set(3, addr, [1, 66]);
  imageFromProfile(common.profile, {}, { base: addr, image: img, named: common.named });
  addr += 68;
  const addresses: number[] = [];
  for (const m of models) {
    img.set(3, addr, [m.profile.sunspecModel!, m.length]);
    for (let i = 0; i < m.length; i++) if (!img.has(3, addr + 2 + i)) img.set(3, addr + 2 + i, [0]);
    imageFromProfile(m.profile, m.values, { base: addr, image: img });
    addresses.push(addr);
    addr += m.length + 2;
  }
  img.set(3, addr, [0xffff, 0]);
  return { image: img, addresses };
}
