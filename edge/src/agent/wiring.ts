/**
 * Wiring: the agent config → its parts (the device key, the store, the sources, the link, the status socket). The only
 * code that reads config shapes; everything it builds is a library part with its own options, and a test replaces
 * any of them (`AgentDeps.store`, `.sources`, `.link`).
 */
import { join } from 'node:path';
import {
  builtinProfiles,
  chain2Roles,
  LightNodeError,
  lightNodeDomain,
  parseFailpoints,
  type AgentConfig,
  type Clock,
  type Logger,
  type Signer,
} from '@lightnode/protocols';
import { HttpChain2Transport, SerialChain2Transport, WsChain2Transport } from '../chain2/index.js';
import { signerFromKeyFile } from '../keys/index.js';
import { MqttLink, type Link, type MqttLinkOptions } from '../link/index.js';
import { ModbusLine, ModbusMeter, ModbusSerialTransport } from '../modbus/index.js';
import { AlfaSource, Chain2MeterSource, ModbusMeterSource, type MeterSource } from '../sources/index.js';
import { SqliteStore, type Store } from '../store/index.js';
import type { EssAdapter, EssState } from '../ess/index.js';
import { wireAssets } from './assets.js';
import { AuditLog } from '../setpoints/audit.js';
import { SetpointController } from '../setpoints/runtime.js';

export interface AgentParts {
  signer: Signer;
  store: Store;
  sources: MeterSource[];
  /** Modbus lines the sources share: closed after the sources stopped. */
  lines: ModbusLine[];
  link: Link;
  socketPath: string;
  /** Commit period: the fastest meter's poll period, at most 1 s. */
  cycleMs: number;
  /** The assets' adapters (`assets[]` order): their telemetry sources are among `sources`; closed at stop. */
  adapters: EssAdapter[];
}

