/**
 * The agent config from what commissioning found: one line per RS-485 port (with the baud and parity that answered)
 * and per Modbus TCP endpoint, a meter per found meter, the found ESS as an asset on its line, the Chain 2 gateway,
 * and `podId`, `stateDir`, `keyFile`, `uplink.url` from the inputs. Keys the installer does not decide (uplink
 * credentials, setpoints, jobs…) are kept from the config being replaced. Written atomically (temp + fsync +
 * rename), the old file kept as `FILE.bak`.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { AgentConfigSchema, builtinProfiles, parseAgentConfig, type AgentConfig } from '@lightnode/protocols';
import { writeFileDurably } from '@lightnode/edge';
import { lineKey } from './devices.js';
import type { ReportStoreConfig } from './report.js';
import type { CommissionInputs, FoundDevice } from './types.js';

/**
 * Limits written for a found ESS: conservative placeholders (a small home battery) until the installer edits them
 * from the battery's datasheet; the setpoint controller never commands beyond them.
 */
export const DEFAULT_ESS_LIMITS: AgentConfig['assets'][number]['limits'] = {
  maxDischargeW: 3000,
  maxChargeW: 3000,
  socMinPermille: 100,
  socMaxPermille: 950,
  capacityWh: 5000,
  rampWps: 1000,
};

export interface ConfigPlan {
  /** The document to write (input form: defaults filled by `parseAgentConfig`). */
  doc: Record<string, unknown>;
  /** Meter id per found meter (the same order as `meters`). */
  meterIds: string[];
  meters: FoundDevice[];
  /** The meter given role `pod` (none when Chain 2 reads the PoD). */
  podMeter?: FoundDevice;
  ess?: { device: FoundDevice; asset: AgentConfig['assets'][number]; lineName: string };
}

const safe = (s: string): string => s.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 64);

/** The config being replaced, as an object (undefined when absent or not a JSON object). */
export function readOldConfig(path: string): Record<string, unknown> | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const doc: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return doc !== null && typeof doc === 'object' && !Array.isArray(doc)
      ? (doc as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Plans the config. The PoD meter is the first found meter, unless a Chain 2 gateway is given (its M1 slot is the
 * PoD meter then, and the Modbus meters get no role).
 */
export function planConfig(
  inputs: CommissionInputs,
  found: readonly FoundDevice[],
  old: Record<string, unknown> | undefined,
): ConfigPlan {
  const profiles = builtinProfiles();
  const lines = new Map<string, { name: string; transport: unknown; meters: Record<string, unknown>[] }>();
  const lineOf = (d: FoundDevice): { name: string; meters: Record<string, unknown>[] } => {
    const key = lineKey(d);
    let l = lines.get(key);
    if (!l) {
      const name =
        d.port !== undefined ? safe(`rs485-${basename(d.port)}`) : safe(`tcp-${d.host ?? ''}-${d.tcpPort ?? 502}`);
      const transport =
        d.port !== undefined
          ? { rtu: { path: d.port, baud: d.baud ?? 9600, parity: d.parity ?? 'none' } }
          : { tcp: { host: d.host, port: d.tcpPort ?? 502 } };
      l = { name, transport, meters: [] };
      lines.set(key, l);
    }
    return l;
  };
  const meters = found.filter((d) => d.kind === 'meter');
  const podMeter = inputs.chain2 === undefined ? meters[0] : undefined;
  const ids = new Set<string>();
  const meterIds = meters.map((d) => {
    const stem = safe(`${d.profile.split('/').pop() ?? 'meter'}-${d.unit}`);
    let id = stem;
    for (let n = 2; ids.has(id); n++) id = `${stem}-${n}`;
    ids.add(id);
    lineOf(d).meters.push({ id, profile: d.profile, unit: d.unit, ...(d === podMeter ? { role: 'pod' } : {}) });
    return id;
  });
  const essDevice = found.find((d) => d.kind === 'ess');
  let ess: ConfigPlan['ess'];
  if (essDevice) {
    const lineName = lineOf(essDevice).name;
    const kind = profiles.get(essDevice.profile).kind;
    const asset = {
      id: ids.has('ess') ? 'ess-1' : 'ess',
      kind: 'ess' as const,
      pollMs: 1000,
      adapter:
        kind === 'ess'
          ? { modbus: { line: lineName, unit: essDevice.unit, profile: essDevice.profile } }
          : { sunspec: { line: lineName, unit: essDevice.unit } },
      limits: DEFAULT_ESS_LIMITS,
    };
    ess = { device: essDevice, asset, lineName };
  }
  const oldUplink =
    old?.uplink !== null && typeof old?.uplink === 'object' ? (old.uplink as Record<string, unknown>) : undefined;
  const uplink = inputs.cloud !== undefined ? { ...oldUplink, url: inputs.cloud } : oldUplink;
  const chain2 =
    inputs.chain2 !== undefined
      ? [{ name: 'chain2', ...(/^wss?:/.test(inputs.chain2) ? { ws: inputs.chain2 } : { http: inputs.chain2 }) }]
      : [];
  const doc: Record<string, unknown> = {
    ...old,
    podId: inputs.podId,
    stateDir: inputs.stateDir,
    keyFile: inputs.keyFile,
    ...(uplink ? { uplink } : {}),
    chain2,
    lines: [...lines.values()],
    assets: ess ? [ess.asset] : [],
  };
  // a setpoints section of the old config needs the ESS (and a PoD meter): without one it would not parse
  if (!ess) delete doc.setpoints;
  return { doc, meterIds, meters, ...(podMeter ? { podMeter } : {}), ...(ess ? { ess } : {}) };
}

/** Writes `doc` (checked by `parseAgentConfig` first) to `path` atomically; the previous file is kept as `.bak`. */
export function writeConfig(path: string, doc: Record<string, unknown>): { backup?: string; config: AgentConfig } {
  const config = parseAgentConfig(doc, path);
  mkdirSync(dirname(path), { recursive: true });
  let backup: string | undefined;
  if (existsSync(path)) {
    backup = `${path}.bak`;
    writeFileDurably(backup, readFileSync(path, 'utf8'));
  }
  writeFileDurably(path, JSON.stringify(doc, null, 2) + '\n');
  return { ...(backup ? { backup } : {}), config };
}

/**
 * The outbox location and chain domain for the report when the config did not validate (a failed commissioning is
 * reported too): the planned document's `chain`, `outbox` and `batch` with the schema's defaults, the inputs' state dir
 * and PoD.
 */
export function reportStoreOf(doc: Record<string, unknown>, inputs: CommissionInputs): ReportStoreConfig {
  const s = AgentConfigSchema.shape;
  // each key as the planned document has it when valid, else its schema default
  const part = <T>(schema: { safeParse(x: unknown): { success: boolean; data?: T } }, x: unknown): T => {
    const r = schema.safeParse(x);
    return (r.success ? r.data : schema.safeParse(undefined).data) as T;
  };
  return {
    podId: inputs.podId,
    stateDir: inputs.stateDir,
    chain: part(s.chain, doc.chain),
    outbox: part(s.outbox, doc.outbox),
    batch: part(s.batch, doc.batch),
  };
}
