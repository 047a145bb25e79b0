/**
 * The timeline's actions: one entry per `do`, each injecting its fault and scheduling its end (`later`, in simulated
 * seconds). An action without an entry here is refused before anything starts (the run breaks, named).
 */
import { LightNodeError } from '@lightnode/protocols';
import { readStatus, type HilAgent } from './agents.js';
import type { LinkProxy } from './link-proxy.js';
import type { CloudPeer, DevicePeer } from './peers.js';
import type { ScenarioAction } from './scenario.js';

export interface ActionContext {
  agents: ReadonlyMap<string, HilAgent>;
  /** Each agent's uplink goes through its own link proxy (latency, jitter, loss as stalls, blackhole). */
  links: ReadonlyMap<string, LinkProxy>;
  devices: ReadonlyMap<string, DevicePeer>;
  cloud: CloudPeer;
  /** The run's seeded PRNG (every draw of a fault comes from it). */
  random: () => number;
  /** Records one event (one stderr line). */
  event(what: string, target: string | undefined, detail: string): void;
  /** Runs `fn` after `simS` simulated seconds; the runner waits for it before stopping. */
  later(simS: number, fn: () => Promise<void> | void): void;
}

type Of<D extends ScenarioAction['do']> = Extract<ScenarioAction, { do: D }>;
type Handler<D extends ScenarioAction['do']> = (a: Of<D>, c: ActionContext) => Promise<void> | void;

function agentOf(c: ActionContext, id: string): HilAgent {
  const a = c.agents.get(id);
  if (!a) throw new LightNodeError('USAGE', `no agent ${id} in this run`, { agent: id });
  return a;
}
function deviceOf(c: ActionContext, id: string): DevicePeer {
  const d = c.devices.get(id);
  if (!d) throw new LightNodeError('USAGE', `no device ${id} in this run`, { device: id });
  return d;
}
const unsupported = (d: DevicePeer, what: string) =>
  new LightNodeError('USAGE', `${what} on ${d.kind} device ${d.id} is not supported by this runner yet`, {
    device: d.id,
  });

const mib = (bytes: number) => (bytes / (1024 * 1024)).toFixed(2);

async function restart(a: HilAgent, c: ActionContext): Promise<void> {
  await a.start();
  c.event('restarted', a.id, `pid ${a.pid ?? '?'} status socket up`);
}

