/**
 * The seam between the job runner and time: a `JobScheduler` calls `fire` at each time a cron expression matches.
 * The agent's composition root uses node-cron (`nodeCronScheduler`, UTC); tests and simulated-time runs use
 * `clockScheduler` over an injected clock (a FakeClock drives it without real sleeps). Both follow `cron.ts`'s
 * meaning of an expression (node-cron's, for the subset the config schema accepts).
 */
import { schedule as cronSchedule, validate as cronValidate } from 'node-cron';
import { LightNodeError, nextCronMs, type Clock, type CronSpec, type Logger } from '@lightnode/protocols';

export interface JobScheduler {
  /** Calls `fire` at every match of `spec` until the returned cancel function is called. */
  schedule(spec: CronSpec, name: string, fire: () => void): () => void;
}

/** node-cron 4 (`schedule(expression, fn, {timezone: 'Etc/UTC'})`); its log lines go to `logger`. */
export function nodeCronScheduler(logger: Logger): JobScheduler {
  const log = logger.child({ component: 'node-cron' });
  return {
    schedule(spec, name, fire) {
      if (!cronValidate(spec.expression))
        throw new LightNodeError(
          'CONFIG_INVALID',
          `jobs.${name}: node-cron refuses the expression ${JSON.stringify(spec.expression)}`,
          { path: `jobs.${name}` },
        );
      const task = cronSchedule(spec.expression, () => fire(), {
        name,
        timezone: 'Etc/UTC',
        logger: {
          info: (m) => log.debug(m),
          warn: (m) => log.warn(m),
          error: (m, e) => log.error(String(m), e ? { error: e.message } : {}),
          debug: (m) => log.trace(String(m)),
        },
      });
      return () => void task.destroy();
    },
  };
}

/** Fires on the injected clock: one timer at a time, set to the next match after `clock.now()`. */
export function clockScheduler(clock: Clock): JobScheduler {
  return {
    schedule(spec, _name, fire) {
      let cancel: (() => void) | null = null;
      let cancelled = false;
      const arm = (): void => {
        const now = clock.now();
        const next = nextCronMs(spec, now);
        if (next === null || cancelled) return;
        cancel = clock.setTimer(next - now, () => {
          arm();
          fire();
        });
      };
      arm();
      return () => {
        cancelled = true;
        cancel?.();
      };
    },
  };
}
