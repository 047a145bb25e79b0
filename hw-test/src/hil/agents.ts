/**
 * Process agents of a HIL run: `lightnode agent` started through the harness with a config generated from its
 * devices (deep-merged with the scenario's `config`), its failpoints in `LIGHTNODE_FAILPOINTS` and its own clock step
 * file in `LIGHTNODE_CLOCK`. Kills land only once the status socket answers; every start and exit is recorded, so the
 * invariants know when the agent was up. An agent the timeline fills (`disk-full`) has its stateDir — outbox, seq
 * marks — on a tmpfs of its own namespace (`disk.ts`), a subdirectory `fs/` of its working dir, while its key, status
 * socket and clock step file stay in the working dir, off the tmpfs.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { LightNodeError } from '@lightnode/protocols';
import { Tmpfs } from './disk.js';
import { agentDir, cli, startAgent } from './harness.js';
import { waitForStatusSocket } from './status-socket.js';
import type { HilAgent, UpSpan } from './hil-agent.js';
import type { DeviceConfig } from './peers.js';
import type { ScenarioAgent } from './scenario.js';

/** The PoD of an agent whose devices fix none (a meter-only site); a valid test PoD id. */
export const DEFAULT_POD = 'IT002E61899978';
/**
 * The tmpfs of an agent the timeline fills, MiB, when its `tmpfsMiB` does not say: room for a few minutes of
 * samples at 10 Hz, small enough that the ballast fills it in a moment (the size of the former system test).
 */
export const DEFAULT_TMPFS_MIB = 4;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `over` merged into `base`: objects key by key, anything else (arrays included) replaced. */
export function deepMerge(base: Obj, over: Obj): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isObj(b) && isObj(v) ? deepMerge(b, v) : v;
  }
  return out;
}

/**
 * The setpoint options of an agent with a battery: the run's operator as the one issuer, and quick timings — the
 * battery's own revert timer 10 s, a rewrite every 4 s (≤ revertS · 500), the readback within 3 s to ±150 W.
 */
export const HIL_SETPOINTS = { revertS: 10, refreshMs: 4000, readbackTimeoutMs: 3000, readbackToleranceW: 150 };

/**
 * The agent config of `agent`: its devices' lines, Chain 2 sources and assets on the run's broker, then its
 * `config`. Its key and status socket live in `dir` (the agent's working dir), its store in `stateDir` (`dir`
 * itself, or a tmpfs in it). An agent with an asset accepts setpoints from `o.operator` (the run's issuer address);
 * `o.chain` is the chain it signs for (the embedded cloud's; absent: the config's default, the test vectors').
 */
export function agentConfig(
  agent: ScenarioAgent,
  devices: DeviceConfig[],
  brokerUrl: string,
  dir: string,
  stateDir = dir,
  o: { operator?: string; chain?: { chainId: number; keyRegister: string } } = {},
): Obj {
  const generated: Obj = {
    podId: devices.find((d) => d.podId)?.podId ?? DEFAULT_POD,
    stateDir,
    keyFile: join(dir, 'device.key'),
    batch: { windowMs: 1000 },
    uplink: { url: brokerUrl, keepaliveS: 30, reconnectBaseMs: 100, reconnectMaxMs: 1000 },
    status: { publishEveryMs: 5000, socket: join(dir, 'agent.sock') },
    ...(o.chain ? { chain: o.chain } : {}),
  };
  // lines of the same name are one bus (the RTU meters of an agent share one RS-485 line): their meters are merged
  const lines: Obj[] = [];
  for (const l of devices.flatMap((d) => d.lines ?? [])) {
    const same = lines.find((x) => x.name === l.name);
    if (same) same.meters = [...(same.meters as unknown[]), ...(l.meters as unknown[])];
    else lines.push({ ...l });
  }
  const chain2 = devices.flatMap((d) => d.chain2 ?? []);
  if (lines.length) generated.lines = lines;
  if (chain2.length) generated.chain2 = chain2;
  const assets = devices.flatMap((d) => d.assets ?? []);
  if (assets.length) generated.assets = assets;
  if (assets.length && o.operator) generated.setpoints = { issuers: [o.operator], ...HIL_SETPOINTS };
  return deepMerge(generated, agent.config);
}

/** `{status, details}` from the agent's status socket, or null when it does not answer. */
export function readStatus(path: string, timeoutMs = 2000): Promise<{ status: Obj; details: Obj } | null> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    let buf = '';
    s.setTimeout(timeoutMs, () => s.destroy());
    s.on('data', (d: Buffer) => (buf += d.toString()));
    s.on('end', () => {
      try {
        resolve(JSON.parse(buf) as { status: Obj; details: Obj });
      } catch {
        resolve(null);
      }
    });
    s.on('error', () => resolve(null));
    s.on('close', () => resolve(null));
  });
}

