/**
 * The peers a HIL run starts from its scenario: the cloud (Debian's Mosquitto, the `startCloud` stack of
 * peers-cloud.ts, or an external broker URL) and the simulated devices (meters over Modbus TCP or RTU on a pty pair,
 * Chain 2 gateways over WebSocket or HTTP, batteries in peers-ess.ts), each with the part of the agent config that
 * reaches it.
 */
import { LightNodeError, builtinProfiles, systemClock, type Clock } from '@lightnode/protocols';
import { startMosquitto } from '../peers/mosquitto.js';
import { serveChain2Http, serveChain2Ws, parseChain2Faults } from '../sim/chain2/index.js';
import { LoadModel } from '../sim/load-model.js';
import { MeterSimulator, parseFault, type Fault } from '../sim/modbus/simulator.js';
import { serveRtu, serveTcp } from '../sim/modbus/servers.js';
import { createPtyPair } from '../sim/serial/pty-pair.js';
import { startEss, type EssEventAt } from './peers-ess.js';
import { startEmbeddedCloud, type CloudReport } from './peers-cloud.js';
import type { Scenario, ScenarioDevice } from './scenario.js';

/** The broker of a run; `down` / `up` stop and restart it on the same port (broker-down). */
export interface CloudPeer {
  url: string;
  /** What it is, for the report (e.g. `mosquitto on 127.0.0.1:1883`). */
  what: string;
  down(): Promise<void>;
  up(): Promise<void>;
  stop(): Promise<void>;
  /** The chain the agents sign for (their config's `chain`; the embedded cloud's anvil), absent: the default. */
  chain?: { chainId: number; keyRegister: string };
  /** Makes the agent of `configPath` known to the cloud (its key, its PoD) before it starts; what it did. */
  enroll?(configPath: string): Promise<string>;
  /** What the cloud saw, at the end of the run (the embedded cloud's BAL and SCD). */
  report?(setpointIds: readonly string[]): Promise<CloudReport>;
}

/**
 * Starts the scenario's cloud: Mosquitto, an external broker, or (`embedded`) the whole `startCloud` stack
 * (peers-cloud.ts) on the run's clock. The stack's aedes broker keeps no sessions across a broker-down, Mosquitto
 * does (persistence on).
 */
export async function startCloudPeer(c: Scenario['cloud'], clock: Clock = systemClock): Promise<CloudPeer> {
  if (c.kind === 'external')
    return { url: c.url, what: `external broker ${c.url}`, down: noBrokerDown, up: noBrokerDown, stop: async () => {} };
  if (c.kind === 'mosquitto') {
    const m = await startMosquitto(c.port !== undefined ? { port: c.port } : {});
    return { url: m.url, what: `mosquitto on 127.0.0.1:${m.port}`, down: m.stop, up: m.start, stop: m.dispose };
  }
  return startEmbeddedCloud(c.port, clock);
}

async function noBrokerDown(): Promise<void> {
  throw new LightNodeError(
    'USAGE',
    'broker-down needs cloud.kind mosquitto or embedded (an external broker cannot be stopped)',
  );
}

/** The agent config a device contributes (merged into the config of the agent that lists it). */
export interface DeviceConfig {
  lines?: Record<string, unknown>[];
  chain2?: Record<string, unknown>[];
  /** Controllable assets (an ESS device's battery). */
  assets?: Record<string, unknown>[];
  /** The PoD id the device fixes (a Chain 2 gateway's). */
  podId?: string;
}