/** The handlers by `do` (the setpoint actions come with the ESS devices). */
export const ACTIONS: { [D in ScenarioAction['do']]?: Handler<D> } = {
  async kill9(a, c) {
    const agent = agentOf(c, a.agent);
    const pid = await agent.kill9();
    c.event('kill9', a.agent, `SIGKILL pid ${pid}, restart after ${a.restartAfterS} s`);
    if (a.restartAfterS === 0)
      void restart(agent, c).catch((e: Error) => c.event('restart-failed', a.agent, e.message.split('\n')[0]!));
    else c.later(a.restartAfterS, () => restart(agent, c));
  },
  async stop(a, c) {
    const code = await agentOf(c, a.agent).stop();
    c.event('stop', a.agent, `SIGTERM, exit ${code}`);
  },
  async start(a, c) {
    const agent = agentOf(c, a.agent);
    await agent.start();
    c.event('start', a.agent, `pid ${agent.pid ?? '?'} status socket up`);
  },
  async 'broker-down'(a, c) {
    await c.cloud.down();
    c.event('broker-down', undefined, `${c.cloud.what} stopped for ${a.forS} s`);
    c.later(a.forS, async () => {
      await c.cloud.up();
      c.event('broker-up', undefined, `${c.cloud.what} restarted`);
    });
  },
  async 'clock-step'(a, c) {
    const agent = agentOf(c, a.agent);
    const total = agent.clockStep(a.stepS);
    // the fault proves itself: the agent re-reads its step file every second; wait until its status shows the step
    const until = Date.now() + 5000;
    let seen: unknown;
    let behindMs = NaN; // how far the agent's clock is behind the system's (its status' atMs)
    while (Date.now() < until) {
      const st = await readStatus(agent.socket, 900);
      seen = (st?.details.clock as { stepMs?: unknown } | undefined)?.stepMs;
      behindMs = Date.now() - Number(st?.status.atMs);
      if (seen === total) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (seen !== total)
      throw new LightNodeError(
        'IO_ERROR',
        `clock-step ${a.agent}: the agent's status still shows stepMs ${String(seen)} 5 s after ${total} was written to its step file`,
        { agent: a.agent },
      );
    c.event(
      'clock-step',
      a.agent,
      `clock stepped ${a.stepS > 0 ? '+' : ''}${a.stepS} s (total ${total} ms, status shows stepMs ${total}, its clock ${Math.round(behindMs)} ms behind the system's)`,
    );
  },
  async 'disk-full'(a, c) {
    const disk = agentOf(c, a.agent).tmpfs;
    if (!disk)
      throw new LightNodeError(
        'USAGE',
        `disk-full ${a.agent}: the agent has no tmpfs under its stateDir (the runner mounts one for each agent a ` +
          'disk-full of the timeline names, before it starts)',
        { agent: a.agent },
      );
    const bytes = await disk.fill();
    c.event(
      'disk-full',
      a.agent,
      `its ${disk.sizeMiB} MiB stateDir tmpfs filled with ${mib(bytes)} MiB of ballast (ENOSPC) for ${a.forS} s`,
    );
    c.later(a.forS, async () => {
      const freed = await disk.free();
      c.event('disk-free', a.agent, `the ballast removed: ${mib(freed)} MiB free again`);
    });
  },
  'device-fault'(a, c) {
    const d = deviceOf(c, a.device);
    if (!d.addFault) throw unsupported(d, 'device-fault');
    const remove = d.addFault(a.fault);
    c.event('device-fault', a.device, `${a.fault} for ${a.forS} s`);
    c.later(a.forS, () => {
      remove();
      c.event('device-fault-end', a.device, `${a.fault} removed`);
    });
  },
  'gateway-reboot'(a, c) {
    const d = deviceOf(c, a.device);
    if (!d.reboot) throw unsupported(d, 'gateway-reboot');
    d.reboot();
    c.event('gateway-reboot', a.device, 'connections dropped, counters read 0 for a quarter');
  },
  link(a, c) {
    const proxy = c.links.get(a.agent);
    if (!proxy) throw new LightNodeError('USAGE', `no link proxy for agent ${a.agent}`, { agent: a.agent });
    const set = {
      latencyMs: a.latencyMs ?? 0,
      jitterMs: a.jitterMs ?? 0,
      lossPct: a.lossPct ?? 0,
      blackhole: a.blackhole ?? false,
    };
    proxy.set(set);
    c.event(
      'link',
      a.agent,
      `${set.blackhole ? 'blackhole' : `latency ${set.latencyMs} ± ${set.jitterMs} ms, loss ${set.lossPct} %`} for ${a.forS} s`,
    );
    c.later(a.forS, () => {
      proxy.set({ latencyMs: 0, jitterMs: 0, lossPct: 0, blackhole: false });
      c.event('link-end', a.agent, 'the link is perfect again');
    });
  },
  load(a, c) {
    const d = deviceOf(c, a.device);
    if (!d.setLoad) throw unsupported(d, 'load');
    d.setLoad(a.powerW);
    c.event('load', a.device, `site load ${a.powerW} W`);
  },
};

/** Why the runner cannot play this timeline (actions without a handler), or null. */
export function unsupportedActions(timeline: readonly ScenarioAction[]): string | null {
  const missing = [...new Set(timeline.map((e) => e.do).filter((d) => !(d in ACTIONS)))];
  if (!missing.length) return null;
  return `the timeline uses ${missing.join(', ')}, not supported by this runner yet (supported: ${Object.keys(ACTIONS).join(', ')})`;
}

/** Plays one action. */
export async function play(a: ScenarioAction, c: ActionContext): Promise<void> {
  const h: ((x: never, c: ActionContext) => Promise<void> | void) | undefined = ACTIONS[a.do];
  if (!h) throw new LightNodeError('USAGE', `${a.do} is not supported by this runner yet`, { do: a.do });
  await h(a as never, c); // the table is keyed by `do`: this handler takes exactly this action
}
