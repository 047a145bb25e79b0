/**
 * SunSpec ESS adapter. `start()` walks the model chain (`discoverSunSpec`) and picks the control model: 704 (DER AC
 * controls) when present, else 124 (storage). Reads: 701 `W` (× 10^W_SF; positive = injection = discharge), 713
 * `SoC` (else 124 `ChaState`), the mode from 704 `WSetEna` / 124 `StorCtl_Mod`.
 *
 * 704 command: ONE write (fc 16) of offsets 22..32, `WSetEna` = 1, `WSetMod` = 1 (WATTS), `WSet` = W / 10^WSet_SF,
 * `WSetRvrt` = 0, `WSetPct`/`WSetPctRvrt` as read at start (unused in WATTS mode), `WSetEnaRvrt` = 0 (on reversion the
 * function disables itself: the device returns to autonomous), `WSetRvrtTms` = revertS. One transaction, so a
 * setpoint never lands without its revert timer (a second write could be lost); writing the two reversion values
 * is deliberate. Release: `WSetEna` = 0.
 *
 * 124 command: OutWRte = W / WDisChaMax × 100 and InWRte = −W / WChaMax × 100 (% with InOutWRte_SF: a window whose
 * two ends are the same power, so discharge W > 0 forces discharge, W < 0 forces charge), InOutWRte_WinTms = 0,
 * InOutWRte_RvrtTms = revertS, written as one block (offsets 12..15), then StorCtl_Mod = 3 (charge and discharge
 * limits active) — the rates before the mode, so the mode never goes live on stale rates. WChaMax is 124's (with
 * WChaMax_SF); the discharge base is 702 `WDisChaRteMax` (else its rating `WDisChaRteMaxRtg`, else WChaMax). A
 * command beyond ±100 % of its base is refused, never clamped. Release: StorCtl_Mod = 0.
 *
 * Models whose registers we write must have the length of the revision our profiles follow (704 L = 65, 124 L = 24):
 * another revision would put the same names elsewhere, so it is refused at start.
 */
import { LightNodeError, isLightNodeError, type Clock, type Logger, type ProfileRegistry } from '@lightnode/protocols';
import {
  SUNSPEC_BASES,
  discoverSunSpec,
  type LineDevice,
  type SunSpecDevice,
  type SunSpecModel,
} from '../modbus/index.js';
import { ProfileRegisters, checkRevertS, checkWatts, pow10, withAdapterTimeout } from './registers.js';
import type { EssAdapter, EssState } from './types.js';

export interface SunSpecEssOptions {
  id: string;
  device: LineDevice;
  clock: Clock;
  profiles: ProfileRegistry;
  logger?: Logger;
}

const NAMES: Record<number, string> = {
  124: 'storage',
  701: 'DER AC measurement',
  702: 'DER capacity',
  704: 'DER AC controls',
  713: 'DER storage capacity',
};

type Control =
  | { model: 704; regs: ProfileRegisters; wsetSf: number; pct: number[] }
  | { model: 124; regs: ProfileRegisters; rteSf: number; chaMaxW: number; disChaMaxW: number };

export class SunSpecEssAdapter implements EssAdapter {
  readonly kind = 'sunspec' as const;
  readonly id: string;
  private control?: Control;
  private power?: ProfileRegisters;
  private soc?: ProfileRegisters;
  /** What discovery found (for status and errors). */
  found?: SunSpecDevice;

  constructor(private readonly o: SunSpecEssOptions) {
    this.id = o.id;
  }

