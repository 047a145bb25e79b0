/**
 * `startEssSim`: the ESS simulator as a library (in-process for tests and benchmarks; `lightnode sim ess` is a
 * thin CLI over it). One battery site (site.ts) behind one interface: SunSpec or a generic `kind: "ess"` profile
 * over Modbus TCP (the PoD meter as a second unit on the same server), or a REST / MQTT EMS (the PoD meter then on
 * its own Modbus TCP server when `tcp` is given).
 */
import { builtinProfiles, systemClock, type Clock, type ProfileRegistry } from '@lightnode/protocols';
import { serveTcp, type RunningServer, type ServerStats, type SimDevice } from '../modbus/servers.js';
import type { EssEvent } from './battery.js';
import { parseEssFaults } from './faults.js';
import { serveMqttEms } from './mqtt.js';
import { serveRestEms } from './rest.js';
import { EssSimulator, type EssSiteOptions } from './site.js';
import { modbusBattery } from './modbus-device.js';

export type EssInterface =
  | { kind: 'sunspec'; models?: readonly number[] }
  | { kind: 'profile'; profile: string }
  | { kind: 'rest'; host?: string; port?: number; token?: string }
  | { kind: 'mqtt'; url: string; topic: string; stateEveryMs?: number };

export interface EssSimOptions extends Omit<EssSiteOptions, 'clock' | 'faults' | 'profiles'> {
  interface: EssInterface;
  clock?: Clock;
  /** Fault specs (`refuse`, `silent-revert:S`, `fake-mode`, `drop-connection`, Modbus transport faults). */
  faults?: readonly string[];
  /** Modbus TCP server (default 127.0.0.1:0 for sunspec / profile; REST / MQTT: only when given, for the meter). */
  tcp?: { host?: string; port?: number };
  /** The battery's Modbus unit (default 1). */
  unit?: number;
  profiles?: ProfileRegistry;
  onEvent?: (e: EssEvent) => void;
}

export interface RunningEssSim {
  sim: EssSimulator;
  /** Where the battery's interface listens: `tcp://…` (Modbus), `http://…` (REST) or the broker URL (MQTT). */
  listening: string;
  /** The REST server's or the Modbus server's port. */
  port?: number;
  /** REST: the bearer token. */
  token?: string;
  /** The PoD meter's Modbus TCP address, when served. */
  meter?: { address: string; port: number; unit: number };
  /** MQTT: the topic prefix. */
  topic?: string;
  /** SunSpec / profile: the Modbus server's counters (frames, bytes per unit). */
  modbusStats?: ServerStats;
  stop(): Promise<void>;
}

export async function startEssSim(o: EssSimOptions): Promise<RunningEssSim> {
  const clock = o.clock ?? systemClock;
  const profiles = o.profiles ?? builtinProfiles();
  const { ess, modbus } = parseEssFaults(o.faults ?? []);
  const sim = new EssSimulator({ ...o, clock, faults: ess, profiles });
  if (o.onEvent) sim.onEvent(o.onEvent);
  const closers: (() => Promise<void>)[] = [];
  const stop = async (): Promise<void> => {
    sim.stop();
    for (const c of closers.reverse()) await c();
  };
  try {
    const devices: SimDevice[] = [sim.meter];
    const i = o.interface;
    if (i.kind === 'sunspec' || i.kind === 'profile')
      devices.unshift(
        modbusBattery(sim, {
          clock,
          unit: o.unit ?? 1,
          profiles,
          // drop-connection is the transport's: the server closes the connection instead of answering
          faults: [...modbus, ...ess.filter((f) => f.kind === 'drop-connection')],
          ...(i.kind === 'sunspec' ? { sunspec: i.models ?? [1, 124, 701, 702, 704, 713] } : { profile: i.profile }),
        }),
      );
    let server: RunningServer | undefined;
    if (i.kind === 'sunspec' || i.kind === 'profile' || o.tcp) {
      server = await serveTcp(devices, { host: o.tcp?.host ?? '127.0.0.1', port: o.tcp?.port ?? 0 });
      closers.push(() => server!.close());
    }
    const meter = server ? { meter: { address: server.address, port: server.port!, unit: sim.meter.unit } } : {};
    if (i.kind === 'rest') {
      const r = await serveRestEms(sim, { clock, ...i });
      closers.push(() => r.close());
      return { sim, listening: r.url, port: r.port, token: r.token, ...meter, stop };
    }
    if (i.kind === 'mqtt') {
      const m = await serveMqttEms(sim, { clock, ...i });
      closers.push(() => m.close());
      return { sim, listening: m.url, topic: m.topic, ...meter, stop };
    }
    return { sim, listening: server!.address, port: server!.port!, modbusStats: server!.stats, ...meter, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
