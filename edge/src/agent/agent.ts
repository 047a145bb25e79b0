/**
 * The agent, assembled from four parts: wiring (config → parts, wiring.ts), the loop (readings → one commit per cycle
 * → batcher → queue → shipper, loop.ts), status (the retained document, `lightnode status`, status.ts) and systemd
 * (READY once the store, the sources and the status socket are up; WATCHDOG after completed cycles; STATUS on state
 * or alarm change; STOPPING — systemd.ts). A test builds it from fakes (`AgentDeps`) and drives it by the clock.
 */
import { mkdirSync } from 'node:fs';
import {
  silentLogger,
  type AgentConfig,
  type Clock,
  type Logger,
  type ReportDocument,
  type SignedCommissioning,
  type SignedConfigAck,
  type StatusDocument,
} from '@lightnode/protocols';
import type { EssAdapter } from '../ess/index.js';
import type { Link } from '../link/link.js';
import type { AuditLog } from '../setpoints/audit.js';
import type { SetpointController } from '../setpoints/runtime.js';
import type { MeterSource } from '../sources/index.js';
import { SqliteStore, type Store } from '../store/index.js';
import { clockScheduler, wireJobs, type JobRunner, type JobScheduler } from '../jobs/index.js';
import { AgentLoop, type ReadingsListener } from './loop.js';
import { StatusServer, statusDetails, statusDocument, statusLine, type StatusParts } from './status.js';
import { SystemdNotifier, type NotifySink } from './systemd.js';
import { wireAgent, wireSetpoints, type AgentParts } from './wiring.js';

export interface AgentDeps {
  clock: Clock;
  logger?: Logger;
  /** Replace the configured sources / store / link (tests: fake sources, FakeQueue, FakeLink). */
  sources?: MeterSource[];
  store?: Store;
  link?: Link;
  /** systemd: a notifier (its rules, WATCHDOG_USEC), or only its sink (then `process.env` gives WATCHDOG_USEC). */
  notifier?: SystemdNotifier | NotifySink | null;
  random?: () => number;
  /** Replace the configured ESS adapters (tests: FakeEssAdapter), in `assets[]` order. */
  essAdapters?: EssAdapter[];
  /** The jobs' scheduler (main: node-cron); default: `clockScheduler(clock)`. */
  scheduler?: JobScheduler;
  /** Environment of the jobs (`LIGHTNODE_RELEASE`); default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Remote configuration's view (`status.config`, `details.config`), set by the RemoteConfigAgent. */
  config?: StatusParts['config'];
  /** The `LIGHTNODE_CLOCK` test clock's state (`details.clock`: offsetMs, speed, stepMs), when the env sets it. */
  clockStatus?: () => unknown;
}

export class Agent {
  private parts: AgentParts | null = null;
  private loop: AgentLoop | null = null;
  private statusServer: StatusServer | null = null;
  private jobs: JobRunner | null = null;
  /** The setpoint controller and its audit log, when `setpoints` is configured. */
  private setpoints: { controller: SetpointController; audit: AuditLog; assetId: string; unhook: () => void } | null =
    null;
  private readonly systemd: SystemdNotifier;
  private readonly log: Logger;
  private cancelStatus: (() => void) | null = null;
  private statusPublishFailures = 0;
  private lastStatusCheckMono = -Infinity;
  private lastWriteFailure = false;
  private lastStatusLine = '';
  private startedMs = 0;
  private stopped = false;
  private offConnect: (() => void) | null = null;
  /** Listeners and, once the loop runs, their unsubscribe from it. */
  private readonly listeners = new Map<ReadingsListener, (() => void) | null>();
  deviceId = '';

  constructor(
    readonly config: AgentConfig,
    private readonly deps: AgentDeps,
  ) {
    this.log = (deps.logger ?? silentLogger).child({ component: 'agent' });
    const n = deps.notifier ?? null;
    this.systemd = n instanceof SystemdNotifier ? n : new SystemdNotifier(n, deps.clock, process.env);
  }

