/**
 * What the runner and the timeline's actions use of an agent, whatever runs it: a `lightnode agent` process
 * (`ProcessAgent`, agents.ts) or the edge agent inside the runner's process (`InProcessAgent`, agent-inprocess.ts).
 */
import type { Tmpfs } from './disk.js';
import type { ScenarioAgent } from './scenario.js';

/** When an agent was up: from its status socket answering to its end (wall ms; `toMs` null while it is up). */
export interface UpSpan {
  fromMs: number;
  toMs: number | null;
}

export interface HilAgent {
  readonly spec: ScenarioAgent;
  readonly id: string;
  /** Its working dir (config, key, status socket); removed by the runner at the end. */
  readonly dir: string;
  /** Its agent config file (generated from its devices, the scenario's `config` merged over it). */
  readonly configPath: string;
  /** Its status socket (`lightnode status` reads it; the runner samples it every second). */
  readonly socket: string;
  /** Its outbox database (read with `lightnode buffer …` once the agent stopped). */
  readonly db: string;
  /** The command prefix that runs a `lightnode` command where the agent's store is (empty but for a tmpfs agent). */
  readonly wrap: string[];
  /** The tmpfs under its stateDir (agents a disk-full fills), else null. */
  readonly tmpfs: Tmpfs | null;
  readonly running: boolean;
  /** Its process id while it runs (null when it is not running, or runs in the runner's process). */
  readonly pid: number | null;
  readonly up: UpSpan[];
  /** Ends not asked for (neither a kill nor a stop), with the end of their log. */
  readonly crashes: string[];
  /** Generates the device key (once, before the first start). */
  init(): Promise<void>;
  /** Mounts the tmpfs of an agent a disk-full fills (once, before the first start; nothing for the others). */
  mountTmpfs(): Promise<void>;
  /** Starts it; resolves once its status socket answers. */
  start(): Promise<void>;
  /** Stops it gracefully (the agent drains for up to 2 s); the exit code, null when it was not running. */
  stop(): Promise<number | null>;
  /** Waits for a start in progress, then ends it abruptly; resolves once it is gone with what was done (an event). */
  kill9(): Promise<string>;
  /** Steps its wall clock by `stepS` more; returns the total step, ms (its status shows it as `details.clock.stepMs`). */
  clockStep(stepS: number): number;
  /** The resident set the agent lives in, MB (its process; the runner's own for an in-process agent), or null. */
  rssMB(): number | null;
  /** Its log so far (every start). */
  log(): string;
  /** Stops it and releases what `init` / `mountTmpfs` made. */
  dispose(): Promise<void>;
}
