/**
 * The RS-485 scan of `lightnode commission` (Victron's serial scan: probe per line setting, stop at the first setting
 * that answers). Settings in order: the profiles' own defaults (baud, parity), then 9600/19200/38400/115200 ×
 * none/even, without repeats. At each setting, each profile's identification (an injected `probe`) is tried at the
 * profile's unit id, then 1, then 2 (`fullScan`: then 3..247). A setting **answers** when any frame with a valid CRC
 * comes back — data, an exception reply (the device is there, it just refused that request) or a frame with the wrong
 * unit / function / length (modbus-serial checks the CRC first, so MODBUS_FRAME implies a valid CRC); a timeout or a
 * CRC failure is no answer. At the first setting that answers the remaining profiles and units are still tried there,
 * then the scan stops. A unit that stayed silent at a setting is not asked again at that setting (a device there would
 * have answered something), nor is a unit where a device was already found (two devices cannot share a unit id).
 * Per-request timeout: max(100 ms, 4 × the largest latency measured at this setting) once one was measured, before
 * that the profile's `transport.timeoutMs` (else 300 ms). Between two requests the line stays silent for t3.5.
 */
import { rtuTiming, type Clock, type Profile } from '@lightnode/protocols';
import { ScanBus, identifyRegistersProbe, type ProbeResult, type ScanProbe } from './scan-bus.js';
import { ModbusSerialTransport, type ModbusTransport } from './transport.js';

export * from './scan-bus.js';

/** What a scan finds (consumed by `lightnode commission`). */
export interface FoundDevice {
  kind: 'meter' | 'ess';
  /** Builtin profile id. */
  profile: string;
  unit: number;
  /** RS-485: serial path. */
  port?: string;
  baud?: number;
  parity?: 'none' | 'even' | 'odd';
  /** Modbus TCP. */
  host?: string;
  tcpPort?: number;
  model?: string;
  serialNumber?: string;
  /** Latency of the device's last answer, ms. */
  latencyMs?: number;
}

/** One line setting of a serial scan (8 data bits, 1 stop bit). */
export interface SerialSetting {
  baud: number;
  parity: 'none' | 'even' | 'odd';
}

export interface ScanProgress {
  setting?: SerialSetting;
  unit: number;
  /** Profile id. */
  profile: string;
  /** Candidates done (tried or skipped) and planned; `total` shrinks to what is left once a setting answered. */
  done: number;
  total: number;
}

/** One (setting, profile, unit) candidate. */
export interface ScanAttempt {
  setting?: SerialSetting;
  profile: string;
  unit: number;
  /** matched; other: answered, not this profile; silent: no valid frame; skipped: see the module comment. */
  result: 'matched' | 'other' | 'silent' | 'skipped';
  detail: string;
}

export interface SerialScanOptions {
  path: string;
  profiles: readonly Profile[];
  /** Units 1..247 instead of (profile's, 1, 2). */
  fullScan?: boolean;
  /** A transport for the port at one setting (default: modbus-serial RTU, 8 data bits, 1 stop bit). */
  open?: (setting: SerialSetting) => ModbusTransport;
  /** How a candidate is identified (default `identifyRegistersProbe`: the profile's `identify` registers). */
  probe?: ScanProbe;
  onProgress?: (e: ScanProgress) => void;
  clock: Clock;
}

export interface SerialScanResult {
  port: string;
  /** The setting that answered, if any. */
  setting?: SerialSetting;
  found: FoundDevice[];
  /** Candidates actually asked (not skipped). */
  tried: number;
  attempts: ScanAttempt[];
  detail: string;
}

/** The standard settings tried after the profiles' own defaults. */
export const SCAN_BAUDS = [9600, 19200, 38400, 115200] as const;
export const SCAN_PARITIES = ['none', 'even'] as const;

const settingKey = (s: SerialSetting): string => `${s.baud}/${s.parity}`;
export const formatSetting = (s: SerialSetting): string => `${s.baud} baud, parity ${s.parity}`;

/** The settings to try, in order: profiles' defaults first, then SCAN_BAUDS × SCAN_PARITIES, without repeats. */
export function scanSettings(profiles: readonly Profile[]): SerialSetting[] {
  const out: SerialSetting[] = [];
  const seen = new Set<string>();
  const add = (s: SerialSetting): void => {
    if (seen.has(settingKey(s))) return;
    seen.add(settingKey(s));
    out.push(s);
  };
  for (const p of profiles)
    if (p.transport.baud !== undefined) add({ baud: p.transport.baud, parity: p.transport.parity ?? 'none' });
  for (const baud of SCAN_BAUDS) for (const parity of SCAN_PARITIES) add({ baud, parity });
  return out;
}

/** Units to try for a profile: its own unit id, 1, 2 (fullScan: then 3..247), without repeats. */
export function scanUnits(profile: Profile, fullScan = false): number[] {
  const own = profile.transport.unitId;
  const list = [...(own !== undefined && own >= 1 && own <= 247 ? [own] : []), 1, 2];
  if (fullScan) for (let u = 1; u <= 247; u++) list.push(u);
  return [...new Set(list)];
}

/** 'ess' for ESS profiles and SunSpec storage / DER models (124, 701–713), else 'meter'. */
export function foundKind(profile: Profile): 'meter' | 'ess' {
  if (profile.kind === 'ess') return 'ess';
  const m = profile.sunspecModel;
  if (profile.kind === 'sunspec-model' && m !== undefined && (m === 124 || (m >= 701 && m <= 713))) return 'ess';
  return 'meter';
}