export interface WiringDeps {
  clock: Clock;
  logger: Logger;
  sources?: MeterSource[];
  store?: Store;
  link?: Link;
  random?: () => number;
  /** Replace the configured ESS adapters (tests: FakeEssAdapter), in `assets[]` order. */
  essAdapters?: EssAdapter[];
  /** Where `LIGHTNODE_FAILPOINTS` is read (a test knob, edge/README.md § Test knobs); default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/**
 * `setpointW(assetId)`: the command in force on that asset (its telemetry's `essSetpointW`), and `onState`: each
 * state its telemetry read — both for the controller built later (wireSetpoints).
 */
export function wireAgent(
  c: AgentConfig,
  deps: WiringDeps,
  setpointW: (assetId: string) => number | undefined = () => undefined,
  onState?: (assetId: string, s: EssState) => void,
): AgentParts {
  const signer = signerFromKeyFile(c.keyFile ?? join(c.stateDir, 'device.key'));
  const lines: ModbusLine[] = [];
  const meters = deps.sources ?? [...modbusSources(c, deps, lines), ...chain2Sources(c, deps)];
  // an asset's line is the meters' own (one bus scheduler), opened here when the sources were replaced
  const extra = new Map<string, ModbusLine>();
  const line = (name: string): ModbusLine => {
    const i = c.lines.findIndex((l) => l.name === name);
    if (i < 0) throw new LightNodeError('CONFIG_INVALID', `lines: no line named ${JSON.stringify(name)}`, { name });
    if (!deps.sources) return lines[i]!; // built in config order
    const opened = extra.get(name) ?? openLine(c.lines[i]!, deps);
    if (!extra.has(name)) lines.push(opened);
    extra.set(name, opened);
    return opened;
  };
  const assets = wireAssets(c, deps, line, setpointW, onState);
  const store = deps.store ?? openStore(c, signer, deps);
  const link = deps.link ?? new MqttLink(linkOptions(c, signer.address, deps));
  const polls = [...c.lines.flatMap((l) => l.meters.map((m) => m.pollMs)), ...c.assets.map((a) => a.pollMs)];
  return {
    signer,
    store,
    sources: [...meters, ...assets.sources],
    lines,
    link,
    socketPath: c.status.socket ?? join(c.stateDir, 'agent.sock'),
    cycleMs: Math.min(1000, ...polls),
    adapters: assets.adapters,
  };
}

/** The SQLite store; `LIGHTNODE_FAILPOINTS` (a test knob) selects its failpoints (unknown name: CONFIG_INVALID). */
function openStore(c: AgentConfig, signer: Signer, deps: WiringDeps): Store {
  const failpoints = parseFailpoints((deps.env ?? process.env).LIGHTNODE_FAILPOINTS);
  return SqliteStore.open({
    path: c.outbox.path ?? join(c.stateDir, 'outbox.db'),
    seqFile: join(c.stateDir, 'seq.hwm'),
    signer,
    domain: lightNodeDomain(c.chain.chainId, c.chain.keyRegister),
    podId: c.podId,
    clock: deps.clock,
    quotaBytes: c.outbox.quotaBytes,
    windowMs: c.batch.windowMs,
    logger: deps.logger,
    ...(failpoints.length ? { failpoints } : {}),
  });
}

function modbusSources(c: AgentConfig, deps: WiringDeps, lines: ModbusLine[]): MeterSource[] {
  const profiles = builtinProfiles();
  return c.lines.flatMap((l) => {
    const line = openLine(l, deps);
    lines.push(line);
    return l.meters.map((m) => {
      const profile = profiles.get(m.profile);
      const device = line.addDevice({
        name: m.id,
        unit: m.unit ?? profile.transport.unitId ?? 1,
        timeoutMs: m.timeoutMs ?? profile.transport.timeoutMs ?? 300,
        retries: m.retries,
        turnaroundMs: profile.transport.turnaroundMs ?? 0,
      });
      return new ModbusMeterSource({
        meter: new ModbusMeter({ id: m.id, profile, device, clock: deps.clock, raw: m.raw, slowEvery: m.slowEvery }),
        device,
        clock: deps.clock,
        pollMs: m.pollMs,
        source: 'tcp' in l.transport ? 'modbus-tcp' : 'modbus-rtu',
        ...(m.role ? { role: m.role } : {}),
      });
    });
  });
}

function openLine(l: AgentConfig['lines'][number], deps: WiringDeps): ModbusLine {
  const transport = new ModbusSerialTransport(
    'tcp' in l.transport ? { tcp: l.transport.tcp } : { rtu: l.transport.rtu },
  );
  return new ModbusLine(transport, {
    clock: deps.clock,
    logger: deps.logger,
    ...('rtu' in l.transport ? { baud: l.transport.rtu.baud } : {}),
    ...(l.interFrameGapMs !== undefined ? { interFrameGapMs: l.interFrameGapMs } : {}),
    ...(deps.random ? { random: deps.random } : {}),
  });
}

/**
 * The setpoint controller, when `setpoints` is configured: it drives the first ESS asset (its adapter from
 * `wireAssets`: `createEssAdapter`, or `deps.essAdapters`), writes `<stateDir>/audit.jsonl` and `setpoint-nonces.json`, queues its
 * acks and QoS reports in the store. Built after the store and the link; `onQueued` ships at once.
 */
export function wireSetpoints(
  c: AgentConfig,
  p: AgentParts,
  deps: WiringDeps,
  onQueued: () => void,
): { controller: SetpointController; audit: AuditLog; assetId: string } | null {
  const asset = c.assets.find((a) => a.kind === 'ess');
  if (!c.setpoints || !asset) return null;
  const adapter = p.adapters[c.assets.indexOf(asset)]!;
  const audit = AuditLog.open(join(c.stateDir, 'audit.jsonl'), { clock: deps.clock, logger: deps.logger });
  const controller = new SetpointController({
    clock: deps.clock,
    logger: deps.logger,
    link: p.link,
    queue: p.store,
    signer: p.signer,
    domain: lightNodeDomain(c.chain.chainId, c.chain.keyRegister),
    podId: c.podId,
    stateDir: c.stateDir,
    options: c.setpoints,
    limits: asset.limits,
    adapter,
    audit,
    pollMs: asset.pollMs,
    onQueued,
  });
  return { controller, audit, assetId: asset.id };
}

function chain2Sources(c: AgentConfig, deps: WiringDeps): MeterSource[] {
  const { clock, logger } = deps;
  return c.chain2.map((c2) => {
    const roles = chain2Roles(c2);
    if (c2.alfa)
      return new AlfaSource({
        id: `chain2:${c2.name}`,
        host: c2.alfa.host,
        port: c2.alfa.port,
        unit: c2.alfa.unit,
        clock,
        pollMs: c2.pollMs,
        logger,
        ...(roles[c2.meters[0]!] ? { role: roles[c2.meters[0]!]! } : {}),
      });
    const transport = c2.ws
      ? new WsChain2Transport({ url: c2.ws, clock, logger })
      : c2.http
        ? new HttpChain2Transport({ baseUrl: c2.http, clock, pollMs: c2.pollMs, logger })
        : new SerialChain2Transport({ path: c2.serial!.path, baud: c2.serial!.baud, logger });
    return new Chain2MeterSource({ name: c2.name, transport, podId: c.podId, roles, clock, logger });
  });
}

/** The MQTT link's options. */
export function linkOptions(c: AgentConfig, deviceId: string, deps: WiringDeps): MqttLinkOptions {
  const u = c.uplink;
  return {
    url: u.url,
    deviceId,
    clock: deps.clock,
    logger: deps.logger,
    keepaliveS: u.keepaliveS,
    protocolVersion: u.protocolVersion,
    reconnectBaseMs: u.reconnectBaseMs,
    reconnectMaxMs: u.reconnectMaxMs,
    ...(deps.random ? { random: deps.random } : {}),
    ...(u.clientId ? { clientId: u.clientId } : {}),
    ...(u.username !== undefined ? { username: u.username } : {}),
    ...(u.password !== undefined ? { password: u.password } : {}),
    ...(u.caFile ? { caFile: u.caFile } : {}),
    ...(u.certFile ? { certFile: u.certFile } : {}),
    ...(u.keyFile ? { keyFile: u.keyFile } : {}),
  };
}