  async start(): Promise<void> {
    // discovery survives a failing base (pysunspec2 #31); we only need to know whether the device answered at all
    let silent = 0;
    const probe: LineDevice = {
      ...this.o.device,
      read: (fc, address, count) =>
        this.o.device.read(fc, address, count).catch((e: unknown) => {
          if (isLightNodeError(e, 'MODBUS_TIMEOUT') || isLightNodeError(e, 'DEVICE_UNAVAILABLE')) silent++;
          throw e;
        }),
    };
    const found = await withAdapterTimeout(this.id, 'SunSpec discovery', () => discoverSunSpec(probe, this.o.profiles));
    const at = `asset ${this.id} (unit ${this.o.device.unit})`;
    if (!found && silent === SUNSPEC_BASES.length)
      throw new LightNodeError('ADAPTER_TIMEOUT', `${at}: SunSpec discovery: the device did not answer in time`, {
        asset: this.id,
      });
    if (!found)
      throw new LightNodeError('NOT_FOUND', `${at}: no SunSpec device (no SunS marker at 40000, 0, 50000)`, {
        asset: this.id,
      });
    this.found = found;
    const ids = found.models.map((m) => m.id);
    const model = (id: number): SunSpecModel | undefined => found.models.find((m) => m.id === id);
    const missing = (what: string): never => {
      throw new LightNodeError('NOT_FOUND', `${at}: ${what} (SunSpec models found: ${ids.join(', ') || 'none'})`, {
        asset: this.id,
        models: ids,
      });
    };
    const m704 = model(704);
    const m124 = model(124);
    const m701 = model(701) ?? missing('no model 701 (DER AC measurement) to read the battery power from');
    if (!m704 && !m124) missing('no model 704 (DER AC controls) or 124 (storage) to command');
    this.power = this.regs(m701);
    const m713 = model(713);
    this.soc = m713 ? this.regs(m713) : m124 ? this.regs(m124) : missing('no model 713 or 124 to read the SoC from');
    this.control = await withAdapterTimeout(this.id, 'reading the control model', () =>
      m704 ? this.start704(m704) : this.start124(m124!, model(702)),
    );
    this.o.logger?.info('ess sunspec adapter ready', { asset: this.id, models: ids, control: this.control.model });
  }

  private regs(m: SunSpecModel): ProfileRegisters {
    const p = this.o.profiles.forSunSpecModel(m.id)!;
    return new ProfileRegisters(this.o.device, p, m.address, m.length);
  }

  /** A model we write must be the revision our profile maps. */
  private writable(m: SunSpecModel): ProfileRegisters {
    const r = this.regs(m);
    if (m.length !== r.profile.sunspecLength)
      throw new LightNodeError(
        'NOT_FOUND',
        `asset ${this.id}: model ${m.id} (${NAMES[m.id]}) has L = ${m.length}, the revision we can write has L = ${r.profile.sunspecLength}`,
        { asset: this.id, model: m.id, length: m.length },
      );
    return r;
  }

  private async start704(m: SunSpecModel): Promise<Control> {
    const regs = this.writable(m);
    const { WSet_SF } = await regs.read(['WSet_SF']);
    // WSetPct and WSetPctRvrt sit inside the block we write: written back as they are (raw)
    const pct = await this.o.device.read(3, regs.address('WSetPct'), 2);
    return { model: 704, regs, wsetSf: WSet_SF ?? 0, pct };
  }

  private async start124(m: SunSpecModel, m702: SunSpecModel | undefined): Promise<Control> {
    const regs = this.writable(m);
    const v = await regs.read(['WChaMax', 'WChaMax_SF', 'InOutWRte_SF']);
    const chaMaxW = v.WChaMax === null ? 0 : v.WChaMax * pow10(v.WChaMax_SF);
    let disChaMaxW = chaMaxW;
    if (m702) {
      const r = await this.regs(m702).read(['WDisChaRteMaxRtg', 'WDisChaRteMax', 'W_SF']);
      const w = r.WDisChaRteMax ?? r.WDisChaRteMaxRtg;
      if (w !== null && w > 0) disChaMaxW = w * pow10(r.W_SF);
    }
    if (!(chaMaxW > 0) || !(disChaMaxW > 0))
      throw new LightNodeError(
        'NOT_FOUND',
        `asset ${this.id}: model 124 WChaMax is ${v.WChaMax === null ? 'the no-value sentinel (the device does not report it)' : `${chaMaxW} W`}: no base to turn W into % of the maximum rate`,
        { asset: this.id },
      );
    return { model: 124, regs, rteSf: v.InOutWRte_SF ?? 0, chaMaxW, disChaMaxW };
  }