  get socketPath(): string | undefined {
    return this.parts?.socketPath;
  }

  async start(): Promise<void> {
    const c = this.config;
    mkdirSync(c.stateDir, { recursive: true });
    const p = wireAgent(
      c,
      { ...this.deps, logger: this.log },
      (assetId) =>
        this.setpoints?.assetId === assetId ? this.setpoints.controller.status().inForce?.commandW : undefined,
      (assetId, s) => {
        if (this.setpoints?.assetId === assetId) this.setpoints.controller.observe(s);
      },
    );
    this.parts = p;
    this.deviceId = p.signer.address;
    this.startedMs = this.deps.clock.now();
    const recovered = p.store.stats().recovered;
    if (recovered) this.log.error('the outbox database was corrupt: moved aside and a fresh one opened', recovered);
    const loop = new AgentLoop({
      clock: this.deps.clock,
      logger: this.log,
      store: p.store,
      link: p.link,
      sources: p.sources,
      cycleMs: p.cycleMs,
      inflight: c.uplink.inflight,
      onCycle: () => this.afterCycle(),
    });
    this.loop = loop;
    for (const fn of this.listeners.keys()) this.listeners.set(fn, loop.onReadings(fn));
    await this.startSetpoints(p, loop);
    this.offConnect = p.link.onConnect(() => {
      loop.shipper.reset();
      void this.publishStatus();
      loop.ship();
    });
    this.statusServer = new StatusServer(p.socketPath, () => ({ status: this.status(), details: this.details() }));
    await this.statusServer.start();
    p.link.start();
    loop.start();
    this.jobs = wireJobs(c, {
      clock: this.deps.clock,
      logger: this.log,
      scheduler: this.deps.scheduler ?? clockScheduler(this.deps.clock),
      db: p.store instanceof SqliteStore ? p.store.db : null,
      env: this.deps.env ?? process.env,
    });
    this.jobs.start();
    this.lastStatusLine = statusLine(this.status());
    this.systemd.ready(this.lastStatusLine);
    this.log.info('agent started', { deviceId: this.deviceId, sources: p.sources.length, nextSeq: p.store.nextSeq });
    const every = c.status.publishEveryMs;
    const tick = (): void => {
      void this.publishStatus();
      this.cancelStatus = this.deps.clock.setTimer(every, tick);
    };
    this.cancelStatus = this.deps.clock.setTimer(every, tick);
  }

  /** The setpoint controller (after the store and the link, before the link starts): fed by the readings hook. */
  private async startSetpoints(p: AgentParts, loop: AgentLoop): Promise<void> {
    const sp = wireSetpoints(this.config, p, { ...this.deps, logger: this.log }, () => loop.ship());
    if (!sp) return;
    await sp.controller.start();
    const unhook = this.onReadings((readings) => sp.controller.onReadings(readings));
    this.setpoints = { ...sp, unhook };
  }

  /** Releases the asset (`autonomous`, AGENT_STOP, queued to be drained) and closes the audit log. */
  private async stopSetpoints(): Promise<void> {
    const sp = this.setpoints;
    if (!sp) return;
    sp.unhook();
    await sp.controller.stop();
    sp.audit.close();
  }

  /** Readings of each cycle, called after its commit (also when the commit failed: the control loop still sees them). */
  onReadings(fn: ReadingsListener): () => void {
    this.listeners.set(fn, this.loop?.onReadings(fn) ?? null);
    return () => {
      this.listeners.get(fn)?.();
      this.listeners.delete(fn);
    };
  }

