/**
 * In-process agents of a HIL run (`mode: inprocess`): the edge agent built through `@lightnode/edge`'s public API —
 * the config file loaded and validated as `lightnode agent` does (`loadAgentConfig`), run by a `RemoteConfigAgent` as
 * the CLI's composition root runs it — inside the runner's process. What differs from a process agent:
 * - its clock is the run's `scaledClock` (the run's speed) plus a step (`steppedClock`): `clock-step` sets the step
 *   at once — the observable effect of a process agent's step file — and `details.clock` in its status shows it;
 * - its failpoints go through `AgentDeps.store`: the runner opens the SQLite store with them (`SqliteStore.open`,
 *   the same store and failpoint `LIGHTNODE_FAILPOINTS` selects in a process, FAILPOINTS_ACTIVE in its status);
 * - kill9 is an abrupt stop, not a SIGKILL: at the kill its store is cut off — a held transaction (the
 *   `outbox.ackBeforeCommit` failpoint's delayed commit) rolled back, so only what SQLite had committed stays, as
 *   after a SIGKILL; from then on the store takes no write (no last commit, no seal, no delivery mark, nothing more
 *   shipped) — then the rest is torn down: sources, link, status socket. Unlike a SIGKILL, its MQTT connection ends
 *   with a DISCONNECT after the in-flight publishes (the broker does not publish its last will), the Modbus
 *   connections close cleanly and a setpoint controller releases its battery (its AGENT_STOP ack is refused by the
 *   store); once `kill9` resolves nothing of that pipeline runs on;
 * - disk-full is refused for it (the scenario's cross-check): the tmpfs lives in its own mount namespace, which a
 *   process agent enters and the runner's process cannot;
 * - `rssMB` is the runner's own resident set; `pid` is null; an exception it does not catch ends the runner.
 */
import { join } from 'node:path';
import {
  LightNodeError,
  createLogger,
  lightNodeDomain,
  steppedClock,
  type AgentConfig,
  type Clock,
  type Logger,
  type SteppedClock,
} from '@lightnode/protocols';
import { RemoteConfigAgent, SqliteStore, loadAgentConfig, signerFromKeyFile, type Store } from '@lightnode/edge';
import { agentDir, cli } from './harness.js';
import type { HilAgent, UpSpan } from './hil-agent.js';
import type { ScenarioAgent } from './scenario.js';

/** The store's methods that write (the seq high-water files included): refused once the agent is killed. */
const WRITES: ReadonlySet<string | symbol> = new Set([
  'commitCycle',
  'allocate',
  'commit',
  'declareLost',
  'sealDue',
  'markDelivered',
  'enqueueMessage',
]);

/**
 * `store` as the agent sees it, with a kill switch: `kill()` rolls back the transaction the store holds open (only
 * the `outbox.ackBeforeCommit` failpoint holds one across writes), then every write throws OUTBOX_WRITE_FAILED (the
 * agent's loop keeps the readings in memory, as on a failed disk, until it is torn down), `pending` gives nothing
 * (nothing more is shipped) and `close` rolls back anything begun since. Reads (`stats`, `nextSeq`) see what was
 * committed. The result is still a `SqliteStore` to the agent (its jobs get its database).
 */
export function killableStore(store: SqliteStore, agent: string): { store: Store; kill(): void } {
  let killed = false;
  const rollback = () => {
    if (store.db.open && store.db.inTransaction) store.db.exec('ROLLBACK');
  };
  const dead = () =>
    new LightNodeError(
      'OUTBOX_WRITE_FAILED',
      `in-process agent ${agent} was killed (kill9): its store takes no more writes`,
      { agent },
    );
  const proxy = new Proxy(store, {
    get(target, key) {
      const v: unknown = Reflect.get(target, key, target);
      if (typeof v !== 'function') return v;
      const f = v as (...args: unknown[]) => unknown;
      if (killed && key === 'pending') return () => [];
      if (killed && key === 'close')
        return () => {
          rollback();
          target.close();
        };
      if (killed && WRITES.has(key))
        return () => {
          throw dead();
        };
      return f.bind(target);
    },
  });
  return {
    store: proxy,
    kill() {
      killed = true;
      rollback();
    },
  };
}

/** One agent of the run inside the runner's process, started and stopped as often as the timeline says. */
export class InProcessAgent implements HilAgent {
  readonly dir: string;
  readonly configPath: string;
  readonly socket: string;
  readonly db: string;
  readonly wrap: string[] = [];
  readonly tmpfs = null;
  readonly pid = null;
  readonly up: UpSpan[] = [];
  /** Always empty: an exception the agent does not catch is the runner's own (it ends the run). */
  readonly crashes: string[] = [];
  /** The clock of every start: the run's clock plus the step (`clock-step`). */
  readonly clock: SteppedClock;
  private agent: RemoteConfigAgent | null = null;
  private kill: (() => void) | null = null;
  private starting: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;
  private span: UpSpan | null = null;
  private readonly logs: string[] = [];