/** Shared by the serial and TCP scans: the candidates of one bus (one setting, or one TCP port). */
export interface PassState {
  found: FoundDevice[];
  attempts: ScanAttempt[];
  tried: number;
  done: number;
  total: number;
}

/** Tries every (profile, unit) candidate on `bus`, in order, with the skip rules of the module comment. */
export async function scanPass(o: {
  bus: ScanBus;
  candidates: readonly { profile: Profile; unit: number }[];
  probe: ScanProbe;
  st: PassState;
  place: Partial<FoundDevice>;
  setting?: SerialSetting;
  onProgress?: (e: ScanProgress) => void;
  /** Called once, when the first answer of this pass comes back. */
  onFirstAnswer?: () => void;
}): Promise<{ answered: boolean; answeredUnits: Set<number>; silentUnits: Set<number> }> {
  const silent = new Set<number>();
  const answeredUnits = new Set<number>();
  const foundUnits = new Set(
    o.st.found.filter((f) => o.place.port === f.port && o.place.tcpPort === f.tcpPort).map((f) => f.unit),
  );
  const withSetting = o.setting ? { setting: o.setting } : {};
  for (const { profile, unit } of o.candidates) {
    let attempt: ScanAttempt;
    if (silent.has(unit) || foundUnits.has(unit)) {
      attempt = {
        ...withSetting,
        profile: profile.id,
        unit,
        result: 'skipped',
        detail: foundUnits.has(unit) ? 'a device was found at this unit' : 'this unit stayed silent at this setting',
      };
    } else {
      o.st.tried++;
      const dev = o.bus.device(`${profile.id}#${unit}`, unit, profile.transport.timeoutMs);
      let r: ProbeResult | null = null;
      let err: string | undefined;
      try {
        r = await o.probe(dev, profile);
      } catch (e) {
        err = e instanceof Error ? e.message : String(e);
      }
      if (dev.answered) {
        if (answeredUnits.size === 0) o.onFirstAnswer?.();
        answeredUnits.add(unit);
      } else silent.add(unit);
      if (r?.matched) {
        foundUnits.add(unit);
        o.st.found.push({
          kind: foundKind(profile),
          profile: profile.id,
          unit,
          ...o.place,
          ...(r.model !== undefined ? { model: r.model } : {}),
          ...(r.serial !== undefined ? { serialNumber: r.serial } : {}),
          ...(dev.lastLatencyMs !== undefined ? { latencyMs: Math.round(dev.lastLatencyMs * 10) / 10 } : {}),
        });
      }
      const result = r?.matched ? 'matched' : dev.answered ? 'other' : 'silent';
      attempt = {
        ...withSetting,
        profile: profile.id,
        unit,
        result,
        detail: err ?? r?.detail ?? 'no valid frame in time',
      };
    }
    o.st.attempts.push(attempt);
    o.st.done++;
    o.onProgress?.({ ...withSetting, unit, profile: profile.id, done: o.st.done, total: o.st.total });
  }
  return { answered: answeredUnits.size > 0, answeredUnits, silentUnits: silent };
}

/** The candidates of one pass: for each profile (in order) its units. */
export function scanCandidates(profiles: readonly Profile[], fullScan = false): { profile: Profile; unit: number }[] {
  return profiles.flatMap((profile) => scanUnits(profile, fullScan).map((unit) => ({ profile, unit })));
}

/** Scans one serial port; never throws for a port that cannot be opened (its error is in `detail`). */
export async function scanSerialPort(o: SerialScanOptions): Promise<SerialScanResult> {
  const settings = scanSettings(o.profiles);
  const candidates = scanCandidates(o.profiles, o.fullScan);
  const open =
    o.open ??
    ((s: SerialSetting) => new ModbusSerialTransport({ rtu: { path: o.path, baud: s.baud, parity: s.parity } }));
  const st: PassState = { found: [], attempts: [], tried: 0, done: 0, total: settings.length * candidates.length };
  for (const [i, setting] of settings.entries()) {
    const transport = open(setting);
    let answered = false;
    try {
      await transport.open();
      const bus = new ScanBus(transport, o.clock, rtuTiming(setting.baud).t35Ms);
      const place = { port: o.path, baud: setting.baud, parity: setting.parity };
      ({ answered } = await scanPass({
        bus,
        candidates,
        probe: o.probe ?? identifyRegistersProbe,
        st,
        place,
        setting,
        ...(o.onProgress ? { onProgress: o.onProgress } : {}),
        // this setting answers: the settings after it will not be tried
        onFirstAnswer: () => (st.total = (i + 1) * candidates.length),
      }));
    } catch (e) {
      // the port itself failed (missing, busy): no other setting can do better
      await transport.close();
      const msg = e instanceof Error ? e.message : String(e);
      return { port: o.path, found: st.found, tried: st.tried, attempts: st.attempts, detail: `${o.path}: ${msg}` };
    }
    await transport.close();
    if (answered) {
      const detail =
        `${o.path} answers at ${formatSetting(setting)} (setting ${i + 1} of ${settings.length}): ` +
        (st.found.length
          ? `found ${st.found.map((f) => `${f.profile} at unit ${f.unit}`).join(', ')}`
          : 'a device answered but no profile matched it');
      return {
        port: o.path,
        setting,
        found: st.found,
        tried: st.tried,
        attempts: st.attempts,
        detail,
      };
    }
  }
  return {
    port: o.path,
    found: [],
    tried: st.tried,
    attempts: st.attempts,
    detail: `${o.path}: no answer at any of ${settings.length} settings (${settings.map(settingKey).join(', ')}); check wiring (A/B), termination and that the device is powered`,
  };
}
