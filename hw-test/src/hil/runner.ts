/**
 * The HIL runner: starts a scenario's peers (broker, simulated devices, agents, the independent subscriber), plays its
 * timeline on the real clock (simulated seconds ÷ speed), samples `lightnode status` every second, stops the agents
 * gracefully and evaluates the invariants. A peer that does not start, or an action that fails, breaks the run (named
 * by its stage); the result then carries `broke` and `passed: false`. An agent a `disk-full` names gets its stateDir on
 * a tmpfs of its own (`tmpfsMiB`, default `DEFAULT_TMPFS_MIB`), mounted before it starts (a mount that fails breaks the
 * run at stage `tmpfs AGENT`). Each alarm an agent's status raises or clears is an event (`alarm`, `alarm-cleared`):
 * the report shows that a fault took effect. Agents by mode: `process` (agents.ts) or `inprocess` (agent-inprocess.ts),
 * both `HilAgent`s; `systemd` breaks the run (not wired yet). The simulators and in-process agents keep the run's
 * simulated time on one `scaledClock`; process agents get the speed through LIGHTNODE_CLOCK.
 */
import { rmSync } from 'node:fs';
import { isLightNodeError, scaledClock } from '@lightnode/protocols';
import { prng } from '@lightnode/protocols/testing';
import { bufferNextSeq, cli } from './harness.js';
import { play, unsupportedActions, type ActionContext } from './actions.js';
import { InProcessAgent } from './agent-inprocess.js';
import { DEFAULT_TMPFS_MIB, ProcessAgent, agentConfig, readStatus } from './agents.js';
import type { HilAgent } from './hil-agent.js';
import { SystemdAgent, ensureAgentRoot, systemdUnsupported } from './agent-systemd.js';
import { cacheDir } from '../deploy/artifacts.js';
import { probeNspawn } from '../deploy/nspawn.js';
import { arrivalSummary, evaluate, missingSeqs, type OutboxSample } from './invariants.js';
import { agentOutcomes, powerSeries } from './outcomes.js';
import { startCloudPeer, startDevice, type CloudPeer, type DevicePeer } from './peers.js';
import { cloudEvents } from './peers-cloud.js';
import type { HilEvent, HilRunResult, HilSeries } from './result.js';
import type { Scenario, ScenarioAction } from './scenario.js';
import { RunSubscriber } from './subscriber.js';
import { checkRealLines, checkRealPorts, realDevicePeers, simulatedPart } from './real-devices.js';
import type { RealPorts } from './real-ports.js';
import { chain2HealthLine, quarterLine, type Chain2Health } from './chain2-report.js';
import { startLinkProxy, type LinkProxy } from './link-proxy.js';
import { SetpointRun } from './setpoints.js';

export interface RunOptions {
  /** Simulated seconds per wall second (default the scenario's). */
  speed?: number;
  /** Overrides the scenario's seed. */
  seed?: number;
  /** Sees each event as it happens (the CLI prints one stderr line each). */
  onEvent?: (e: HilEvent) => void;
  /**
   * Devices that are real (`--real-ports`): not simulated, their agents pointed at these ports. Checked before
   * anything starts (`HIL_REAL_PORTS_INVALID`, `HIL_FAULT_NEEDS_SIMULATOR`: the promise rejects, nothing started).
   */
  realPorts?: RealPorts;
}

/** One meter in `lightnode status` (`status.meters[]`). */
interface MeterHealth {
  id: string;
  quality: string;
  /** Failed requests to it since the agent started. */
  errors: number;
}

class Broke extends Error {
  constructor(
    readonly stage: string,
    message: string,
  ) {
    super(message);
  }
}

const message = (e: unknown) => (isLightNodeError(e) || e instanceof Error ? e.message : String(e));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

export { isDeadFault } from './outcomes.js';

/** When the last fault of the timeline is planned to end, simulated seconds (null: no fault). */
export function lastFaultEnd(timeline: readonly ScenarioAction[]): number | null {
  let end: number | null = null;
  for (const e of timeline) {
    const t = e.atS + ('forS' in e ? e.forS : 'restartAfterS' in e ? e.restartAfterS : 0);
    end = Math.max(end ?? 0, t);
  }
  return end;
}

