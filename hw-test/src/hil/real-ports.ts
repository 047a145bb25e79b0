/**
 * Real hardware for a HIL scenario: `--real-ports MAP`, a JSON object from device id to where the real device is
 * (`{"m1": "/dev/ttyUSB0", "e1": "ess.lan:502"}`, inline or `@FILE`). A mapped device is not simulated: the agent
 * talks to the real one. Both checks here run before anything starts:
 * - `parseRealPorts`: the map itself against the scenario's devices → `HIL_REAL_PORTS_INVALID` naming the key;
 * - `checkFaultsNeedSimulator`: no simulator fault on a mapped device (its own `faults`, or a timeline
 *   `device-fault`, `gateway-reboot` or `load` on it) → `HIL_FAULT_NEEDS_SIMULATOR`. Faults the bench injects
 *   outside the device (link, kill9, stop/start, broker-down, clock-step, disk-full) and setpoints still apply.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { LightNodeError, describeValue } from '@lightnode/protocols';
import { HIL_ACTIONS, type Scenario, type ScenarioDevice } from './scenario.js';

/** Where a real device is: a serial line (RS-485 adapter, absolute path) or a TCP endpoint. */
export type RealPort = { kind: 'serial'; path: string } | { kind: 'tcp'; host: string; port: number };
/** Device id → its real port; the devices not in it are simulated. */
export type RealPorts = ReadonlyMap<string, RealPort>;

/** The port a Modbus TCP device listens on when the map names only its host (Modbus/TCP, IANA port 502). */
export const MODBUS_TCP_PORT = 502;
/** Timeline actions that act on a device's simulator (impossible on a real device). */
export const SIMULATOR_ACTIONS = ['device-fault', 'gateway-reboot', 'load'] as const;
/** Timeline actions that still apply when devices are real. */
export const REAL_HARDWARE_ACTIONS = HIL_ACTIONS.filter((a) => !(SIMULATOR_ACTIONS as readonly string[]).includes(a));

export interface RealPortsOptions {
  /** Whether a serial path exists (default `fs.existsSync`; tests inject a fake). */
  exists?: (path: string) => boolean;
  /** Names the map in messages (default `--real-ports`; `--real-ports @FILE` when read from a file). */
  source?: string;
}

/** What a device of the scenario needs to be reached over: its transport, in words, and a default TCP port. */
export interface DeviceLink {
  needs: RealPort['kind'];
  /** e.g. `Modbus RTU`, `SunSpec Modbus TCP`, `Chain 2 over WebSocket`. */
  speaks: string;
  defaultPort?: number;
}

/** The transport a scenario device speaks (the one its simulator would serve, so the one its agent config uses). */
export function deviceLink(d: ScenarioDevice): DeviceLink {
  const modbusTcp = (speaks: string): DeviceLink => ({ needs: 'tcp', speaks, defaultPort: MODBUS_TCP_PORT });
  switch (d.kind) {
    case 'meter':
      return d.rtu ? { needs: 'serial', speaks: 'Modbus RTU' } : modbusTcp('Modbus TCP');
    case 'chain2':
      return d.transport === 'serial'
        ? { needs: 'serial', speaks: 'Chain 2 over a serial line' }
        : { needs: 'tcp', speaks: `Chain 2 over ${d.transport === 'ws' ? 'WebSocket' : 'HTTP'}` };
    case 'ess':
      if (d.sunspec) return modbusTcp('SunSpec Modbus TCP');
      if (d.profile !== undefined) return modbusTcp(`Modbus TCP (profile ${d.profile})`);
      return { needs: 'tcp', speaks: d.rest !== undefined ? 'REST (HTTP)' : 'MQTT (the host:port of its broker)' };
  }
}

const EXAMPLE = '{"m1": "/dev/ttyUSB0", "e1": "ess.lan:502"}';

/**
 * The text of `--real-ports MAP`: the argument itself, or the file it names after `@` (relative to `cwd`).
 * An unreadable file → `HIL_REAL_PORTS_INVALID`.
 */
export function realPortsText(arg: string, cwd: string, read: (file: string) => string = readUtf8): string {
  if (!arg.startsWith('@')) return arg;
  const file = arg.slice(1);
  try {
    return read(resolve(cwd, file));
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new LightNodeError(
      'HIL_REAL_PORTS_INVALID',
      `--real-ports ${arg}: expected a readable JSON file like ${EXAMPLE}, received ${why}`,
      { source: arg, file, expected: 'a readable JSON file', received: why },
    );
  }
}

/** How the scenario says the other transport, where the device has one. */
function otherWay(d: ScenarioDevice): string {
  if (d.kind === 'meter')
    return d.rtu ? ' (for a Modbus TCP meter set tcp: true on it)' : ' (for an RS-485 meter set rtu: true on it)';
  if (d.kind === 'chain2')
    return d.transport === 'serial'
      ? ' (for a networked gateway set transport: ws or http)'
      : ' (for a serial gateway set transport: serial)';
  return '';
}

const a = (kind: string) => (/^[aeiou]/.test(kind) ? `an ${kind}` : `a ${kind}`);

function readUtf8(file: string): string {
  return readFileSync(file, 'utf8');
}

/**
 * Parses and checks a port map against the scenario: JSON, an object of strings, each key a declared device, each
 * value what that device's transport needs — an existing absolute serial path for RS-485 (Modbus RTU, Chain 2
 * serial), `HOST[:PORT]` for TCP (the port defaults to 502 for Modbus TCP only, and is required otherwise). The first
 * problem → `HIL_REAL_PORTS_INVALID` naming the key, what was expected and what was received.
 */
