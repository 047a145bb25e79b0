/**
 * The devices of a HIL run that are real (`--real-ports MAP`, parsed by `real-ports.ts`): nothing is started for
 * them, their agent config points at the real port instead of a simulator. A Modbus RTU meter gets a line on the
 * serial path at its profile's factory settings (`transport.baud` / `parity`, as `lightnode sim meter` and the meter
 * itself default to; 9600 8N1 without them), the RTU meters of one agent mapped to the same path sharing one line
 * (one master per bus); a Modbus TCP meter `HOST:PORT`; a Chain 2 gateway its WebSocket or HTTP URL, or its serial
 * line; a battery (ess, SunSpec or a profile over Modbus TCP) `HOST:PORT`: the site's line there with the PoD meter at
 * `meterUnit` and the battery at `unit` (the simulator's defaults), its asset limits from the scenario's keys — which a
 * real battery must give (maxDischargeW, maxChargeW, capacityWh): the controller's safety limits cannot come from a
 * simulator. A REST or MQTT ess cannot be mapped to a Modbus TCP endpoint. All refused here, before anything starts.
 */
import { LightNodeError, builtinProfiles } from '@lightnode/protocols';
import type { DevicePeer } from './peers.js';
import { ESS_DEFAULT_METER_UNIT, essLimits, essModbusConfig, type EssSpec } from './peers-ess.js';
import {
  checkFaultsNeedSimulator,
  deviceLink,
  portText,
  type FaultCheckOptions,
  type RealPorts,
} from './real-ports.js';
import type { Scenario, ScenarioDevice } from './scenario.js';

/** The baud and parity of a real RS-485 line when the meter's profile names none (the agent config's defaults). */
const DEFAULT_LINE = { baud: 9600, parity: 'none' } as const;

const invalid = (id: string, expected: string, received: string) =>
  new LightNodeError('HIL_REAL_PORTS_INVALID', `real port of ${id}: expected ${expected}, received ${received}`, {
    key: id,
    expected,
    received,
  });

/** The ratings a real battery's scenario entry must give (its controller's safety limits). */
export const REAL_ESS_RATINGS = ['maxDischargeW', 'maxChargeW', 'capacityWh'] as const;

/**
 * A mapped ess the runner cannot drive: a REST or MQTT interface (a `HOST:PORT` here is a Modbus TCP endpoint; the
 * runner reaches only SunSpec or profile batteries over it), or ratings missing from its scenario entry. Refused,
 * `HIL_REAL_PORTS_INVALID` naming the device, why and what to do.
 */
export function checkRealEss(s: Scenario, ports: RealPorts): void {
  for (const d of s.devices) {
    const p = ports.get(d.id);
    if (!p || d.kind !== 'ess') continue;
    if (!d.sunspec && d.profile === undefined) {
      const iface = d.rest !== undefined ? 'REST' : 'MQTT';
      throw new LightNodeError(
        'HIL_REAL_PORTS_INVALID',
        `real port of ${d.id}: a real ess is reached over Modbus TCP (sunspec: true or profile: ID), but ${d.id} ` +
          `speaks ${iface}: the runner cannot point its ${iface} adapter at ${portText(p)} (it has no ${iface === 'REST' ? 'token' : 'topic'} ` +
          `for a real one); give ${d.id} sunspec: true or profile: ID, or drop it from --real-ports`,
        { key: d.id, expected: 'a SunSpec or profile (Modbus TCP) ess', received: `an ess speaking ${iface}` },
      );
    }
    const missing = REAL_ESS_RATINGS.filter((k) => d[k] === undefined);
    if (missing.length)
      throw new LightNodeError(
        'HIL_REAL_PORTS_INVALID',
        `real port of ${d.id}: a real battery needs its ratings in the scenario (the controller's safety limits ` +
          `cannot come from a simulator): missing ${missing.join(', ')} on device ${d.id} — give them from its datasheet`,
        { key: d.id, expected: REAL_ESS_RATINGS.join(', '), received: `without ${missing.join(', ')}`, missing },
      );
  }
}

/**
 * Checks a parsed map against the scenario before anything starts: every id a declared device of the transport its
 * port is for, a mapped ess one the runner can drive (`HIL_REAL_PORTS_INVALID`), no simulator fault on a mapped
 * device (`HIL_FAULT_NEEDS_SIMULATOR`). `parseRealPorts` already did the first for a map read from text; this is for
 * maps built in code (`RunOptions.realPorts`) and the rest for both.
 */
export function checkRealPorts(s: Scenario, ports: RealPorts, o: FaultCheckOptions = {}): void {
  for (const [id, p] of ports) {
    const d = s.devices.find((x) => x.id === id);
    if (!d) throw invalid(id, `a device id of scenario ${s.name}`, 'an unknown device id');
    const link = deviceLink(d);
    if (link.needs !== p.kind) throw invalid(id, `a ${link.needs} port (${link.speaks})`, portText(p));
  }
  checkRealEss(s, ports);
  checkFaultsNeedSimulator(s, ports, o);
}