/** Resident set of a process, MB (`VmRSS` of /proc/PID/status), or null when it is gone. */
export function rssMB(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

interface Proc {
  pid: number;
  kill(signal: NodeJS.Signals): void;
  exited: Promise<number | null>;
  log(): string;
}

/** One agent of the run as a `lightnode agent` process, started and stopped as often as the timeline says. */
export class ProcessAgent implements HilAgent {
  readonly dir: string;
  readonly configPath: string;
  readonly socket: string;
  readonly db: string;
  readonly stepFile: string;
  /** The agent's stateDir (its working dir, or `fs/` in it for a tmpfs agent). */
  readonly stateDir: string;
  /** The tmpfs under its stateDir once `init()` mounted it (agents the timeline fills), else null. */
  tmpfs: Tmpfs | null = null;
  /** The clock step written so far, ms. */
  stepMs = 0;
  /** When the agent was up: from its status socket answering to its exit (wall ms; `toMs` null while it is). */
  readonly up: UpSpan[] = [];
  /** Exits not asked for (neither a kill nor a stop), with the end of their log. */
  readonly crashes: string[] = [];
  private proc: Proc | null = null;
  private starting: Promise<void> | null = null;
  private expectExit = false;
  private logs = '';

  /**
   * `config(dir, stateDir)` is the agent config; `tmpfsMiB` (a number) puts the stateDir on a tmpfs of that size,
   * mounted by `init()`.
   */
  constructor(
    readonly spec: ScenarioAgent,
    config: (dir: string, stateDir: string) => Obj,
    private readonly speed: number,
    private readonly tmpfsMiB: number | null = null,
  ) {
    const stateOf = (dir: string) => (tmpfsMiB === null ? dir : join(dir, 'fs'));
    const d = agentDir((dir) => config(dir, stateOf(dir)));
    this.dir = d.dir;
    this.configPath = d.configPath;
    this.stateDir = stateOf(d.dir);
    this.socket = join(d.dir, 'agent.sock');
    this.db = join(this.stateDir, 'outbox.db');
    this.stepFile = join(d.dir, 'clock-step');
    writeFileSync(this.stepFile, '0\n');
  }

  get id(): string {
    return this.spec.id;
  }
  get pid(): number | null {
    return this.proc?.pid ?? null;
  }
  get running(): boolean {
    return this.proc !== null;
  }

  /** The command prefix that runs a `lightnode` command where the agent's store is (its tmpfs namespace). */
  get wrap(): string[] {
    return this.tmpfs?.enter ?? [];
  }

  /** Generates the device key (once, before the first start). */
  async init(): Promise<void> {
    const r = await cli(['protocol', 'keygen', '--out', join(this.dir, 'device.key')]);
    if (r.code !== 0) throw new LightNodeError('IO_ERROR', `agent ${this.id}: protocol keygen failed: ${r.err}`);
  }

  /**
   * Mounts the tmpfs under the stateDir of an agent made with `tmpfsMiB` (once, before the first start; nothing for
   * the others). A tmpfs that cannot be made throws the injector's IO_ERROR naming its stage.
   */
  async mountTmpfs(): Promise<void> {
    if (this.tmpfsMiB !== null && !this.tmpfs)
      this.tmpfs = await Tmpfs.mount({ path: this.stateDir, sizeMiB: this.tmpfsMiB });
  }

  /** Stops the agent, then releases its tmpfs (the store on it is gone: read it before). */
  async dispose(): Promise<void> {
    await this.stop();
    await this.tmpfs?.dispose();
  }

  /** Starts the process and resolves once its status socket answers. */
  start(): Promise<void> {
    if (this.proc) return this.starting ?? Promise.resolve();
    const env: Record<string, string> = {
      LIGHTNODE_CLOCK: `stepFile=${this.stepFile}${this.speed !== 1 ? `,speed=${this.speed}` : ''}`,
    };
    if (this.spec.failpoints.length) env.LIGHTNODE_FAILPOINTS = this.spec.failpoints.join(',');
    const a = this.tmpfs ? this.tmpfs.startAgent(this.configPath, env) : startAgent(this.configPath, env);
    const proc: Proc = {
      pid: a.child.pid ?? -1,
      kill: (s) => a.child.kill(s),
      exited: a.exited,
      log: a.log,
    };
    this.proc = proc;
    let span: { fromMs: number; toMs: number | null } | null = null;
    void a.exited.then((code) => {
      if (span) span.toMs = Date.now();
      this.logs += proc.log();
      if (this.proc === proc) this.proc = null;
      if (!this.expectExit) this.crashes.push(`pid ${proc.pid} exited ${code}: ${proc.log().slice(-1500)}`);
    });
    this.starting = waitForStatusSocket(this.socket, a.exited).then(
      () => {
        this.starting = null;
        span = { fromMs: Date.now(), toMs: null };
        this.up.push(span);
      },
      (e: Error) => {
        this.starting = null;
        throw new LightNodeError('IO_ERROR', `agent ${this.id}: ${e.message}\n${proc.log().slice(-2000)}`, {
          agent: this.id,
        });
      },
    );
    return this.starting;
  }

  /** Waits for the agent to be up (a start in progress), then SIGKILLs it; resolves once it is gone. */
  async kill9(): Promise<string> {
    if (this.starting) await this.starting;
    const p = this.proc;
    if (!p) throw new LightNodeError('USAGE', `kill9 ${this.id}: the agent is not running`, { agent: this.id });
    this.expectExit = true;
    p.kill('SIGKILL');
    await p.exited;
    this.expectExit = false;
    return `SIGKILL pid ${p.pid}`;
  }

  /** Its process's resident set, MB (null while it is not running). */
  rssMB(): number | null {
    return this.proc ? rssMB(this.proc.pid) : null;
  }

  /** SIGTERM (the agent drains for up to 2 s); resolves with the exit code (null when it was not running). */
  async stop(): Promise<number | null> {
    if (this.starting) await this.starting.catch(() => undefined);
    const p = this.proc;
    if (!p) return null;
    this.expectExit = true;
    p.kill('SIGTERM');
    const timer = setTimeout(() => p.kill('SIGKILL'), 20_000);
    const code = await p.exited;
    clearTimeout(timer);
    this.expectExit = false;
    return code;
  }

  /** Steps the agent's clock by `stepS` more (the step file holds the total; re-read by the agent every second). */
  clockStep(stepS: number): number {
    this.stepMs += Math.round(stepS * 1000);
    writeFileSync(this.stepFile, `${this.stepMs}\n`);
    return this.stepMs;
  }

  /** Logs of every process so far and of the running one. */
  log(): string {
    return this.logs + (this.proc?.log() ?? '');
  }
}
