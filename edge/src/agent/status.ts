/**
 * The agent's status: the retained `status` document (wire, protocols' StatusDocument) and the extra `details` of
 * `lightnode status --json` (`{status, details}` on the local socket), built from the parts' own stats: sources'
 * health, the store, the loop, the link, systemd, the scheduled jobs. Alarms are error codes: OUTBOX_FULL,
 * OUTBOX_CORRUPT, OUTBOX_WRITE_FAILED, UPLINK_AUTH, FAILPOINTS_ACTIVE (a test knob), and the jobs' JOB_FAILED, DISK_LOW, CERT_EXPIRES_SOON.
 */
import { chmodSync, existsSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { LightNodeError, type StatusDocument } from '@lightnode/protocols';
import type { Link } from '../link/link.js';
import type { MeterSource } from '../sources/index.js';
import type { Store } from '../store/index.js';
import type { JobStatus } from '../jobs/runner.js';
import type { AgentLoop } from './loop.js';
import type { SystemdNotifier } from './systemd.js';

export interface StatusParts {
  deviceId: string;
  store: Store;
  link: Link;
  loop: AgentLoop;
  sources: readonly MeterSource[];
  systemd: SystemdNotifier;
  now: () => number;
  startedMs: number;
  /** The setpoint controller, when configured (`details.setpoints`). */
  setpoints?: { status(): unknown };
  /** The scheduled jobs (`details.jobs`; JOB_FAILED, DISK_LOW, CERT_EXPIRES_SOON alarms). */
  jobs?: { status(): JobStatus[]; alarms(): Alarm[] };
  /** Remote configuration, when configured: `status.config` and `details.config` (its status and history). */
  config?: { status(): NonNullable<StatusDocument['config']>; details(): unknown };
}

type Alarm = NonNullable<StatusDocument['alarms']>[number];

export function alarms(p: StatusParts): Alarm[] {
  const s = p.store.stats();
  const out: Alarm[] = [];
  if (s.fullSinceMs !== undefined)
    out.push({
      code: 'OUTBOX_FULL',
      message: `disk quota ${s.quotaBytes} B reached: oldest undelivered batches replaced by signed gaps (${s.evictedSamples} samples evicted)`,
      sinceMs: s.fullSinceMs,
    });
  const wf = p.loop.writeFailure;
  if (wf)
    out.push({
      code: 'OUTBOX_WRITE_FAILED',
      message: `${wf.message} (${p.loop.stats().heldSamples} reading(s) held in memory)`,
      sinceMs: wf.sinceMs,
    });
  if (s.recovered)
    out.push({
      code: 'OUTBOX_CORRUPT',
      message: `corrupt outbox moved to ${s.recovered.movedTo}: ${s.recovered.reason}`,
      sinceMs: p.startedMs,
    });
  if (s.failpoints?.length)
    out.push({
      code: 'FAILPOINTS_ACTIVE',
      message: `test failpoints set: ${s.failpoints.join(', ')} (LIGHTNODE_FAILPOINTS): deliberate bugs, never in production`,
      sinceMs: p.startedMs,
    });
  const ls = p.link.stats();
  if (ls.lastError?.code === 'UPLINK_AUTH')
    out.push({ code: 'UPLINK_AUTH', message: ls.lastError.message, sinceMs: p.link.since });
  if (p.jobs) out.push(...p.jobs.alarms());
  return out;
}

export function statusDocument(p: StatusParts): StatusDocument {
  const s = p.store.stats();
  const al = alarms(p);
  const meters = p.sources.map((src) => {
    const h = src.health();
    return {
      id: h.id,
      quality: h.quality,
      errors: h.errors,
      ...(h.lastGoodMs !== undefined ? { lastGoodMs: h.lastGoodMs } : {}),
      ...(h.latencyMs !== undefined ? { latencyMs: h.latencyMs } : {}),
    };
  });
  const ls = p.link.stats();
  return {
    v: 1,
    deviceId: p.deviceId,
    state: al.length || meters.some((m) => m.quality !== 'good') ? 'degraded' : 'online',
    atMs: p.now(),
    meters,
    outbox: {
      depthSamples: s.undeliveredSamples,
      depthBatches: s.undeliveredBatches,
      ...(s.oldestUndeliveredTsMs !== undefined ? { oldestUndeliveredMs: s.oldestUndeliveredTsMs } : {}),
      bytes: s.bytes,
      quotaBytes: s.quotaBytes,
    },
    link: { state: ls.state, since: ls.since, protocolVersion: ls.protocolVersion },
    timeSync: { synchronized: existsSync('/run/systemd/timesync/synchronized'), source: 'systemd-timesyncd' },
    ...(al.length ? { alarms: al } : {}),
    ...(p.config ? { config: p.config.status() } : {}),
  };
}

/** The `STATUS=` text for systemd: the state and the alarm codes (sent when it changes). */
export function statusLine(doc: StatusDocument): string {
  const codes = (doc.alarms ?? []).map((a) => a.code);
  return `${doc.state}${codes.length ? ` (alarms: ${codes.join(', ')})` : ''}; ${doc.meters?.length ?? 0} meter(s), device ${doc.deviceId}`;
}

/** Extra figures for `lightnode status` (not on the wire). */
export function statusDetails(p: StatusParts, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const loop = p.loop.stats();
  const ls = p.link.stats();
  const store = p.store.stats();
  return {
    cycles: loop.cycles,
    lastCycleMs: loop.lastCycleMs,
    nextSeq: store.nextSeq,
    loop,
    outbox: store,
    sources: p.sources.map((s) => s.health()),
    // Chain 2 sources by name (transport, diagnostics, gaps), as before the sources were one interface
    chain2: Object.fromEntries(
      p.sources.filter((s) => s.id.startsWith('chain2:')).map((s) => [s.id.slice(7), s.health().details]),
    ),
    link: ls,
    uplinkBytes: { out: ls.bytesOut, in: ls.bytesIn },
    systemd: p.systemd.stats(),
    ...(p.setpoints ? { setpoints: p.setpoints.status() } : {}),
    ...(p.jobs ? { jobs: p.jobs.status() } : {}),
    ...(p.config ? { config: p.config.details() } : {}),
    ...extra,
  };
}

/** The local socket `lightnode status` asks: one JSON line `{status, details}` per connection. */
export class StatusServer {
  private server: Server | null = null;
  constructor(
    readonly socketPath: string,
    private readonly answer: () => { status: StatusDocument; details: Record<string, unknown> },
  ) {}

  async start(): Promise<void> {
    if (existsSync(this.socketPath)) rmSync(this.socketPath, { force: true });
    const server = createServer((sock) => {
      sock.on('error', () => undefined);
      sock.end(JSON.stringify(this.answer()) + '\n');
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.socketPath, () => resolve());
    });
    // 0660 whatever the umask (the unit's UMask=0027): `lightnode status` by root or a member of the agent's group
    chmodSync(this.socketPath, 0o660);
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    rmSync(this.socketPath, { force: true });
  }
}

/** Asks a running agent over its status socket: `{status, details}`; AGENT_UNREACHABLE when none answers. */
export async function queryStatusSocket(
  socket: string,
  timeoutMs = 5000,
): Promise<{ status: StatusDocument; details: Record<string, unknown> }> {
  const text = await new Promise<string>((resolve, reject) => {
    const s = createConnection(socket);
    let buf = '';
    s.setTimeout(timeoutMs, () => s.destroy(new Error(`no answer in ${timeoutMs / 1000} s`)));
    s.on('data', (d) => (buf += d.toString()));
    s.on('end', () => resolve(buf));
    s.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        new LightNodeError(
          'AGENT_UNREACHABLE',
          `no agent answers on ${socket} (${e.code ?? e.message}): is it running?`,
          {
            socket,
          },
        ),
      ),
    );
  });
  return JSON.parse(text) as { status: StatusDocument; details: Record<string, unknown> };
}