  /** `config(dir)` is the agent config (its stateDir is `dir`); `clock` the run's (a `scaledClock` at its speed). */
  constructor(
    readonly spec: ScenarioAgent,
    config: (dir: string) => Record<string, unknown>,
    private readonly runClock: Clock,
    private readonly speed: number,
  ) {
    const d = agentDir(config);
    this.dir = d.dir;
    this.configPath = d.configPath;
    this.socket = join(d.dir, 'agent.sock');
    this.db = join(d.dir, 'outbox.db');
    this.clock = steppedClock({ offsetMs: 0, speed: 1 }, runClock);
  }

  get id(): string {
    return this.spec.id;
  }
  get running(): boolean {
    return this.agent !== null;
  }

  async init(): Promise<void> {
    const r = await cli(['protocol', 'keygen', '--out', join(this.dir, 'device.key')]);
    if (r.code !== 0) throw new LightNodeError('IO_ERROR', `agent ${this.id}: protocol keygen failed: ${r.err}`);
  }

  /** Nothing: disk-full is refused for in-process agents (see the file's comment). */
  async mountTmpfs(): Promise<void> {}

  async dispose(): Promise<void> {
    await this.stop();
  }

  /** The store of one pipeline: SQLite with the agent's failpoints, as `lightnode agent`'s wiring opens it. */
  private openStore(c: AgentConfig, log: Logger): Store {
    const signer = signerFromKeyFile(c.keyFile ?? join(c.stateDir, 'device.key'));
    const s = killableStore(
      SqliteStore.open({
        path: c.outbox.path ?? join(c.stateDir, 'outbox.db'),
        seqFile: join(c.stateDir, 'seq.hwm'),
        signer,
        domain: lightNodeDomain(c.chain.chainId, c.chain.keyRegister),
        podId: c.podId,
        clock: this.clock,
        quotaBytes: c.outbox.quotaBytes,
        windowMs: c.batch.windowMs,
        logger: log,
        ...(this.spec.failpoints.length ? { failpoints: this.spec.failpoints } : {}),
      }),
      this.id,
    );
    this.kill = s.kill;
    return s.store;
  }

  start(): Promise<void> {
    if (this.starting) return this.starting;
    if (this.agent) return Promise.resolve();
    const logger = createLogger({ level: 'info', sink: (l) => this.logs.push(l) });
    const clockStatus = () => ({ offsetMs: 0, speed: this.speed, stepMs: this.clock.stepMs });
    const run = async () => {
      if (this.stopping) await this.stopping;
      const base = loadAgentConfig(this.configPath);
      // the store is opened when a pipeline takes its deps (RemoteConfigAgent's constructor reads only the clock and
      // the logger of them): one store per pipeline, none left open beside it
      const open = (c: AgentConfig) => () => this.openStore(c, logger);
      const agent = new RemoteConfigAgent({
        base,
        deps: (c) => {
          const store = open(c);
          return {
            clock: this.clock,
            logger,
            clockStatus,
            get store() {
              return store();
            },
          };
        },
      });
      this.agent = agent;
      try {
        await agent.start();
      } catch (e) {
        this.agent = null;
        await agent.stop().catch(() => undefined);
        throw new LightNodeError('IO_ERROR', `agent ${this.id} (in process): ${(e as Error).message}`, {
          agent: this.id,
        });
      }
      this.span = { fromMs: Date.now(), toMs: null };
      this.up.push(this.span);
    };
    this.starting = run().finally(() => (this.starting = null));
    return this.starting;
  }

  /** Ends the running agent: `abrupt` cuts its store first (kill9), else it drains for up to 2 s (SIGTERM's). */
  private async end(abrupt: boolean): Promise<boolean> {
    if (this.starting) await this.starting.catch(() => undefined);
    const agent = this.agent;
    if (!agent) return false;
    if (abrupt) this.kill?.();
    this.agent = null;
    if (this.span) this.span.toMs = Date.now();
    this.span = null;
    this.stopping = agent.stop({ drainMs: abrupt ? 0 : 2000 }).finally(() => (this.stopping = null));
    await this.stopping;
    return true;
  }

  /** Graceful stop (what `lightnode agent` does on SIGTERM); 0 as its exit code, null when it was not running. */
  async stop(): Promise<number | null> {
    return (await this.end(false)) ? 0 : null;
  }

  async kill9(): Promise<string> {
    if (!(await this.end(true)))
      throw new LightNodeError('USAGE', `kill9 ${this.id}: the agent is not running`, { agent: this.id });
    return 'abrupt in-process stop (store cut: uncommitted writes rolled back, no seal, no drain)';
  }

  clockStep(stepS: number): number {
    this.clock.stepMs += Math.round(stepS * 1000);
    return this.clock.stepMs;
  }

  /** The runner's resident set, MB (the agent lives in it). */
  rssMB(): number {
    return process.memoryUsage.rss() / (1024 * 1024);
  }

  log(): string {
    return this.logs.join('\n');
  }
}