export function parseRealPorts(text: string, scenario: Scenario, o: RealPortsOptions = {}): Map<string, RealPort> {
  const source = o.source ?? '--real-ports';
  const exists = o.exists ?? existsSync;
  const invalid = (key: string | undefined, expected: string, received: string) =>
    new LightNodeError(
      'HIL_REAL_PORTS_INVALID',
      `${source}${key === undefined ? '' : ` ${JSON.stringify(key)}`}: expected ${expected}, received ${received}`,
      { source, ...(key === undefined ? {} : { key }), expected, received },
    );
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw invalid(undefined, `a JSON object like ${EXAMPLE}`, `text that is not JSON (${(e as Error).message})`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw invalid(undefined, `a JSON object like ${EXAMPLE}`, describeValue(raw));
  const devices = new Map(scenario.devices.map((d) => [d.id, d]));
  const declared = [...devices.keys()].join(', ') || 'none declared';
  const ports = new Map<string, RealPort>();
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    const d = devices.get(key);
    if (!d) throw invalid(key, `a device id of scenario ${scenario.name} (${declared})`, 'an unknown device id');
    const link = deviceLink(d);
    const want =
      link.needs === 'serial'
        ? `a serial device path like /dev/ttyUSB0 (${key} is ${a(d.kind)} speaking ${link.speaks})`
        : `HOST${link.defaultPort === undefined ? ':PORT' : '[:PORT]'} (${key} is ${a(d.kind)} speaking ${link.speaks})`;
    if (typeof value !== 'string' || value.trim() === '') throw invalid(key, want, describeValue(value));
    const serial = value.startsWith('/');
    if (link.needs === 'serial') {
      if (!serial) throw invalid(key, want, `${JSON.stringify(value)} (not an absolute path)${otherWay(d)}`);
      if (!exists(value))
        throw invalid(
          key,
          `an existing serial device (${key} speaks ${link.speaks})`,
          `${value}, which does not exist (is the adapter plugged in? see ls /dev/serial/by-id)`,
        );
      ports.set(key, { kind: 'serial', path: value });
    } else {
      if (serial) throw invalid(key, want, `the serial path ${value}${otherWay(d)}`);
      const hp = hostPort(value, link.defaultPort);
      if (!hp) throw invalid(key, `${want}, port 1..65535`, describeValue(value));
      ports.set(key, { kind: 'tcp', ...hp });
    }
  }
  return ports;
}

/** `host`, `host:port`, `[v6]` or `[v6]:port`; undefined when malformed (or the port is missing without a default). */
function hostPort(s: string, defaultPort: number | undefined): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+(?:%[\w.-]+)?)\]|([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?))(?::(\d{1,5}))?$/.exec(
    s,
  );
  if (!m) return undefined;
  const port = m[3] !== undefined ? Number(m[3]) : defaultPort;
  if (port === undefined || port < 1 || port > 65535) return undefined;
  return { host: (m[1] ?? m[2])!, port };
}

/** One simulator fault on a mapped device, as `HIL_FAULT_NEEDS_SIMULATOR` carries it. */
export interface SimulatorNeed {
  device: string;
  /** `faults` (the device's own) or the timeline action (`device-fault`, `gateway-reboot`, `load`). */
  action: string;
  /** The action's time (simulated s); absent for the device's own faults. */
  atS?: number;
  /** JSON path in the scenario, e.g. `$.timeline[3]` or `$.devices[0].faults`. */
  path: string;
  /** Where the device really is, e.g. `/dev/ttyUSB0` or `ess.lan:502`. */
  port: string;
}

export interface FaultCheckOptions {
  /** The scenario is its `short` variant (said in the message). */
  variant?: 'short';
}

/**
 * Refuses a scenario that asks a mapped (real) device for what only its simulator can do: its own `faults`, or a
 * timeline `device-fault`, `gateway-reboot` or `load` aimed at it. All such problems are in the error's context
 * (`problems`), the first one (in file order: devices, then the timeline) in its message.
 */
export function checkFaultsNeedSimulator(scenario: Scenario, realPorts: RealPorts, o: FaultCheckOptions = {}): void {
  const problems: SimulatorNeed[] = [];
  scenario.devices.forEach((d, i) => {
    const p = realPorts.get(d.id);
    if (p && d.faults.length > 0)
      problems.push({ device: d.id, action: 'faults', path: `$.devices[${i}].faults`, port: portText(p) });
  });
  scenario.timeline.forEach((e, i) => {
    if (!('device' in e) || !(SIMULATOR_ACTIONS as readonly string[]).includes(e.do)) return;
    const p = realPorts.get(e.device);
    if (p) problems.push({ device: e.device, action: e.do, atS: e.atS, path: `$.timeline[${i}]`, port: portText(p) });
  });
  const first = problems[0];
  if (!first) return;
  const what =
    first.atS === undefined
      ? `its own faults (${first.path}: ${scenario.devices.find((d) => d.id === first.device)!.faults.join(', ')})`
      : `${first.action} at atS ${first.atS} (${first.path})`;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  throw new LightNodeError(
    'HIL_FAULT_NEEDS_SIMULATOR',
    `${scenario.name}${o.variant ? ' (with the short overrides)' : ''}: device ${first.device} is real (${first.port}) ` +
      `but ${what} needs its simulator${more}; on real devices ${REAL_HARDWARE_ACTIONS.filter((a) => !a.startsWith('setpoint')).join(', ')} ` +
      `and setpoints still apply — drop ${first.device} from --real-ports or remove the fault`,
    { scenario: scenario.name, ...first, problems, ...(o.variant ? { variant: o.variant } : {}) },
  );
}

/** Where a real device is, as messages and the report say it: the serial path or `host:port` (`[v6]:port`). */
export function portText(p: RealPort): string {
  return p.kind === 'serial' ? p.path : `${p.host.includes(':') ? `[${p.host}]` : p.host}:${p.port}`;
}
