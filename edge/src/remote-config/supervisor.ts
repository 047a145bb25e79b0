/**
 * The agent under remote configuration (SPEC §7). It runs one `Agent` on the configuration in force — the base file,
 * or the applied revision under `<stateDir>/config/` merged with the base file's local-only keys — and listens on the
 * device's retained `config` topic. An accepted revision is written as pending and the pipeline restarted on it in
 * process; once every source reads good and the uplink is connected it becomes current (`applied`); past
 * `healthDeadlineS` the previous configuration comes back (`rolled_back`, CONFIG_HEALTH_METERS naming the meters, or
 * CONFIG_HEALTH_LINK); a restart while pending counts as failed (CONFIG_HEALTH_RESTART). Every outcome is one
 * device-signed `ConfigAck` through the durable queue and one history entry.
 */
import {
  PROTOCOL_VERSION,
  lightNodeDomain,
  parseAgentConfig,
  signConfigAck,
  silentLogger,
  type AgentConfig,
  type Clock,
  type ConfigAckState,
  type LightNodeError,
  type Logger,
  type SignedConfig,
} from '@lightnode/protocols';
import { Agent, type AgentDeps } from '../agent/agent.js';
import { checkRemoteConfig, mergeRemote } from './checks.js';
import { ConfigFiles, type ConfigStatus, type HistoryEntry } from './state.js';

const ZERO_HASH = '0x' + '0'.repeat(64);
const HEALTH_POLL_MS = 1000;
/** Refusals remembered so that a retained document redelivered on each reconnect is acked once. */
const REFUSED_MEMORY = 64;

export interface RemoteConfigAgentOptions {
  base: AgentConfig;
  /** The deps of each pipeline (a function: fresh fakes per restart in tests). */
  deps: AgentDeps | ((config: AgentConfig) => AgentDeps);
  /** Called after each outcome (tests, logs). */
  onOutcome?: (e: HistoryEntry) => void;
}

interface Pending {
  doc: SignedConfig;
  previous: AgentConfig;
  sinceMs: number;
  cancel: () => void;
}

