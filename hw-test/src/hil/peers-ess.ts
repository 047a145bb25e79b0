/**
 * The ESS devices of a HIL run: the battery simulator in process (`startEssSim`, what `lightnode sim ess` runs) with
 * the scenario's keys (the `sim ess` options camelCase; faults in its own syntax), and the agent config parts that
 * reach it — the site's Modbus TCP line with the PoD meter (role `pod`) and an `assets` entry of kind `ess` with its
 * adapter and limits, as in setpoint-e2e's config. Every battery event is kept with the wall time it happened.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LightNodeError, parseHostPort, systemClock } from '@lightnode/protocols';
import { newEmsToken, parseEssFaults, startEssSim, type EssInterface, type EssSimOptions } from '../sim/ess/index.js';
import type { RunningEssSim } from '../sim/ess/index.js';
import type { EssEvent } from '../sim/ess/battery.js';
import type { DeviceConfig, DevicePeer } from './peers.js';
import type { ScenarioDevice } from './scenario.js';

export type EssSpec = Extract<ScenarioDevice, { kind: 'ess' }>;

/** One battery event with the wall time (ms) the runner saw it. */
export interface EssEventAt extends EssEvent {
  wallMs: number;
}

/** How often the agent polls the PoD meter and the battery, ms (quick scenarios: a cycle every half second). */
export const ESS_POD_POLL_MS = 500;
export const ESS_ASSET_POLL_MS = 1000;

/** The SoC band and ramp the agent's controller keeps any battery of a run within (SoC 10–95 %, ramp W/s). */
const SOC_BAND = { socMinPermille: 100, socMaxPermille: 950, rampWps: 100_000 } as const;

/** The battery's ratings the controller's limits need, W and Wh. */
export interface EssRatings {
  maxDischargeW: number;
  maxChargeW: number;
  capacityWh: number;
}

/** The limits the agent's controller keeps the battery within: its ratings (a simulator's, or a real one's keys). */
export function essLimits(r: EssRatings): Record<string, number> {
  return {
    maxDischargeW: r.maxDischargeW,
    maxChargeW: r.maxChargeW,
    socMinPermille: SOC_BAND.socMinPermille,
    socMaxPermille: SOC_BAND.socMaxPermille,
    capacityWh: r.capacityWh,
    rampWps: SOC_BAND.rampWps,
  };
}

/** The battery's Modbus unit and the PoD meter's when the scenario names none (as `lightnode sim ess` defaults). */
export const ESS_DEFAULT_UNIT = 1;
export const ESS_DEFAULT_METER_UNIT = 2;
export const ESS_DEFAULT_METER_PROFILE = 'eastron/sdm630';

/**
 * The site's Modbus TCP line at `host:port` — the PoD meter (role `pod`) at `meterUnit`, the battery at `unit`, as a
 * SunSpec or profile adapter — and its `assets` entry: what a SunSpec / profile ess contributes, simulated or real.
 */
export function essModbusConfig(
  d: EssSpec,
  at: { host: string; port: number; meterUnit: number },
  limits: Record<string, number>,
): Required<Pick<DeviceConfig, 'lines' | 'assets'>> {
  const line = {
    name: d.id,
    transport: { tcp: { host: at.host, port: at.port } },
    meters: [
      {
        id: `${d.id}-pod`,
        profile: d.meterProfile ?? ESS_DEFAULT_METER_PROFILE,
        unit: at.meterUnit,
        role: 'pod',
        pollMs: ESS_POD_POLL_MS,
      },
    ],
  };
  const unit = d.unit ?? ESS_DEFAULT_UNIT;
  const adapter =
    d.profile !== undefined ? { modbus: { line: d.id, unit, profile: d.profile } } : { sunspec: { line: d.id, unit } };
  return { lines: [line], assets: [{ id: d.id, kind: 'ess', pollMs: ESS_ASSET_POLL_MS, adapter, limits }] };
}

/** The `lightnode sim ess` interface of a device spec. */
export function essInterface(d: EssSpec, token?: string): EssInterface {
  if (d.sunspec) return { kind: 'sunspec', ...(d.models ? { models: d.models } : {}) };
  if (d.profile !== undefined) return { kind: 'profile', profile: d.profile };
  if (d.rest !== undefined) return { kind: 'rest', ...parseHostPort(d.rest, 'rest'), ...(token ? { token } : {}) };
  if (d.mqtt !== undefined && d.topic !== undefined) return { kind: 'mqtt', url: d.mqtt, topic: d.topic };
  throw new LightNodeError('USAGE', `device ${d.id}: expected one interface (sunspec, profile, rest or mqtt)`, {
    device: d.id,
  });
}