/** A running simulated device. */
export interface DevicePeer {
  id: string;
  kind: ScenarioDevice['kind'];
  config: DeviceConfig;
  /** Where the real device is (`--real-ports`; nothing simulated, see real-devices.ts); absent for a simulator. */
  real?: string;
  /** Adds a fault in the simulator's own syntax at run time; the returned function removes it. */
  addFault?(spec: string): () => void;
  /** Sets the site's load, W (import positive). */
  setLoad?(powerW: number): void;
  /** The site's house load now, W (an ESS device's: the setpoint's baseline). */
  loadW?(): number;
  /** An ESS device's battery events so far (command, revert, release, fault), with the wall time of each. */
  essEvents?: readonly EssEventAt[];
  /** Restarts the gateway (its connections drop, its counters read 0 for `zeroQuarters` quarters, default 1). */
  reboot?(zeroQuarters?: number): void;
  stop(): Promise<void>;
}

/** The simulators' time: the run's clock (a scaledClock) and its speed (the Chain 2 gateways take the speed). */
export interface SimTime {
  clock: Clock;
  speed: number;
}

/**
 * Starts one simulated device — or, for an RTU meter, the whole RS-485 line it is on: the RTU meters of the agent that
 * lists it share one pty pair and one `serveRtu` (several units on one bus, one master, as on a real line). Returns
 * every device it started. `seed` fixes the load models; `time` is the simulators' (the run's scaledClock at its
 * speed: the meters' load models and faults, the Chain 2 gateways' frames run in simulated time).
 */
export async function startDevice(
  d: ScenarioDevice,
  seed: number,
  s?: Pick<Scenario, 'agents' | 'devices' | 'durationS'>,
  time: SimTime = { clock: systemClock, speed: 1 },
): Promise<DevicePeer[]> {
  if (d.kind === 'meter' && d.rtu) return startRtuLine(rtuGroup(d, s), seed, s, time.clock);
  if (d.kind === 'meter') return [await startTcpMeter(d, seed, time.clock)];
  if (d.kind === 'chain2') return [await startChain2(d, seed, time, s)];
  return [await startEss(d, seed)];
}

/** The baud of a simulated RS-485 line (both ends; the simulator keeps the wire's timing at it). */
const RTU_BAUD = 19200;

type MeterSpec = Extract<ScenarioDevice, { kind: 'meter' }>;

/** The RTU meters on the same line as `d`: those of the first agent that lists it (just `d` when none does). */
function rtuGroup(d: MeterSpec, s?: Pick<Scenario, 'agents' | 'devices'>): MeterSpec[] {
  const agent = s?.agents.find((a) => a.devices.includes(d.id));
  if (!agent || !s) return [d];
  const group = agent.devices.flatMap((id) => {
    const x = s.devices.find((y) => y.id === id);
    return x?.kind === 'meter' && x.rtu ? [x] : [];
  });
  const units = group.map((m) => m.unit);
  const dup = units.find((u, i) => units.indexOf(u) !== i);
  if (dup !== undefined)
    throw new LightNodeError(
      'USAGE',
      `agent ${agent.id}: two RTU meters with unit ${dup} on its one RS-485 line (give each meter its own unit)`,
      { agent: agent.id, unit: dup },
    );
  return group;
}

/** The line name the RTU meters of one agent share (the agent config merges lines by name). */
const rtuLineName = (group: MeterSpec[], s?: Pick<Scenario, 'agents'>) =>
  `rs485-${s?.agents.find((a) => a.devices.includes(group[0]!.id))?.id ?? group[0]!.id}`;

function meterSim(d: MeterSpec, seed: number, clock: Clock) {
  const profile = builtinProfiles().get(d.profile);
  const loadOptions: { seed: number; phases: 1 | 3; constantLoadW?: number } = {
    seed: seed + d.unit - 1, // meters on one line differ
    phases: profile.phases ?? 3,
  };
  const load = new LoadModel(loadOptions); // keeps the options object: `load` changes its constant load
  const faults: Fault[] = d.faults.map(parseFault);
  const sim = new MeterSimulator({
    profile,
    unit: d.unit,
    clock,
    faults,
    values: (nowMs) => load.at(nowMs),
  });
  const meter = { id: d.id, profile: d.profile, unit: d.unit, pollMs: d.pollMs };
  const common = {
    id: d.id,
    kind: d.kind,
    addFault(spec: string) {
      const f = parseFault(spec);
      faults.push(f);
      return () => {
        const i = faults.indexOf(f);
        if (i >= 0) faults.splice(i, 1);
      };
    },
    setLoad(powerW: number) {
      loadOptions.constantLoadW = powerW;
    },
  };
  return { sim, meter, common };
}

