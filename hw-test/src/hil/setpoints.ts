/**
 * The setpoint side of a HIL run: the run's operator (issuer) key, generated per run, and a forger's key that no agent
 * trusts; the `setpoint`, `setpoint-forged` and `setpoint-replay` actions; what was sent, for the invariants
 * (setpoint-invariants.ts) and the report's setpoint-vs-PoD series.
 *
 * A setpoint's window is in the agent's time: a process agent's clock runs at the run's speed (LIGHTNODE_CLOCK), so
 * the window is computed from the agent's own `now` (its status' `atMs`, extrapolated at the speed): it starts 0.5 s
 * of wall time ahead (what `lightnode setpoint send` takes to start and publish) and lasts `forS` simulated seconds.
 *
 * A setpoint's baseline (the PoD level without it): a simulated battery's site load, exact; for a real one
 * (`--real-ports`) the site's load as the agent itself reads it in its status — the PoD meter's `lastPowerW` plus the
 * battery's (import + discharge), waited for as long as the agent's link is — else the scenario's `loadW`, else 0
 * (said in the event).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LightNodeError, topics } from '@lightnode/protocols';
import { writeNewKeyFile } from '@lightnode/edge';
import { readStatus } from './agents.js';
import type { ActionContext } from './actions.js';
import { cli } from './harness.js';
import type { DevicePeer } from './peers.js';
import type { HilSeries } from './result.js';
import type { ScenarioAction } from './scenario.js';
import type { BatteryEventAt, RefusedSetpoint, SentSetpoint, SetpointFacts } from './setpoint-invariants.js';
import type { RunSubscriber } from './subscriber.js';

type Of<D extends ScenarioAction['do']> = Extract<ScenarioAction, { do: D }>;

/** The wall-time lead of a window's start, ms. */
const LEAD_WALL_MS = 500;
/** A forged setpoint's target: this much above the house load (the battery would charge hard if it followed), W. */
const FORGED_ABOVE_LOAD_W = 2000;
/** A forged setpoint's window, simulated s. */
const FORGED_FOR_S = 10;

/** The agent's clock against the wall: its `atMs` read at wall `wallMs`. */
interface ClockMark {
  agentMs: number;
  wallMs: number;
}

export interface SetpointRunOptions {
  speed: number;
  /** Run seconds (simulated, from the scenario's start) of a wall time. */
  runS: (wallMs: number) => number;
  sub: RunSubscriber;
  brokerUrl: string;
  /** The chain the agents verify setpoints for (their config's `chain`), default the test vectors'. */
  chain?: { chainId: number; keyRegister: string };
}

/** A source's health in `lightnode status --json` (`details.sources[]`), the part read here. */
interface SourceHealthPart {
  id?: string;
  lastPowerW?: number;
}

/** The site's load now as the agent reads it: its PoD meter's power plus the battery's, W (undefined: no PoD reading). */
export function agentSiteLoadW(details: Record<string, unknown> | undefined, essId: string): number | undefined {
  const sources = Array.isArray(details?.sources) ? (details.sources as SourceHealthPart[]) : [];
  const pod = sources.find((x) => x.id === `${essId}-pod`)?.lastPowerW;
  if (pod === undefined) return undefined;
  return Math.round(pod + (sources.find((x) => x.id === essId)?.lastPowerW ?? 0));
}

export class SetpointRun {
  readonly sent: SentSetpoint[] = [];
  readonly refused: RefusedSetpoint[] = [];
  /** The operator's (issuer's) address: the one `setpoints.issuers` entry of every agent with a battery. */
  readonly operator: string;
  private readonly dir: string;
  private readonly operatorKey: string;
  private readonly forgerKey: string;
  private readonly clocks = new Map<string, ClockMark>();