  private started(): { control: Control; power: ProfileRegisters; soc: ProfileRegisters } {
    if (!this.control || !this.power || !this.soc)
      throw new LightNodeError('INTERNAL', `asset ${this.id}: the SunSpec adapter is not started`, { asset: this.id });
    return { control: this.control, power: this.power, soc: this.soc };
  }

  async read(): Promise<EssState> {
    const { control, power, soc } = this.started();
    return withAdapterTimeout(this.id, 'read', async () => {
      const atMs = this.o.clock.now();
      const w = await power.read(['W', 'W_SF']);
      if (w.W === null) throw this.unavailable('701 W');
      let socPct: number | null;
      if (soc.profile.sunspecModel === 713) {
        const s = await soc.read(['SoC', 'Pct_SF']);
        socPct = s.SoC === null ? null : s.SoC * pow10(s.Pct_SF);
      } else {
        const s = await soc.read(['ChaState', 'ChaState_SF']);
        socPct = s.ChaState === null ? null : s.ChaState * pow10(s.ChaState_SF);
      }
      if (socPct === null) throw this.unavailable(soc.profile.sunspecModel === 713 ? '713 SoC' : '124 ChaState');
      let remote: boolean;
      if (control.model === 704) remote = (await control.regs.read(['WSetEna'])).WSetEna === 1;
      else remote = (((await control.regs.read(['StorCtl_Mod'])).StorCtl_Mod ?? 0) & 3) !== 0;
      return {
        atMs,
        essPowerW: Math.round(w.W * pow10(w.W_SF)),
        socPermille: Math.min(1000, Math.max(0, Math.round(socPct * 10))),
        mode: remote ? 'remote' : 'autonomous',
      };
    });
  }

  private unavailable(what: string): LightNodeError {
    return new LightNodeError('IO_ERROR', `asset ${this.id}: ${what} is not available (unimplemented value)`, {
      asset: this.id,
    });
  }

  async command(w: number, revertS: number): Promise<void> {
    const { control } = this.started();
    checkWatts(w);
    await withAdapterTimeout(this.id, 'command', async () => {
      if (control.model === 704) {
        checkRevertS(revertS, 0xffffffff);
        const r = control.regs;
        const block = [
          ...r.encode('WSetEna', 1),
          ...r.encode('WSetMod', 1),
          ...r.encode('WSet', Math.round(w / pow10(control.wsetSf))),
          ...r.encode('WSetRvrt', 0),
          ...control.pct,
          ...r.encode('WSetEnaRvrt', 0),
          ...r.encode('WSetRvrtTms', revertS),
        ];
        await this.o.device.write(16, r.address('WSetEna'), block);
        return;
      }
      checkRevertS(revertS, 0xfffe);
      const r = control.regs;
      const pct = (base: number, name: string, value: number): number => {
        const p = (value / base) * 100;
        if (Math.abs(p) > 100)
          throw new LightNodeError(
            'INPUT_INVALID',
            `asset ${this.id}: ${w} W is ${Math.round(Math.abs(p))} % of ${name} ${base} W (model 124 takes at most 100 %)`,
            { asset: this.id, essPowerW: w, base },
          );
        return Math.round(p / pow10(control.rteSf));
      };
      const out = pct(control.disChaMaxW, 'the maximum discharge rate', w);
      const inn = pct(control.chaMaxW, 'WChaMax', -w);
      const block = [
        ...r.encode('OutWRte', out),
        ...r.encode('InWRte', inn),
        ...r.encode('InOutWRte_WinTms', 0),
        ...r.encode('InOutWRte_RvrtTms', revertS),
      ];
      await this.o.device.write(16, r.address('OutWRte'), block);
      await this.o.device.write(16, r.address('StorCtl_Mod'), r.encode('StorCtl_Mod', 3));
    });
  }

  async release(): Promise<void> {
    const { control } = this.started();
    await withAdapterTimeout(this.id, 'release', async () => {
      const name = control.model === 704 ? 'WSetEna' : 'StorCtl_Mod';
      await this.o.device.write(16, control.regs.address(name), control.regs.encode(name, 0));
    });
  }

  async close(): Promise<void> {}
}
