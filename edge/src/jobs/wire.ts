/**
 * The agent's four jobs from its config (`jobs.*`, `outbox.keepDeliveredDays`, `updates.*`, `uplink.certFile` /
 * `caFile`). `updateCheck` is off (`schedule: false`) without `updates.indexUrl`.
 */
import type Database from 'better-sqlite3';
import type { AgentConfig, Clock, Logger } from '@lightnode/protocols';
import { expiryCheck, type CertFile } from './expiry-check.js';
import { housekeeping, type HousekeepingOptions } from './housekeeping.js';
import { outboxMaintenance } from './outbox-maintenance.js';
import { JobRunner, type JobDefinition } from './runner.js';
import type { JobScheduler } from './scheduler.js';
import { ownRelease, updateCheck } from './update-check.js';

export interface JobsDeps {
  clock: Clock;
  logger: Logger;
  scheduler: JobScheduler;
  /** The store's SQLite connection (null: a store without a file). */
  db: Database.Database | null;
  /** `LIGHTNODE_RELEASE` (our own release directory). */
  env: NodeJS.ProcessEnv;
  /** Tests: statfs and time sync of the housekeeping job. */
  housekeeping?: Pick<HousekeepingOptions, 'statfs' | 'timeSync'>;
}

export function jobDefinitions(c: AgentConfig, d: JobsDeps): JobDefinition[] {
  const certs: CertFile[] = [
    ...(c.uplink.certFile ? [{ key: 'uplink.certFile', path: c.uplink.certFile }] : []),
    ...(c.uplink.caFile ? [{ key: 'uplink.caFile', path: c.uplink.caFile }] : []),
  ];
  const indexUrl = c.updates.indexUrl;
  return [
    {
      name: 'housekeeping',
      schedule: c.jobs.housekeeping,
      run: () => housekeeping({ stateDir: c.stateDir, ...d.housekeeping }),
    },
    {
      name: 'outboxMaintenance',
      schedule: c.jobs.outboxMaintenance,
      run: (ctx) =>
        Promise.resolve(outboxMaintenance(d.db, { keepDeliveredDays: c.outbox.keepDeliveredDays, nowMs: ctx.now() })),
    },
    {
      name: 'expiryCheck',
      schedule: c.jobs.expiryCheck,
      run: (ctx) =>
        Promise.resolve(
          certs.length ? expiryCheck(certs, ctx.now()) : { details: { skipped: 'no uplink.certFile or caFile' } },
        ),
    },
    {
      name: 'updateCheck',
      schedule: indexUrl ? c.jobs.updateCheck : false,
      run: (ctx) =>
        indexUrl
          ? updateCheck({
              indexUrl,
              stateDir: c.stateDir,
              release: ownRelease(d.env),
              maxBytesPerDay: c.updates.maxBytesPerDay,
              now: () => ctx.now(),
              signal: ctx.signal,
            })
          : Promise.resolve({ details: { skipped: 'no updates.indexUrl' } }),
    },
  ];
}

export function wireJobs(c: AgentConfig, d: JobsDeps): JobRunner {
  return new JobRunner({ jobs: jobDefinitions(c, d), scheduler: d.scheduler, clock: d.clock, logger: d.logger });
}
