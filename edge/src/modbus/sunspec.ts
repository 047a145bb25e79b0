/**
 * SunSpec discovery: look for "SunS" (0x5375 0x6E53) at base 40000, then 0, then 50000 (pysunspec2's order); then
 * walk the model chain (ID, L) from base + 2 until ID = 0xFFFF. A timeout or exception at one base does not abort
 * discovery (pysunspec2 issue #31): it moves on to the next base.
 */
import { decodeString, isLightNodeError, type ProfileLookup } from '@lightnode/protocols';
import type { LineDevice } from './line.js';

export const SUNSPEC_BASES = [40000, 0, 50000] as const;

export interface SunSpecModel {
  id: number;
  /** Absolute address of the model's ID register. */
  address: number;
  /** L: registers after the (ID, L) header. */
  length: number;
  /** Our profile for it, if we have one. */
  profile?: string;
}

export interface SunSpecDevice {
  base: number;
  models: SunSpecModel[];
  manufacturer?: string;
  model?: string;
  serialNumber?: string;
  version?: string;
  /** Bases tried and what happened there. */
  probes: { base: number; result: string }[];
}

export async function discoverSunSpec(
  device: LineDevice,
  profiles?: ProfileLookup & { forSunSpecModel?(m: number): { id: string } | undefined },
): Promise<SunSpecDevice | null> {
  const probes: SunSpecDevice['probes'] = [];
  for (const base of SUNSPEC_BASES) {
    let w: number[];
    try {
      w = await device.read(3, base, 2);
    } catch (e) {
      probes.push({ base, result: isLightNodeError(e) ? e.code : String(e) });
      continue;
    }
    if (w[0] !== 0x5375 || w[1] !== 0x6e53) {
      probes.push({ base, result: 'no SunS marker' });
      continue;
    }
    probes.push({ base, result: 'SunS' });
    const models: SunSpecModel[] = [];
    let addr = base + 2;
    for (let guard = 0; guard < 64 && addr < 65534; guard++) {
      const [id, len] = await device.read(3, addr, 2);
      if (id === undefined || len === undefined || id === 0xffff) break;
      const p = profiles?.forSunSpecModel?.(id);
      models.push({ id, address: addr, length: len, ...(p ? { profile: p.id } : {}) });
      addr += len + 2;
    }
    const out: SunSpecDevice = { base, models, probes };
    const common = models.find((m) => m.id === 1);
    if (common) {
      const regs = await device.read(3, common.address + 2, 64);
      out.manufacturer = decodeString(regs.slice(0, 16));
      out.model = decodeString(regs.slice(16, 32));
      out.version = decodeString(regs.slice(40, 48));
      out.serialNumber = decodeString(regs.slice(48, 64));
    }
    return out;
  }
  return null;
}