/** The report's notes on how the run's agents keep time and what their RSS is. */
export function agentNotes(s: Pick<Scenario, 'agents'>, speed: number): string[] {
  const notes: string[] = [];
  const inproc = s.agents.filter((a) => a.mode === 'inprocess').map((a) => a.id);
  if (speed !== 1)
    notes.push(
      `speed ${speed}: the simulators${inproc.length ? ` and the in-process agents (${inproc.join(', ')})` : ''} on ` +
        `the run's scaledClock, process agents through LIGHTNODE_CLOCK`,
    );
  if (inproc.length)
    notes.push(
      `in-process agents (${inproc.join(', ')}): rssMaxMB is the runner's own RSS (the agent lives in it); kill9 is ` +
        'an abrupt stop in process, not a SIGKILL: the store is cut (its uncommitted writes rolled back, no more ' +
        'writes), then the agent is torn down without a seal or a drain, its MQTT session ends with a DISCONNECT ' +
        '(no last will)',
    );
  return notes;
}

export async function runScenario(s: Scenario, o: RunOptions = {}): Promise<HilRunResult> {
  const speed = o.speed ?? s.speed;
  const seed = o.seed ?? s.seed;
  const random = prng(seed);
  const realPorts = o.realPorts ?? new Map();
  checkRealPorts(s, realPorts);
  const realPeers = realDevicePeers(s, realPorts);
  checkRealLines(realPeers);
  const simulated = simulatedPart(s, realPorts);
  const startedAtMs = Date.now();
  const events: HilEvent[] = [];
  const series: HilSeries = { power: [], setpoint: [], outbox: [], link: [] };
  const outbox: OutboxSample[] = [];
  const notes = ['MQTT keepalive and TCP run in real time'];
  if (realPeers.length)
    notes.push(`real devices (not simulated): ${realPeers.map((p) => `${p.id} at ${p.real}`).join(', ')}`);
  // simulated time: in-process agents and the simulators on this clock, process agents through LIGHTNODE_CLOCK
  const clock = scaledClock({ startMs: Date.now(), speed });
  notes.push(...agentNotes(s, speed));
  const simS = () => ((Date.now() - t0) / 1000) * speed;
  let t0 = Date.now();
  const event = (what: string, target: string | undefined, detail: string) => {
    const e: HilEvent = { atS: Math.round(simS() * 10) / 10, do: what, detail, ...(target ? { target } : {}) };
    events.push(e);
    o.onEvent?.(e);
  };
  let cloud: CloudPeer | null = null;
  const devices = new Map<string, DevicePeer>();
  const agents = new Map<string, HilAgent>();
  const links = new Map<string, LinkProxy>();
  const deviceIds = new Map<string, string>(); // agent id → device id (its key's address)
  const sub = new RunSubscriber('');
  let subscriber: RunSubscriber | null = null;
  let setpoints: SetpointRun | undefined; // the run's operator, when a device is a battery
  let rssMax: number | null = null;
  let sampler: NodeJS.Timeout | undefined;
  const pending: Promise<void>[] = [];
  let broke: { stage: string; message: string } | undefined;
  let faultEndS: number | null = null; // when the last fault really ended (a kill waits for the agent to be up)
  const faultEnded = () => (faultEndS = Math.max(faultEndS ?? 0, simS()));
  const committed = new Map<string, number | null>();
  const meterHealth = new Map<string, MeterHealth[]>(); // agent id → its meters in its last status
  const chain2Health = new Map<string, Record<string, Chain2Health>>(); // agent id → its Chain 2 sources, last status
  const verified = new Map<string, string | null>(); // agent id → null (buffer verify passed) or what it said
  const stage = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      throw e instanceof Broke ? e : new Broke(name, message(e));
    }
  };

  try {
    const why = unsupportedActions(s.timeline);
    if (why) throw new Broke('timeline', why);
    const systemd = s.agents.find((a) => a.mode === 'systemd');
    if (systemd) {
      const no = systemdUnsupported(s);
      if (no) throw new Broke('agents', no);
      const p = await stage('agents', () => probeNspawn(cacheDir));
      if (!p.ok) throw new Broke('agents', `agent ${systemd.id}: mode systemd needs systemd-nspawn: ${p.reason}`);
      await stage('agents', () => ensureAgentRoot()); // the package and its root, before any peer starts
    }
    cloud = await stage('cloud', () => startCloudPeer(s.cloud, clock));
    const c = cloud;
    for (const d of simulated.devices)
      if (!devices.has(d.id))
        for (const p of await stage(`device ${d.id}`, () => startDevice(d, seed, simulated, { clock, speed })))
          devices.set(p.id, p);
    for (const p of realPeers) devices.set(p.id, p);
    subscriber = new RunSubscriber(c.url, c.chain);
    await stage('subscriber', () => subscriber!.start());
    if (s.devices.some((d) => d.kind === 'ess'))
      setpoints = new SetpointRun({
        speed,
        runS: (w) => ((w - t0) / 1000) * speed,
        sub: subscriber,
        brokerUrl: c.url,
        ...(c.chain ? { chain: c.chain } : {}),
      });
    const operator = { ...(setpoints ? { operator: setpoints.operator } : {}), ...(c.chain ? { chain: c.chain } : {}) };
    const enrolled: [string, string][] = []; // agent id → what the cloud made of it (before it started)
    for (const a of s.agents) {
      const cfgs = a.devices.map((id) => devices.get(id)!.config);
      // the agent's uplink through its own link proxy (the `link` action), seeded from the run's seed
      const broker = new URL(c.url);
      const proxy = await stage(`link proxy ${a.id}`, () =>
        startLinkProxy({ host: broker.hostname, port: Number(broker.port), seed: seed + links.size + 1 }),
      );
      links.set(a.id, proxy);
      const url = `${broker.protocol}//127.0.0.1:${proxy.port}`;
      const filled = s.timeline.some((e) => e.do === 'disk-full' && e.agent === a.id);
      const tmpfsMiB = filled ? (a.tmpfsMiB ?? DEFAULT_TMPFS_MIB) : null;
      const config = (dir: string, stateDir: string) => agentConfig(a, cfgs, url, dir, stateDir, operator);
      let agent: HilAgent;
      if (a.mode === 'inprocess') agent = new InProcessAgent(a, (dir) => config(dir, dir), clock, speed);
      else if (a.mode === 'systemd') {
        const sd = new SystemdAgent(a, config, speed);
        sd.onEvent = (what, detail) => event(what, a.id, detail);
        agent = sd;
      } else agent = new ProcessAgent(a, config, speed, tmpfsMiB);
      agents.set(a.id, agent);
      await stage(`tmpfs ${a.id}`, () => agent.mountTmpfs());
      await stage(`agent ${a.id}`, async () => {
        await agent.init();
        if (c.enroll) enrolled.push([a.id, await c.enroll(agent.configPath)]); // its key exists now
        await agent.start();
      });
    }
    t0 = Date.now();
    event(
      'run',
      undefined,
      `${s.name}: ${c.what}, ${devices.size} devices${realPeers.length ? ` (${realPeers.length} real)` : ''}, ${agents.size} agents, seed ${seed}, speed ${speed}`,
    );
    for (const [id, what] of enrolled) event('enroll', id, what);
    for (const p of realPeers) event('real', p.id, `not simulated: the agent talks to the real device at ${p.real}`);
    const raised = new Map<string, Set<string>>(); // agent id → alarm codes standing at its last status sample
    const noteAlarms = (id: string, status: Record<string, unknown>, details: Record<string, unknown>) => {
      const now = new Map(
        (Array.isArray(status.alarms) ? (status.alarms as { code?: unknown; message?: unknown }[]) : [])
          .filter((x) => typeof x.code === 'string')
          .map((x) => {
            const code = x.code as string;
            const msg = typeof x.message === 'string' ? x.message : '';
            return [code, msg.startsWith(`${code}: `) ? msg.slice(code.length + 2) : msg] as const;
          }),
      );
      const before = raised.get(id) ?? new Set<string>();
      const held = (details.loop as { heldSamples?: unknown } | undefined)?.heldSamples;
      const state = `state ${String(status.state)}${typeof held === 'number' ? `, ${held} readings held` : ''}`;
      for (const [code, msg] of now)
        if (!before.has(code)) event('alarm', id, `${code} raised (${state})${msg ? `: ${msg}` : ''}`);
      for (const code of before) if (!now.has(code)) event('alarm-cleared', id, `${code} cleared (${state})`);
      raised.set(id, new Set(now.keys()));
    };
    const sampleOnce = async () => {
      const tS = Math.round(simS() * 10) / 10;
      for (const a of agents.values()) {
        const r = a.running ? a.rssMB() : null;
        if (r !== null) rssMax = Math.max(rssMax ?? 0, r);
        if (!a.running) continue;
        const st = await readStatus(a.socket, 900);
        if (!st) continue;
        if (typeof st.status.deviceId === 'string') deviceIds.set(a.id, st.status.deviceId.toLowerCase());
        if (Array.isArray(st.status.meters)) meterHealth.set(a.id, st.status.meters as MeterHealth[]);
        if (st.details.chain2) chain2Health.set(a.id, st.details.chain2 as Record<string, Chain2Health>);
        const ob = st.details.outbox as
          { undeliveredSamples?: number; undeliveredBatches?: number; undeliveredGaps?: number } | undefined;
        if (ob) {
          const samples = ob.undeliveredSamples ?? 0;
          outbox.push({ tS, agent: a.id, samples, items: (ob.undeliveredBatches ?? 0) + (ob.undeliveredGaps ?? 0) });
          series.outbox.push({ tS, agent: a.id, samples });
        }
        const link = st.details.link as { state?: string } | undefined;
        if (link?.state) series.link.push({ tS, agent: a.id, state: link.state });
        noteAlarms(a.id, st.status, st.details);
      }
    };
    let sampling = false;
    sampler = setInterval(() => {
      if (sampling) return;
      sampling = true;
      void sampleOnce().finally(() => (sampling = false));
    }, 1000);
    await sampleOnce();

    const ctx: ActionContext = {
      agents,
      links,
      devices,
      cloud: c,
      random,
      event,
      ...(setpoints ? { setpoints } : {}),
      later: (after, fn) => {
        const due = simS() + after;
        pending.push(
          sleep(((due - simS()) * 1000) / speed).then(async () => {
            try {
              await fn();
              faultEnded();
            } catch (e) {
              broke ??= { stage: 'timeline', message: message(e) };
            }
          }),
        );
      },
    };
    for (const [i, a] of s.timeline.entries()) {
      await sleep(t0 + (a.atS * 1000) / speed - Date.now());
      await stage(`timeline[${i}] ${a.do}`, () => play(a, ctx));
      faultEnded();
      if (broke) throw new Broke(broke.stage, broke.message);
    }
    await Promise.all(pending);
    if (broke) throw new Broke(broke.stage, broke.message);
    await sleep(t0 + (s.durationS * 1000) / speed - Date.now());
    await sampleOnce();
    clearInterval(sampler);
    // what each meter went through, as the agent saw it (a dead or noisy meter's faults show as failed requests)
    for (const [id, ms] of meterHealth)
      event('meters', id, ms.map((m) => `${m.id} ${m.quality} (${m.errors} failed requests)`).join(', '));
    for (const [id, sources] of chain2Health)
      for (const [name, h] of Object.entries(sources)) event('chain2', id, chain2HealthLine(name, h));
    for (const a of agents.values()) {
      const code = await a.stop();
      event('stop', a.id, `end of the run: SIGTERM, exit ${code}`);
    }
    for (const a of agents.values()) {
      committed.set(a.id, await stage(`buffer stats ${a.id}`, () => bufferNextSeq(a.db, a.wrap)));
      const chain = c.chain ? ['--chain-id', String(c.chain.chainId), '--contract', c.chain.keyRegister] : [];
      const v = await cli(['buffer', 'verify', '--db', a.db, ...chain], a.wrap);
      verified.set(a.id, v.code === 0 ? null : `exit ${v.code}: ${(v.out + v.err).trim()}`);
    }
    // the last deliveries reach the subscriber a moment after the agents acknowledged them: wait for them (bounded)
    const until = Date.now() + 5000;
    const allIn = () =>
      [...agents.values()].every((a) => {
        const log = subscriber!.devices.get(deviceIds.get(a.id) ?? '');
        return log !== undefined && missingSeqs(log, committed.get(a.id) ?? null).length === 0;
      });
    while (!allIn() && Date.now() < until) await sleep(50);
    // how the batches arrived: in seq order, and how far their windows went back (a clock step shows here)
    for (const a of agents.values()) {
      const log = subscriber.devices.get(deviceIds.get(a.id) ?? '');
      const x = arrivalSummary(log?.arrivals ?? []);
      event(
        'arrivals',
        a.id,
        `${x.batches} batches, ${x.outOfOrder} first arrivals out of seq order, windows went back at most ${x.maxWindowBackMs} ms`,
      );
      const reasons = new Map<string, number>();
      for (const g of log?.gaps ?? []) reasons.set(g.reason, (reasons.get(g.reason) ?? 0) + 1);
      if (reasons.size)
        event('gaps', a.id, `signed gaps received: ${[...reasons].map(([r, n]) => `${n} ${r}`).join(', ')}`);
      const q = subscriber.quarters.get(deviceIds.get(a.id) ?? '');
      if (q) event('quarters', a.id, quarterLine(q));
    }
    // what the cloud saw (the embedded cloud: its BAL's verdicts, its SCD's acks of the run's setpoints)
    await stage('cloud report', () => cloudEvents(c, setpoints?.sent ?? [], event));
  } catch (e) {
    const b = e instanceof Broke ? e : new Broke('run', message(e));
    broke = { stage: b.stage, message: b.message };
    event('broke', b.stage, b.message);
  } finally {
    clearInterval(sampler);
    for (const a of agents.values()) await a.dispose().catch(() => undefined);
    await Promise.allSettled(pending);
    await subscriber?.stop();
    for (const p of links.values()) await p.close().catch(() => undefined);
    for (const d of devices.values()) await d.stop().catch(() => undefined);
    await cloud?.stop().catch(() => undefined);
    setpoints?.dispose();
  }
  const sb = subscriber ?? sub;
  series.power = powerSeries(s, sb.power, deviceIds, t0, speed);
  const outcomes = agentOutcomes(s, { agents, deviceIds, committed, verified, speed });
  const { invariants, figures } = evaluate({
    invariants: s.invariants,
    sub: sb,
    agents: outcomes,
    outbox,
    lastFaultEndS: faultEndS ?? lastFaultEnd(s.timeline),
    rssMaxMB: rssMax,
    ...(setpoints
      ? {
          setpoints: setpoints.facts(
            devices.values(),
            (id) => deviceIds.get(s.agents.find((a) => a.devices.includes(id))?.id ?? ''),
            s.durationS,
          ),
        }
      : {}),
  });
  if (setpoints) series.setpoint = setpoints.series();
  const passed = !broke && invariants.every((i) => i.passed);
  // a failed run keeps the end of each agent's log (stderr) for whoever reads the report
  if (!passed) for (const a of agents.values()) notes.push(`agent ${a.id} log (end):\n${a.log().slice(-1500)}`);
  for (const a of agents.values()) rmSync(a.dir, { recursive: true, force: true });
  return {
    scenario: s.name,
    passed,
    seed,
    speed,
    durationS: s.durationS,
    startedAtMs,
    wallS: Math.round((Date.now() - startedAtMs) / 100) / 10,
    ...(broke ? { broke } : {}),
    invariants,
    figures,
    events,
    series,
    notes,
  };
}
