/**
 * The Modbus TCP scan of `lightnode commission` (evcc's `detect`: ports 502 and 1502, SunSpec). Per port: connect (a
 * refused or closed port is reported, never thrown), identify each profile at its unit id, 1 and 2 (the same pass and
 * timeout rule as the serial scan, scan.ts), then walk SunSpec (`discoverSunSpec`) at the units that did not stay
 * silent: meter models 201–204 / 211–214 become meters, storage (124, or the DER storage capacity 713) an ESS whose
 * control profile is 704 (DER AC controls) when present, else 124 — the choice the SunSpec ESS adapter makes.
 */
import { builtinProfiles, type Clock, type Profile, type ProfileLookup } from '@lightnode/protocols';
import {
  ScanBus,
  scanCandidates,
  scanPass,
  type FoundDevice,
  type PassState,
  type ScanAttempt,
  type ScanProbe,
  type ScanProgress,
} from './scan.js';
import { identifyRegistersProbe } from './scan-bus.js';
import { discoverSunSpec, type SunSpecDevice } from './sunspec.js';
import { ModbusSerialTransport, type ModbusTransport } from './transport.js';

/** Ports tried when none is given. */
export const SCAN_TCP_PORTS = [502, 1502] as const;

export interface TcpScanOptions {
  host: string;
  /** One port (from `HOST:PORT`); else `ports`. */
  port?: number;
  /** Default SCAN_TCP_PORTS. */
  ports?: readonly number[];
  profiles: readonly Profile[];
  /** How a candidate is identified (default `identifyRegistersProbe`: the profile's `identify` registers). */
  probe?: ScanProbe;
  clock: Clock;
  /** A transport to host:port (default modbus-serial TCP, 2 s connect timeout). */
  open?: (host: string, port: number) => ModbusTransport;
  /** Profiles of the SunSpec models (default the builtin registry). */
  sunspec?: ProfileLookup & { forSunSpecModel?(m: number): { id: string } | undefined };
  /** Skip the SunSpec walk. */
  noSunSpec?: boolean;
  onProgress?: (e: ScanProgress) => void;
}

export interface TcpPortResult {
  port: number;
  result: 'scanned' | 'refused' | 'error';
  detail: string;
  /** SunSpec devices found on this port, by unit. */
  sunspec: { unit: number; base: number; models: number[] }[];
}

export interface TcpScanResult {
  host: string;
  found: FoundDevice[];
  tried: number;
  attempts: ScanAttempt[];
  ports: TcpPortResult[];
  detail: string;
}

const SUNSPEC_METERS = new Set([201, 202, 203, 204, 211, 212, 213, 214]);

/** What a SunSpec model chain means for commissioning (the classification of the module comment). */
export function sunspecFound(
  dev: SunSpecDevice,
  lookup?: { forSunSpecModel?(m: number): { id: string } | undefined },
): Pick<FoundDevice, 'kind' | 'profile'>[] {
  const ids = new Set(dev.models.map((m) => m.id));
  const profileOf = (m: number, fallback: string): string => lookup?.forSunSpecModel?.(m)?.id ?? fallback;
  const out: Pick<FoundDevice, 'kind' | 'profile'>[] = [];
  for (const m of dev.models)
    if (SUNSPEC_METERS.has(m.id)) out.push({ kind: 'meter', profile: profileOf(m.id, `sunspec/meter-${m.id}`) });
  if (ids.has(124) || ids.has(713)) {
    const control = ids.has(704) ? 704 : ids.has(124) ? 124 : undefined;
    if (control !== undefined)
      out.push({
        kind: 'ess',
        profile: profileOf(control, control === 704 ? 'sunspec/der-704' : 'sunspec/storage-124'),
      });
  }
  return out;
}

/** Scans host on each port; never throws for a refused, closed or unreachable port (see `ports[].detail`). */
export async function scanTcp(o: TcpScanOptions): Promise<TcpScanResult> {
  const ports = o.port !== undefined ? [o.port] : [...(o.ports ?? SCAN_TCP_PORTS)];
  const open =
    o.open ??
    ((host: string, port: number) => new ModbusSerialTransport({ tcp: { host, port, connectTimeoutMs: 2000 } }));
  const lookup = o.sunspec ?? builtinProfiles();
  const candidates = scanCandidates(o.profiles);
  const st: PassState = { found: [], attempts: [], tried: 0, done: 0, total: ports.length * candidates.length };
  const results: TcpPortResult[] = [];
  for (const port of ports) {
    const transport = open(o.host, port);
    const place = { host: o.host, tcpPort: port };
    const res: TcpPortResult = { port, result: 'scanned', detail: '', sunspec: [] };
    results.push(res);
    try {
      await transport.open();
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      res.result = /refused/i.test(msg) ? 'refused' : 'error';
      res.detail = `${o.host}:${port}: ${msg}`;
      st.total -= candidates.length; // nothing to try here: the progress total shrinks
      await transport.close();
      continue;
    }
    try {
      const bus = new ScanBus(transport, o.clock, 0);
      const pass = await scanPass({
        bus,
        candidates,
        probe: o.probe ?? identifyRegistersProbe,
        st,
        place,
        ...(o.onProgress ? { onProgress: o.onProgress } : {}),
      });
      if (!o.noSunSpec) {
        const units = [...new Set([1, 2, ...candidates.map((c) => c.unit)])].filter((u) => !pass.silentUnits.has(u));
        for (const unit of units) {
          const dev = bus.device(`sunspec#${unit}`, unit);
          let found: SunSpecDevice | null = null;
          try {
            found = await discoverSunSpec(dev, lookup);
          } catch {
            found = null; // a model chain cut short: nothing we can configure at this unit
          }
          if (!found) continue;
          res.sunspec.push({ unit, base: found.base, models: found.models.map((m) => m.id) });
          for (const f of sunspecFound(found, lookup)) {
            // one device per unit and kind: the SunSpec walk (the whole model chain) names a SunSpec device better
            // than its identify registers did (model 124 first, 704 later: der-704); another maker's profile stays
            const same = st.found.findIndex((x) => x.tcpPort === port && x.unit === unit && x.kind === f.kind);
            if (same >= 0 && !st.found[same]!.profile.startsWith('sunspec/')) continue;
            if (same >= 0) st.found.splice(same, 1);
            st.found.push({
              ...f,
              unit,
              ...place,
              ...(found.model ? { model: found.model } : {}),
              ...(found.serialNumber ? { serialNumber: found.serialNumber } : {}),
              ...(dev.lastLatencyMs !== undefined ? { latencyMs: Math.round(dev.lastLatencyMs * 10) / 10 } : {}),
            });
          }
        }
      }
      const here = st.found.filter((f) => f.tcpPort === port);
      res.detail =
        `${o.host}:${port}: ` +
        (here.length
          ? `found ${here.map((f) => `${f.profile} at unit ${f.unit}`).join(', ')}`
          : pass.answered
            ? 'a device answered but no profile matched it and no SunSpec map was found'
            : 'connected, but no unit answered');
    } finally {
      await transport.close();
    }
  }
  return {
    host: o.host,
    found: st.found,
    tried: st.tried,
    attempts: st.attempts,
    ports: results,
    detail: results.map((r) => r.detail).join('; '),
  };
}