  constructor(private readonly o: SetpointRunOptions) {
    this.dir = mkdtempSync(join(tmpdir(), 'ln-hil-operator-'));
    this.operatorKey = join(this.dir, 'operator.key');
    this.forgerKey = join(this.dir, 'forger.key');
    this.operator = writeNewKeyFile(this.operatorKey).address;
    writeNewKeyFile(this.forgerKey);
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** The agent's device id, PoD, battery and clock now. */
  private async target(c: ActionContext, agentId: string) {
    const agent = c.agents.get(agentId);
    if (!agent) throw new LightNodeError('USAGE', `no agent ${agentId} in this run`, { agent: agentId });
    const ess = agent.spec.devices.map((id) => c.devices.get(id)).find((d): d is DevicePeer => d?.kind === 'ess');
    if (!ess) throw new LightNodeError('USAGE', `agent ${agentId} has no ess device`, { agent: agentId });
    // the agent must be on the broker (subscribed to its setpoint topic) for the order to reach it: wait (bounded)
    const until = Date.now() + 15_000;
    let st: Awaited<ReturnType<typeof readStatus>> = null;
    let wallMs = 0;
    for (;;) {
      const before = Date.now();
      st = await readStatus(agent.socket, 3000);
      wallMs = (before + Date.now()) / 2;
      const link = st?.status.link as { state?: string } | undefined;
      const measured = !ess.real || agentSiteLoadW(st?.details, ess.id) !== undefined;
      if ((link?.state === 'connected' && measured) || Date.now() > until) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const deviceId = st?.status.deviceId;
    const agentMs = Number(st?.status.atMs);
    if (typeof deviceId !== 'string' || !Number.isFinite(agentMs))
      throw new LightNodeError('IO_ERROR', `agent ${agentId}: no status (device id, atMs) on ${agent.socket}`, {
        agent: agentId,
      });
    const mark = { agentMs, wallMs };
    this.clocks.set(deviceId.toLowerCase(), mark);
    const podId = (JSON.parse(readFileSync(agent.configPath, 'utf8')) as { podId: string }).podId;
    const read = ess.real ? agentSiteLoadW(st?.details, ess.id) : undefined;
    const loadW = Math.round(read ?? ess.loadW?.() ?? 0);
    const baseline = !ess.real
      ? 'baseline'
      : read !== undefined
        ? "baseline from the agent's PoD + battery reading"
        : ess.loadW
          ? "baseline the scenario's loadW (no PoD reading in the agent's status)"
          : "baseline 0: no PoD reading in the agent's status, no loadW";
    return { agent, deviceId: deviceId.toLowerCase(), podId, loadW, baseline, mark };
  }

  /** A window of `forS` simulated s from 0.5 wall s ahead, in the agent's ms and in run seconds. */
  private window(mark: ClockMark, forS: number) {
    const fromMs = Math.round(mark.agentMs + (Date.now() - mark.wallMs + LEAD_WALL_MS) * this.o.speed);
    const untilMs = fromMs + Math.round(forS * 1000);
    const at0 = this.o.runS(mark.wallMs);
    return {
      fromMs,
      untilMs,
      fromS: at0 + (fromMs - mark.agentMs) / 1000,
      untilS: at0 + (untilMs - mark.agentMs) / 1000,
    };
  }

  private async send(
    key: string,
    t: { deviceId: string; podId: string; loadW: number },
    targetW: number,
    w: { fromMs: number; untilMs: number },
  ): Promise<{ id: string; nonce: number }> {
    const r = await cli([
      'setpoint',
      'send',
      ...['--broker', this.o.brokerUrl, '--key-file', key, '--device', t.deviceId, '--pod', t.podId],
      ...['--target-w', String(Math.round(targetW)), '--baseline-w', String(t.loadW)],
      ...['--from', new Date(w.fromMs).toISOString(), '--until', new Date(w.untilMs).toISOString(), '--json'],
      ...(this.o.chain ? ['--chain-id', String(this.o.chain.chainId), '--contract', this.o.chain.keyRegister] : []),
    ]);
    if (r.code !== 0)
      throw new LightNodeError('IO_ERROR', `lightnode setpoint send exited ${r.code}: ${(r.err || r.out).trim()}`, {});
    const out = JSON.parse(r.out) as { id: string; nonce: number };
    return { id: out.id.toLowerCase(), nonce: out.nonce };
  }

  /** `setpoint {agent, targetW, forS}`: signed with the run's operator key, sent with `lightnode setpoint send`. */
  async setpoint(a: Of<'setpoint'>, c: ActionContext): Promise<void> {
    const sentS = this.o.runS(Date.now());
    const t = await this.target(c, a.agent);
    const w = this.window(t.mark, a.forS);
    const { id, nonce } = await this.send(this.operatorKey, t, a.targetW, w);
    this.sent.push({
      agent: a.agent,
      deviceId: t.deviceId,
      id,
      targetW: a.targetW,
      sentS,
      fromS: w.fromS,
      untilS: w.untilS,
    });
    c.event(
      'setpoint',
      a.agent,
      `${a.targetW} W at PoD ${t.podId} for ${a.forS} s (${t.baseline} ${t.loadW} W, window t=${w.fromS.toFixed(1)}–${w.untilS.toFixed(1)} s), id ${id.slice(0, 10)}…, nonce ${nonce}`,
    );
  }

  /**
   * `setpoint-forged {agent}`: a setpoint signed by a key no agent trusts (the device must refuse it,
   * SETPOINT_ISSUER_UNKNOWN); and when a genuine one was sent to the agent before, a tampered copy of it: a new id,
   * target and window under the genuine signature (SIGNER_MISMATCH). Both aim the battery at a hard charge.
   */
  async forged(a: Of<'setpoint-forged'>, c: ActionContext): Promise<void> {
    const sentS = this.o.runS(Date.now());
    const t = await this.target(c, a.agent);
    const w = this.window(t.mark, FORGED_FOR_S);
    const targetW = t.loadW + FORGED_ABOVE_LOAD_W;
    const { id } = await this.send(this.forgerKey, t, targetW, w);
    this.refused.push({ agent: a.agent, deviceId: t.deviceId, id, kind: 'forged', sentS });
    let tampered = '';
    const genuine = this.captured(t.deviceId);
    if (genuine) {
      const doc = JSON.parse(genuine.payload.toString()) as { message: Record<string, unknown> };
      const tid = `0x${randomBytes(32).toString('hex')}`;
      Object.assign(doc.message, { id: tid, activePowerW: targetW, validFromMs: w.fromMs, validUntilMs: w.untilMs });
      await this.o.sub.publish(topics.setpoint(t.deviceId), Buffer.from(JSON.stringify(doc)));
      this.refused.push({ agent: a.agent, deviceId: t.deviceId, id: tid, kind: 'tampered', sentS });
      tampered = `; a tampered copy of ${genuine.id.slice(0, 10)}… (new id ${tid.slice(0, 10)}…, ${targetW} W, its signature kept)`;
    }
    c.event(
      'setpoint-forged',
      a.agent,
      `${targetW} W signed by a key not among the issuers, id ${id.slice(0, 10)}…${tampered}`,
    );
  }

  /** `setpoint-replay {agent}`: the last genuine setpoint sent to the agent, republished byte for byte. */
  async replay(a: Of<'setpoint-replay'>, c: ActionContext): Promise<void> {
    const last = [...this.sent].reverse().find((s) => s.agent === a.agent);
    if (!last)
      throw new LightNodeError('USAGE', `setpoint-replay ${a.agent}: no setpoint was sent to it before`, {
        agent: a.agent,
      });
    const until = Date.now() + 3000;
    while (!this.o.sub.setpoints.has(last.id) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    const seen = this.o.sub.setpoints.get(last.id);
    if (!seen)
      throw new LightNodeError('IO_ERROR', `setpoint-replay ${a.agent}: setpoint ${last.id} never reached the broker`, {
        agent: a.agent,
      });
    const sentS = this.o.runS(Date.now());
    await this.o.sub.publish(topics.setpoint(seen.deviceId), seen.payload);
    this.refused.push({ agent: a.agent, deviceId: seen.deviceId, id: last.id, kind: 'replay', sentS });
    c.event(
      'setpoint-replay',
      a.agent,
      `setpoint ${last.id.slice(0, 10)}… republished (${seen.payload.length} bytes, as first delivered)`,
    );
  }

  /** The last genuine setpoint sent to `deviceId` that the subscriber saw, if any. */
  private captured(deviceId: string) {
    const last = [...this.sent].reverse().find((s) => s.deviceId === deviceId && this.o.sub.setpoints.has(s.id));
    return last ? this.o.sub.setpoints.get(last.id) : undefined;
  }

  /** The facts the setpoint invariants judge; `batteryOf` maps an ESS device to the device id of its agent. */
  facts(devices: Iterable<DevicePeer>, batteryOf: (device: string) => string | undefined, endS: number): SetpointFacts {
    const battery: BatteryEventAt[] = [];
    const unobserved: string[] = [];
    for (const d of devices) {
      const deviceId = batteryOf(d.id);
      if (!deviceId) continue;
      if (d.kind === 'ess' && d.real !== undefined) unobserved.push(deviceId); // a real battery: no simulator events
      for (const e of d.essEvents ?? [])
        battery.push({
          deviceId,
          tS: this.o.runS(e.wallMs),
          event: e.event,
          ...(e.fault ? { fault: e.fault } : {}),
          ...(e.commandW !== undefined ? { commandW: e.commandW } : {}),
        });
    }
    return {
      sent: this.sent,
      refused: this.refused,
      acks: this.o.sub.acks.map((a) => ({
        deviceId: a.deviceId,
        setpointId: a.setpointId,
        state: a.state,
        reason: a.reason,
        tS: this.o.runS(a.arrivedMs),
      })),
      battery: battery.sort((a, b) => a.tS - b.tS),
      badAcks: this.o.sub.badAcks,
      endS,
      ...(unobserved.length ? { unobserved } : {}),
    };
  }

  /**
   * The report's setpoint series for the first agent sent a setpoint: its PoD meter's power per second (each sample
   * at its own time, the agent's clock mapped to run seconds) and the target of the setpoint in force then.
   */
  series(): HilSeries['setpoint'] {
    const first = this.sent[0];
    if (!first) return [];
    const mark = this.clocks.get(first.deviceId)!;
    const at0 = this.o.runS(mark.wallMs);
    const buckets = new Map<number, { sum: number; n: number }>();
    for (const p of this.o.sub.power) {
      if (p.deviceId !== first.deviceId) continue;
      const tS = Math.round(at0 + (p.tsMs - mark.agentMs) / 1000);
      if (tS < 0) continue;
      const b = buckets.get(tS) ?? { sum: 0, n: 0 };
      b.sum += p.w;
      b.n++;
      buckets.set(tS, b);
    }
    const mine = this.sent.filter((s) => s.deviceId === first.deviceId);
    return [...buckets]
      .sort(([a], [b]) => a - b)
      .map(([tS, b]) => ({
        tS,
        targetW: [...mine].reverse().find((s) => s.fromS <= tS && tS < s.untilS)?.targetW ?? null,
        podW: Math.round(b.sum / b.n),
      }));
  }
}

/** The agent's setpoint run, or a USAGE error naming the action (a run without a battery has none). */
export function setpointsOf(c: ActionContext, what: string): SetpointRun {
  if (!c.setpoints)
    throw new LightNodeError('USAGE', `${what}: this run has no ess device (a setpoint needs a battery)`, {});
  return c.setpoints;
}
