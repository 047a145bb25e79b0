/** ESS adapter test helpers: a Modbus fake that records writes, and settling a promise on a FakeClock. */
import { builtinProfiles, sunspecImage, type QuantityName, type RegisterImage } from '@lightnode/protocols';
import type { FakeClock } from '@lightnode/protocols/testing';
import { FakeModbusTransport } from './fake-modbus.js';
import type { ModbusWrite } from '../modbus/index.js';

export class RecordingTransport extends FakeModbusTransport {
  readonly writes: { fc: number; address: number; values: number[] }[] = [];
  override write(w: ModbusWrite): Promise<void> {
    this.writes.push({ fc: w.fc, address: w.address, values: [...w.values] });
    return super.write(w);
  }
}

/** Advances the fake clock until `p` settles (the fake transport sleeps on it), then returns its result. */
export async function settle<T>(clock: FakeClock, p: Promise<T>): Promise<T> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  while (!done) await clock.advance(10);
  return p;
}

export interface ModelSpec {
  id: number;
  values?: Partial<Record<QuantityName, number>>;
  /** Named points (raw register values, scale factors included). */
  named?: Record<string, number>;
  /** L, default the profile's. */
  length?: number;
}

/**
 * A SunSpec device image at 40000: the common model, then each model from its built-in profile with the given
 * quantity values and named raw values. Returns the image and each model's ID register address by model id.
 */
export function sunspecEssImage(models: ModelSpec[]): { image: RegisterImage; at: Record<number, number> } {
  const profiles = builtinProfiles();
  const specs = models.map((m) => ({ m, profile: profiles.forSunSpecModel(m.id)! }));
  const { image, addresses } = sunspecImage(
    specs.map(({ m, profile }) => ({
      profile,
      values: m.values ?? {},
      length: m.length ?? profile.sunspecLength!,
    })),
    { profile: profiles.get('sunspec/common'), named: { Mn: 'LightNode', Md: 'ESS-TEST', SN: 'T1', Vr: '1.0' } },
  );
  const at: Record<number, number> = {};
  specs.forEach(({ m, profile }, i) => {
    at[m.id] = addresses[i]!;
    for (const [name, raw] of Object.entries(m.named ?? {})) {
      const p = profile.points.find((x) => x.name === name)!;
      const words = p.type === 's32' || p.type === 'u32' ? [(raw >>> 16) & 0xffff, raw & 0xffff] : [raw & 0xffff];
      image.set(3, addresses[i]! + p.address, words);
    }
  });
  return { image, at };
}