  /** After each completed cycle: the watchdog, and STATUS= when the state or the alarms changed (checked ≤ 1/s). */
  private afterCycle(): void {
    this.systemd.cycleCompleted();
    const wf = this.loop?.writeFailure !== undefined;
    const mono = this.deps.clock.monotonic();
    if (wf === this.lastWriteFailure && mono - this.lastStatusCheckMono < 1000) return;
    this.lastWriteFailure = wf;
    this.lastStatusCheckMono = mono;
    const line = statusLine(this.status());
    if (line === this.lastStatusLine) return;
    this.lastStatusLine = line;
    this.systemd.status(line);
    void this.publishStatus(); // the retained status follows state and alarm changes too
  }

  private statusParts(): StatusParts {
    const p = this.parts!;
    return {
      deviceId: this.deviceId,
      store: p.store,
      link: p.link,
      loop: this.loop!,
      sources: p.sources,
      systemd: this.systemd,
      now: () => this.deps.clock.now(),
      startedMs: this.startedMs,
      ...(this.setpoints ? { setpoints: this.setpoints.controller } : {}),
      ...(this.jobs ? { jobs: this.jobs } : {}),
      ...(this.deps.config ? { config: this.deps.config } : {}),
    };
  }

  status(): StatusDocument {
    return statusDocument(this.statusParts());
  }

  /** Extra figures for `lightnode status` (not on the wire). */
  details(): Record<string, unknown> {
    return statusDetails(this.statusParts(), {
      statusPublishFailures: this.statusPublishFailures,
      ...(this.deps.clockStatus ? { clock: this.deps.clockStatus() } : {}),
    });
  }

  private async publishStatus(): Promise<void> {
    const link = this.parts?.link;
    if (!link || link.state !== 'connected') return;
    await link.publish('status', this.status(), { qos: 1, retain: true }).catch((e: unknown) => {
      this.statusPublishFailures++;
      this.log.warn('status publish failed', { error: (e as Error).message });
    });
  }

  /** Stops polling, commits and seals what was read, ships it for up to `drainMs`, then closes everything. */
  async stop(opts: { drainMs?: number; restart?: boolean } = {}): Promise<void> {
    const p = this.parts;
    const loop = this.loop;
    if (!p || !loop || this.stopped) return;
    this.stopped = true;
    if (!opts.restart) this.systemd.stopping(); // a pipeline restart (remote config) is not the service stopping
    this.cancelStatus?.();
    await this.jobs?.stop();
    try {
      await loop.stopPolling();
      await this.stopSetpoints();
      if (p.link.state === 'connected') await loop.drain(opts.drainMs ?? 0);
      else p.store.sealDue(true);
    } catch (e) {
      this.log.error('sealing at stop failed', { error: (e as Error).message });
    }
    loop.stopShipping();
    this.offConnect?.();
    await p.link.stop();
    for (const a of p.adapters)
      await a.close().catch((e: unknown) => this.log.warn('closing an ESS adapter failed', { error: String(e) }));
    for (const l of p.lines) await l.close();
    await this.statusServer?.stop();
    p.store.close();
    if (!opts.restart) this.systemd.close();
    this.log.info('agent stopped', { cycles: loop.stats().cycles });
  }

  /** Queues a device → operator message (a config ack, a commissioning report) in the outbox and ships at once. */
  queueMessage(build: (seq: number) => SignedConfigAck | SignedCommissioning): void {
    this.parts!.store.enqueueMessage('report', (seq) => build(seq) as unknown as ReportDocument);
    this.loop?.ship();
  }

  /** Publishes the retained status now (after a change the agent itself does not see, e.g. a config applied). */
  refreshStatus(): void {
    void this.publishStatus();
  }

  /** The wired parts (link, store, signer, sources) once started: the remote config subscribes and queues through them. */
  get wired(): AgentParts | null {
    return this.parts;
  }

  /** The scheduled jobs (tests run one with `jobs.runNow(name)`); null before start. */
  get jobRunner(): JobRunner | null {
    return this.jobs;
  }

  /** Seals everything and waits until the queue is empty or `timeoutMs` passes (tests, graceful drains). */
  drain(timeoutMs: number): Promise<boolean> {
    return this.loop!.drain(timeoutMs);
  }
}