export class RemoteConfigAgent {
  private agent: Agent | null = null;
  private readonly files: ConfigFiles | null;
  private readonly log: Logger;
  private readonly clock: Clock;
  private running: AgentConfig;
  private pending: Pending | null = null;
  private deferred: SignedConfig | null = null;
  private chain: Promise<void> = Promise.resolve();
  private readonly refused: string[] = [];
  private stopped = false;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly o: RemoteConfigAgentOptions) {
    const d = this.depsFor(o.base);
    this.clock = d.clock;
    this.log = (d.logger ?? silentLogger).child({ component: 'remote-config' });
    const rc = o.base.remoteConfig;
    this.files = rc ? new ConfigFiles(o.base.stateDir, rc.historySize) : null;
    this.running = o.base;
  }

  /** The running pipeline (null before start). */
  get current(): Agent | null {
    return this.agent;
  }

  status(): ConfigStatus | null {
    return this.files?.status() ?? null;
  }

  history(): HistoryEntry[] {
    return this.files?.history() ?? [];
  }

  async start(): Promise<void> {
    const files = this.files;
    if (!files) return this.startPipeline(this.o.base);
    const interrupted = files.pending();
    if (interrupted) {
      files.dropPending();
      files.setLastRevision(Math.max(files.lastRevision(), interrupted.doc.message.revision));
    }
    this.running = this.configOf(files.current()?.doc) ?? this.o.base;
    await this.startPipeline(this.running);
    if (interrupted)
      this.outcome(interrupted.doc, 'rolled_back', 'CONFIG_HEALTH_RESTART', 'the agent restarted while it was pending');
  }

  async stop(opts: { drainMs?: number } = {}): Promise<void> {
    this.stopped = true;
    await this.chain;
    this.pending?.cancel();
    this.unsubscribe?.();
    await this.agent?.stop(opts);
  }

  /** The applied revision's config merged with the base file (null when none or when it no longer parses). */
  private configOf(doc: SignedConfig | undefined): AgentConfig | null {
    if (!doc) return null;
    try {
      return parseAgentConfig(mergeRemote(this.o.base, doc.config), `config r${doc.message.revision}`);
    } catch (e) {
      this.log.error('the applied remote config no longer parses with this base file: running on the base file', {
        revision: doc.message.revision,
        error: (e as Error).message,
      });
      return null;
    }
  }

  private depsFor(c: AgentConfig): AgentDeps {
    return typeof this.o.deps === 'function' ? this.o.deps(c) : this.o.deps;
  }

  private async startPipeline(c: AgentConfig): Promise<void> {
    const files = this.files;
    const agent = new Agent(c, {
      ...this.depsFor(c),
      ...(files
        ? {
            config: {
              status: () => {
                const s = files.status();
                return { revision: s.revision, configHash: s.configHash, state: s.state };
              },
              details: () => ({ ...files.status(), history: files.history() }),
            },
          }
        : {}),
    });
    this.agent = agent;
    await agent.start();
    if (!files) return;
    this.unsubscribe = agent.wired!.link.subscribe('config', {
      onMessage: (doc) => this.enqueue(() => this.handle(doc)),
      onInvalid: (e, raw) => this.enqueue(async () => this.invalid(e, raw)),
    });
  }

  private enqueue(fn: () => Promise<void>): void {
    this.chain = this.chain.then(fn).catch((e: unknown) => {
      this.log.error('remote config handling failed', { error: (e as Error).message });
    });
  }

  private refusedOnce(key: string): boolean {
    if (this.refused.includes(key)) return false;
    this.refused.push(key);
    if (this.refused.length > REFUSED_MEMORY) this.refused.shift();
    return true;
  }

  private invalid(e: LightNodeError, raw: Uint8Array): void {
    if (this.stopped || !this.refusedOnce(Buffer.from(raw).toString('base64'))) return;
    const code = e.code === 'SCHEMA_INVALID' ? 'SCHEMA_INVALID' : 'DECODE_ERROR';
    this.record({ revision: 0, configHash: ZERO_HASH, issuer: '' }, 'rejected', code, e.message);
  }

  private async handle(doc: SignedConfig): Promise<void> {
    if (this.stopped) return;
    if (this.pending) {
      this.deferred = doc; // handled once the pending revision is decided
      return;
    }
    const files = this.files!;
    const agent = this.agent!;
    const rc = this.o.base.remoteConfig!;
    const out = checkRemoteConfig(doc, {
      deviceId: agent.deviceId,
      domain: lightNodeDomain(this.o.base.chain.chainId, this.o.base.chain.keyRegister),
      issuers: rc.issuers,
      lastRevision: files.lastRevision(),
      base: this.o.base,
    });
    if (out.action === 'ignore') return this.log.debug('config ignored', { detail: out.detail });
    if (out.action === 'reject') {
      if (!this.refusedOnce(JSON.stringify(doc))) return;
      this.log.warn('config refused', { code: out.code, revision: out.revision, detail: out.detail });
      this.record({ ...out, issuer: out.issuer ?? '' }, 'rejected', out.code, out.detail);
      return;
    }
    const now = this.clock.now();
    files.setPending(doc, now);
    this.log.info('config accepted: restarting the pipeline on it', { revision: out.message.revision });
    const previous = this.running;
    await this.restart(out.config);
    const deadline = this.clock.setTimer(rc.healthDeadlineS * 1000, () => this.enqueue(() => this.rollback()));
    let poll = (): void => undefined;
    const check = (): void => {
      if (this.healthy(now)) return this.enqueue(() => this.applied());
      const t = this.clock.setTimer(HEALTH_POLL_MS, check);
      poll = t;
    };
    this.pending = {
      doc,
      previous,
      sinceMs: now,
      cancel: () => {
        deadline();
        poll();
      },
    };
    check();
  }

  private async restart(c: AgentConfig): Promise<void> {
    this.unsubscribe?.();
    await this.agent?.stop({ drainMs: 0, restart: true });
    this.running = c;
    await this.startPipeline(c);
  }

  /** Every source read good since the revision started, and the uplink is connected. */
  private healthy(sinceMs: number): boolean {
    return this.unhealthyMeters(sinceMs).length === 0 && this.agent?.wired?.link.state === 'connected';
  }

  private unhealthyMeters(sinceMs: number): string[] {
    return (this.agent?.wired?.sources ?? [])
      .map((s) => s.health())
      .filter((h) => h.quality !== 'good' && !((h.lastGoodMs ?? -Infinity) >= sinceMs))
      .map((h) => h.id);
  }

  private async applied(): Promise<void> {
    const p = this.pending;
    if (!p || this.stopped) return;
    p.cancel();
    this.pending = null;
    this.files!.promotePending(this.clock.now());
    this.files!.setLastRevision(p.doc.message.revision);
    this.outcome(p.doc, 'applied', '', `healthy after ${this.clock.now() - p.sinceMs} ms`);
    this.agent?.refreshStatus();
    await this.next();
  }

  private async rollback(): Promise<void> {
    const p = this.pending;
    if (!p || this.stopped) return;
    p.cancel();
    const bad = this.unhealthyMeters(p.sinceMs);
    const [reason, detail] = bad.length
      ? ['CONFIG_HEALTH_METERS', `not reading good within the deadline: ${bad.join(', ')}`]
      : ['CONFIG_HEALTH_LINK', 'the uplink did not connect within the deadline'];
    this.log.warn('config rolled back', { revision: p.doc.message.revision, reason, detail });
    this.files!.dropPending();
    this.files!.setLastRevision(p.doc.message.revision);
    this.pending = null;
    await this.restart(p.previous);
    this.outcome(p.doc, 'rolled_back', reason, detail);
    await this.next();
  }

  private async next(): Promise<void> {
    const d = this.deferred;
    this.deferred = null;
    if (d) await this.handle(d);
  }

  private outcome(doc: SignedConfig, state: ConfigAckState, reason: string, detail: string): void {
    const m = doc.message;
    this.record(
      { revision: m.revision, configHash: m.configHash, issuer: m.issuer.toLowerCase() },
      state,
      reason,
      detail,
    );
  }

  /** One history entry and one signed ack, queued in the running pipeline's outbox. */
  private record(
    m: { revision: number; configHash: string; issuer: string },
    state: ConfigAckState,
    reason: string,
    detail: string,
  ): void {
    const atMs = this.clock.now();
    const e: HistoryEntry = {
      revision: m.revision,
      configHash: m.configHash,
      issuer: m.issuer,
      state,
      reason,
      detail,
      atMs,
    };
    this.files!.record(e);
    const agent = this.agent!;
    const p = agent.wired!;
    const domain = lightNodeDomain(this.running.chain.chainId, this.running.chain.keyRegister);
    agent.queueMessage((seq) =>
      signConfigAck(
        {
          version: PROTOCOL_VERSION,
          deviceId: p.signer.address,
          revision: m.revision,
          configHash: m.configHash,
          state,
          reason,
          atMs,
          seq,
        },
        p.signer,
        domain,
      ),
    );
    this.o.onOutcome?.(e);
  }
}