async function startTcpMeter(d: MeterSpec, seed: number, clock: Clock): Promise<DevicePeer> {
  const { sim, meter, common } = meterSim(d, seed, clock);
  const server = await serveTcp([sim]);
  const transport = { tcp: { host: '127.0.0.1', port: server.port } };
  return { ...common, config: { lines: [{ name: d.id, transport, meters: [meter] }] }, stop: () => server.close() };
}

async function startRtuLine(
  group: MeterSpec[],
  seed: number,
  s: Pick<Scenario, 'agents'> | undefined,
  clock: Clock,
): Promise<DevicePeer[]> {
  const meters = group.map((d) => meterSim(d, seed, clock));
  const pty = await createPtyPair();
  try {
    // the wire's timing at the line's baud (characters, the 3.5-character silence, a turnaround), as on a real bus
    const server = await serveRtu(
      meters.map((m) => m.sim),
      { path: pty.a, baud: RTU_BAUD, wireTiming: true, turnaroundMs: 5 },
    );
    const transport = { rtu: { path: pty.b, baud: RTU_BAUD, parity: 'none' } };
    const name = rtuLineName(group, s);
    let stopped: Promise<void> | null = null;
    const stop = () =>
      (stopped ??= (async () => {
        await server.close();
        await pty.stop();
      })());
    return meters.map((m) => ({ ...m.common, config: { lines: [{ name, transport, meters: [m.meter] }] }, stop }));
  } catch (e) {
    await pty.stop();
    throw e;
  }
}

/**
 * The gateway's start: the run's now at its own speed 1; a faster gateway (`speed`, relative to the run's simulated
 * time) starts as far back as the run takes at its speed, on a quarter, so that its meter's time ends about now (never
 * in the future of the agent's clock).
 */
function chain2StartMs(gatewaySpeed: number, time: SimTime, s?: Pick<Scenario, 'durationS'>): number {
  if (gatewaySpeed === 1 || !s) return time.clock.now();
  const runMs = s.durationS * 1000 * gatewaySpeed;
  return Math.floor((time.clock.now() - runMs) / 900_000) * 900_000;
}

async function startChain2(
  d: Extract<ScenarioDevice, { kind: 'chain2' }>,
  seed: number,
  time: SimTime,
  s?: Pick<Scenario, 'durationS'>,
): Promise<DevicePeer> {
  // the gateway's own time: the run's simulated time (× its own speed), from its start on
  const gatewaySpeed = d.speed ?? 1;
  const o = {
    pod: d.pod,
    startMs: chain2StartMs(gatewaySpeed, time, s),
    speed: gatewaySpeed * time.speed,
    seed,
    ...parseChain2Faults(d.faults),
  };
  if (d.transport === 'ws') {
    const gw = await serveChain2Ws(o);
    return {
      id: d.id,
      kind: d.kind,
      config: { podId: d.pod, chain2: [{ name: d.id, ws: gw.url }] },
      reboot: (n) => gw.reboot(n),
      stop: () => gw.close(),
    };
  }
  if (d.transport === 'http') {
    const gw = await serveChain2Http(o);
    return {
      id: d.id,
      kind: d.kind,
      config: { podId: d.pod, chain2: [{ name: d.id, http: gw.address, pollMs: 1000 }] },
      reboot: (n) => gw.sim.reboot(n ?? 1),
      stop: () => gw.close(),
    };
  }
  throw new LightNodeError('USAGE', `device ${d.id}: chain2 transport serial is not wired into this runner yet`, {
    device: d.id,
  });
}
