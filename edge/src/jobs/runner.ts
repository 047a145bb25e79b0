/**
 * The agent's scheduled jobs: each a name, a schedule (a cron expression or `false`) and an async run. Runs never
 * overlap (a job still running when its next time comes is skipped, and the skip counted); each run's result is kept
 * (`lastRunMs`, `lastResult`, the error), the next run time is computed from the expression (`nextCronMs`), and a
 * failed job raises `JOB_FAILED` (naming the job and the error) until its next successful run. A job may raise its
 * own alarms (DISK_LOW, CERT_EXPIRES_SOON): they stand until its next successful run replaces them.
 */
import {
  parseCron,
  silentLogger,
  nextCronMs,
  type Clock,
  type CronSpec,
  type Logger,
  type StatusDocument,
} from '@lightnode/protocols';
import type { JobScheduler } from './scheduler.js';

export type Alarm = NonNullable<StatusDocument['alarms']>[number];

export interface JobContext {
  /** Wall clock, UTC epoch ms. */
  now(): number;
  /** Aborted when the runner stops: a job stops its downloads and returns. */
  signal: AbortSignal;
}

/** What a run tells: figures for `details.jobs[].details`, alarms it raises (code and message). */
export interface JobOutcome {
  details?: Record<string, unknown>;
  alarms?: { code: Alarm['code']; message: string }[];
}

export interface JobDefinition {
  name: string;
  /** A cron expression (five or six fields, UTC) or `false` (off: listed, never run). */
  schedule: string | false;
  run(ctx: JobContext): Promise<JobOutcome | void>;
}

export interface JobStatus {
  name: string;
  schedule: string | false;
  lastRunMs: number | null;
  lastResult: 'ok' | 'error' | null;
  nextRunMs: number | null;
  running: boolean;
  runs: number;
  /** Times it came due while the previous run was still going (skipped). */
  skipped: number;
  lastDurationMs?: number;
  lastError?: string;
  details?: Record<string, unknown>;
}

interface JobState {
  def: JobDefinition;
  spec: CronSpec | null;
  cancel: (() => void) | null;
  running: Promise<void> | null;
  runs: number;
  skipped: number;
  lastRunMs: number | null;
  lastResult: 'ok' | 'error' | null;
  lastDurationMs?: number;
  lastError?: string;
  failingSinceMs?: number;
  details?: Record<string, unknown>;
  alarms: Alarm[];
}

export interface JobRunnerOptions {
  jobs: readonly JobDefinition[];
  scheduler: JobScheduler;
  clock: Clock;
  logger?: Logger;
}

export class JobRunner {
  private readonly jobs: JobState[];
  private readonly log: Logger;
  private abort = new AbortController();
  private started = false;

  constructor(private readonly o: JobRunnerOptions) {
    this.log = (o.logger ?? silentLogger).child({ component: 'jobs' });
    this.jobs = o.jobs.map((def) => ({
      def,
      spec: def.schedule === false ? null : parseCron(def.schedule),
      cancel: null,
      running: null,
      runs: 0,
      skipped: 0,
      lastRunMs: null,
      lastResult: null,
      alarms: [],
    }));
  }

  /** Schedules every job that has a schedule. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.abort = new AbortController();
    for (const j of this.jobs)
      if (j.spec) j.cancel = this.o.scheduler.schedule(j.spec, j.def.name, () => void this.fire(j));
  }

  /** Unschedules every job, aborts the running ones and waits for them to return. */
  async stop(): Promise<void> {
    this.started = false;
    for (const j of this.jobs) {
      j.cancel?.();
      j.cancel = null;
    }
    this.abort.abort(new Error('the agent is stopping'));
    await Promise.all(this.jobs.flatMap((j) => (j.running ? [j.running] : [])));
  }

  /** Runs a job now, as its schedule would (skipped when it is still running). Resolves when that run ended. */
  async runNow(name: string): Promise<void> {
    const j = this.jobs.find((x) => x.def.name === name);
    if (!j) throw new Error(`no job named ${JSON.stringify(name)}`);
    await this.fire(j);
  }

  private fire(j: JobState): Promise<void> {
    if (j.running) {
      j.skipped++;
      this.log.warn('job still running at its next time: this run skipped', { job: j.def.name, skipped: j.skipped });
      return Promise.resolve();
    }
    j.running = this.execute(j).finally(() => (j.running = null));
    return j.running;
  }

  private async execute(j: JobState): Promise<void> {
    const clock = this.o.clock;
    const startMs = clock.now();
    const mono = clock.monotonic();
    j.runs++;
    try {
      const out = (await j.def.run({ now: () => clock.now(), signal: this.abort.signal })) ?? {};
      j.lastResult = 'ok';
      delete j.lastError;
      delete j.failingSinceMs;
      if (out.details) j.details = out.details;
      else delete j.details;
      j.alarms = (out.alarms ?? []).map((a) => ({
        ...a,
        sinceMs: j.alarms.find((b) => b.code === a.code && b.message === a.message)?.sinceMs ?? startMs,
      }));
      this.log.debug('job done', { job: j.def.name });
    } catch (e) {
      j.lastResult = 'error';
      j.lastError = e instanceof Error ? e.message : String(e);
      j.failingSinceMs ??= startMs;
      this.log.error('job failed', { job: j.def.name, error: j.lastError });
    } finally {
      j.lastRunMs = startMs;
      j.lastDurationMs = Math.round(clock.monotonic() - mono);
    }
  }

  /** One entry per job, in definition order (`details.jobs` of `lightnode status`). */
  status(): JobStatus[] {
    const now = this.o.clock.now();
    return this.jobs.map((j) => ({
      name: j.def.name,
      schedule: j.def.schedule,
      lastRunMs: j.lastRunMs,
      lastResult: j.lastResult,
      nextRunMs: j.spec ? nextCronMs(j.spec, now) : null,
      running: j.running !== null,
      runs: j.runs,
      skipped: j.skipped,
      ...(j.lastDurationMs !== undefined ? { lastDurationMs: j.lastDurationMs } : {}),
      ...(j.lastError !== undefined ? { lastError: j.lastError } : {}),
      ...(j.details ? { details: j.details } : {}),
    }));
  }

  /** JOB_FAILED for each job whose last run failed, and the alarms the jobs' last successful runs raised. */
  alarms(): Alarm[] {
    return this.jobs.flatMap((j) => [
      ...(j.lastResult === 'error'
        ? [
            {
              code: 'JOB_FAILED' as const,
              message: `job ${j.def.name} failed: ${j.lastError ?? 'unknown error'}`,
              sinceMs: j.failingSinceMs ?? j.lastRunMs ?? 0,
            },
          ]
        : []),
      ...j.alarms,
    ]);
  }
}
