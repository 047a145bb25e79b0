/** `lightnode status`: asks the running agent over its local socket. */
import { join } from 'node:path';
import { LightNodeError, flagString, parseFlags, type Command } from '@lightnode/protocols';
import { loadAgentConfig } from '../agent/config-file.js';
import { queryStatusSocket } from '../agent/status.js';

const USAGE = `Usage: lightnode status (--config FILE | --socket PATH) [--json]

Asks the running agent (over the local socket named in its config, default <stateDir>/agent.sock) how it is:
meters and their health, outbox depth, oldest undelivered sample age, link state, time sync, the scheduled jobs
(schedule, last run and result, next run), alarms.`;

const status: Command = {
  summary: 'ask the running agent how it is',
  usage: USAGE,
  async run(argv, io) {
    const p = parseFlags(
      argv,
      { config: { type: 'string' }, socket: { type: 'string' }, json: { type: 'boolean' } },
      USAGE,
      false,
    );
    let socket = flagString(p, 'socket', USAGE);
    const cfg = flagString(p, 'config', USAGE);
    if (!socket && !cfg) throw new LightNodeError('USAGE', `give --config FILE or --socket PATH\n\n${USAGE}`);
    if (!socket) {
      const c = loadAgentConfig(cfg!);
      socket = c.status.socket ?? join(c.stateDir, 'agent.sock');
    }
    const r = await queryStatusSocket(socket);
    if (p.values.json) {
      io.stdout(JSON.stringify(r));
      return 0;
    }
    const s = r.status;
    const age =
      s.outbox?.oldestUndeliveredMs !== undefined
        ? `${Math.round((s.atMs - s.outbox.oldestUndeliveredMs) / 1000)} s`
        : '—';
    io.stdout(`device ${s.deviceId}: ${s.state}`);
    io.stdout(
      `  link     ${s.link?.state} since ${new Date(s.link?.since ?? 0).toISOString()} (MQTT ${s.link?.protocolVersion === 5 ? '5' : '3.1.1'})`,
    );
    io.stdout(
      `  outbox   ${s.outbox?.depthSamples} samples / ${s.outbox?.depthBatches} batches undelivered, oldest ${age}, ${s.outbox?.bytes} of ${s.outbox?.quotaBytes} B`,
    );
    for (const m of s.meters ?? [])
      io.stdout(
        `  meter    ${m.id}: ${m.quality}, ${m.errors} errors${m.latencyMs !== undefined ? `, ${m.latencyMs} ms` : ''}${m.lastGoodMs ? `, last good ${new Date(m.lastGoodMs).toISOString()}` : ''}`,
      );
    io.stdout(`  time     ${s.timeSync?.synchronized ? 'synchronized' : 'not known to be synchronized'}`);
    for (const j of jobLines(r.details.jobs)) io.stdout(`  job      ${j}`);
    for (const a of s.alarms ?? []) io.stdout(`  ALARM    ${a.code}: ${a.message}`);
    return 0;
  },
};
/** One line per scheduled job: name, schedule, last run and result, next run. */
export function jobLines(jobs: unknown): string[] {
  if (!Array.isArray(jobs)) return [];
  const iso = (ms: unknown): string => (typeof ms === 'number' ? new Date(ms).toISOString() : '—');
  return (jobs as JobLine[]).map((j) =>
    j.schedule === false
      ? `${j.name}: off`
      : `${j.name} (${j.schedule}): last ${iso(j.lastRunMs)} ${j.lastResult ?? 'never run'}, next ${iso(j.nextRunMs)}${j.skipped ? `, ${j.skipped} skipped (overlap)` : ''}`,
  );
}

interface JobLine {
  name: string;
  schedule: string | false;
  lastRunMs: number | null;
  lastResult: string | null;
  nextRunMs: number | null;
  skipped?: number;
}

export default status;