/** The agent config of a real battery at `host:port` (checked by `checkRealEss`). */
function realEssConfig(d: EssSpec, host: string, port: number): DevicePeer['config'] {
  const r = { maxDischargeW: d.maxDischargeW!, maxChargeW: d.maxChargeW!, capacityWh: d.capacityWh! };
  return essModbusConfig(d, { host, port, meterUnit: d.meterUnit ?? ESS_DEFAULT_METER_UNIT }, essLimits(r));
}

type MeterSpec = Extract<ScenarioDevice, { kind: 'meter' }>;

/** The line name of the real RTU meters of `agent` on `path` (the agent config merges lines by name). */
const realLineName = (agent: string, path: string) =>
  `rs485-${agent}-${path.replace(/^\/dev\//, '').replace(/\//g, '-')}`;

function meterConfig(d: MeterSpec) {
  return { id: d.id, profile: d.profile, unit: d.unit, pollMs: d.pollMs };
}

/** One peer per mapped device: its agent config, nothing to stop (the bench did not start it). */
export function realDevicePeers(s: Scenario, ports: RealPorts): DevicePeer[] {
  const profiles = builtinProfiles();
  const peers: DevicePeer[] = [];
  for (const d of s.devices) {
    const p = ports.get(d.id);
    if (!p) continue;
    const peer = (config: DevicePeer['config']): DevicePeer => ({
      id: d.id,
      kind: d.kind,
      config,
      real: portText(p),
      stop: async () => {},
    });
    if (d.kind === 'meter' && p.kind === 'serial') {
      const t = profiles.get(d.profile).transport;
      const agent = s.agents.find((a) => a.devices.includes(d.id))?.id ?? d.id;
      const rtu = { path: p.path, baud: t.baud ?? DEFAULT_LINE.baud, parity: t.parity ?? DEFAULT_LINE.parity };
      peers.push(
        peer({ lines: [{ name: realLineName(agent, p.path), transport: { rtu }, meters: [meterConfig(d)] }] }),
      );
    } else if (d.kind === 'meter' && p.kind === 'tcp') {
      const transport = { tcp: { host: p.host, port: p.port } };
      peers.push(peer({ lines: [{ name: d.id, transport, meters: [meterConfig(d)] }] }));
    } else if (d.kind === 'chain2') {
      const url = portText(p);
      const source =
        p.kind === 'serial'
          ? { name: d.id, serial: { path: p.path } }
          : d.transport === 'http'
            ? { name: d.id, http: `http://${url}`, pollMs: 1000 }
            : { name: d.id, ws: `ws://${url}` };
      peers.push(peer({ podId: d.pod, chain2: [source] }));
    } else if (d.kind === 'ess' && p.kind === 'tcp') {
      checkRealEss(s, ports);
      // no battery events (nothing simulated); the setpoint baseline: the agent's PoD reading, else the scenario's loadW
      const loadW = d.loadW;
      peers.push({ ...peer(realEssConfig(d, p.host, p.port)), ...(loadW !== undefined ? { loadW: () => loadW } : {}) });
    } else throw invalid(d.id, `a port for its transport (${deviceLink(d).speaks})`, portText(p));
  }
  return peers;
}

/** The scenario without its mapped devices: what the simulators serve (an RTU line groups only simulated meters). */
export function simulatedPart(s: Scenario, ports: RealPorts): Scenario {
  return ports.size ? { ...s, devices: s.devices.filter((d) => !ports.has(d.id)) } : s;
}

/** Two real RTU meters of one agent on one path with the same unit, or at different settings: refused, named. */
export function checkRealLines(peers: readonly DevicePeer[]): void {
  const lines = new Map<string, { unit: number; id: string; settings: string }[]>();
  for (const p of peers)
    for (const l of p.config.lines ?? []) {
      const rtu = (l.transport as { rtu?: { baud: number; parity: string } }).rtu;
      if (!rtu) continue;
      const name = String(l.name);
      const meters = (l.meters as { id: string; unit: number }[]).map((m) => ({
        ...m,
        settings: `${rtu.baud} ${rtu.parity}`,
      }));
      const all = [...(lines.get(name) ?? []), ...meters];
      lines.set(name, all);
      const [a, b] = [all[0]!, all[all.length - 1]!];
      if (all.length > 1 && a.settings !== b.settings)
        throw invalid(b.id, `the line settings of ${a.id} on the same port (${a.settings})`, b.settings);
      const dup = all.find((m, i) => all.findIndex((x) => x.unit === m.unit) !== i);
      if (dup) throw invalid(dup.id, `a unit of its own on its RS-485 line`, `unit ${dup.unit}, already used there`);
    }
}