/** The simulator's options from the scenario's keys (`seed` defaults to the run's). */
export function essSimOptions(d: EssSpec, seed: number, token?: string): EssSimOptions {
  const opt = <T>(k: string, v: T | undefined): Record<string, T> => (v === undefined ? {} : { [k]: v });
  const iface = essInterface(d, token);
  // REST / MQTT: the PoD meter on a Modbus TCP server of its own (the agent's site line needs it)
  const tcp: { host?: string; port?: number } | undefined =
    d.tcp !== undefined ? parseHostPort(d.tcp, 'tcp') : iface.kind === 'rest' || iface.kind === 'mqtt' ? {} : undefined;
  return {
    interface: iface,
    clock: systemClock,
    ...(tcp ? { tcp: { host: tcp.host ?? '127.0.0.1', port: tcp.port ?? 0 } } : {}),
    ...opt('unit', d.unit),
    ...opt('meterUnit', d.meterUnit),
    ...opt('meterProfile', d.meterProfile),
    battery: {
      ...opt('ratedVA', d.ratedVa),
      ...opt('maxDischargeW', d.maxDischargeW),
      ...opt('maxChargeW', d.maxChargeW),
      ...opt('capacityWh', d.capacityWh),
      ...opt('socPermille', d.soc),
      ...opt('roundTripEfficiency', d.efficiency),
      ...opt('autonomous', d.autonomous),
    },
    ...opt('loadW', d.loadW),
    ...opt('pvPeakW', d.pvPeak),
    seed: d.seed ?? seed,
    faults: d.faults,
  };
}

/** The agent config the device contributes: its site line (PoD meter, and the battery's unit) and its asset. */
export function essDeviceConfig(d: EssSpec, sim: RunningEssSim, tokenFile?: string): DeviceConfig {
  const meter = sim.meter;
  if (!meter)
    throw new LightNodeError('USAGE', `device ${d.id}: the ESS simulator serves no PoD meter (give tcp: HOST:PORT)`, {
      device: d.id,
    });
  const { host, port } = parseHostPort(meter.address.replace(/^tcp:\/\//, ''), 'tcp');
  const iface = essInterface(d);
  const limits = essLimits(sim.sim.battery);
  if (iface.kind === 'sunspec' || iface.kind === 'profile')
    return essModbusConfig(d, { host, port, meterUnit: meter.unit }, limits);
  // REST / MQTT: the PoD meter on the simulator's Modbus TCP server of its own, the battery over its EMS interface
  const { lines } = essModbusConfig(d, { host, port, meterUnit: meter.unit }, limits);
  const adapter =
    iface.kind === 'rest'
      ? { rest: { url: sim.listening, tokenFile: tokenFile! } }
      : { mqtt: { url: sim.listening, topic: sim.topic ?? iface.topic } };
  return { lines, assets: [{ id: d.id, kind: 'ess', pollMs: ESS_ASSET_POLL_MS, adapter, limits }] };
}

/**
 * Starts one ESS device. `addFault` takes the battery's own faults (`refuse[@P]`, `silent-revert:S`, `fake-mode`:
 * from the next command on); transport faults (Modbus, drop-connection) are fixed at start, so one at run time is
 * refused (USAGE, named). `setLoad` sets the site's constant house load.
 */
export async function startEss(d: EssSpec, seed: number): Promise<DevicePeer> {
  const dir = mkdtempSync(join(tmpdir(), 'ln-hil-ess-'));
  try {
    let token: string | undefined;
    let tokenFile: string | undefined;
    if (d.rest !== undefined) {
      tokenFile = d.tokenFile ?? join(dir, 'ems.token');
      token = d.tokenFile ? readFileSync(d.tokenFile, 'utf8').trim() : newEmsToken();
      if (!d.tokenFile) writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    }
    const events: EssEventAt[] = [];
    const sim = await startEssSim({
      ...essSimOptions(d, seed, token),
      onEvent: (e) => events.push({ ...e, wallMs: Date.now() }),
    });
    const battery = sim.sim.battery;
    return {
      id: d.id,
      kind: d.kind,
      config: essDeviceConfig(d, sim, tokenFile),
      essEvents: events,
      loadW: () =>
        sim.sim.constantLoadW ?? Math.round(sim.sim.state().essPowerW + (sim.sim.podValues().activePowerW ?? 0)),
      addFault(spec: string) {
        const { ess, modbus } = parseEssFaults([spec]);
        const f = ess[0];
        if (modbus.length || !f || f.kind === 'drop-connection')
          throw new LightNodeError(
            'USAGE',
            `device-fault ${d.id} ${spec}: only the battery's faults (refuse, silent-revert:S, fake-mode) can be added at run time; give transport faults in the device's faults`,
            { device: d.id, fault: spec },
          );
        return battery.addFault(f);
      },
      setLoad: (w) => sim.sim.setLoad(Math.max(0, w)),
      stop: async () => {
        await sim.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
