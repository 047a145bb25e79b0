/**
 * The agent: polls the configured meters, commits each cycle's samples to the outbox (one transaction), seals closed
 * windows into signed batches, ships them over MQTT in order, publishes a retained status, answers `lightnode status`
 * on a local socket and talks to systemd (READY=1 once the store and drivers are up; WATCHDOG=1 only after a cycle
 * really completed).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import {
  builtinProfiles,
  lightNodeDomain,
  silentLogger,
  topics,
  type AgentConfig,
  type Clock,
  type Logger,
  type Quality,
  type SampleSource,
  type StatusDocument,
} from '@lightnode/protocols';
import { signerFromKeyFile } from '../keys/index.js';
import { ModbusLine, ModbusMeter, ModbusSerialTransport, type ModbusTransport } from '../modbus/index.js';
import { SqliteStore, type CycleReading } from '../store/index.js';
import { Uplink } from '../uplink/index.js';
import { Shipper } from './shipper.js';
import {
  AlfaChain2Transport,
  Chain2Source,
  HttpChain2Transport,
  SerialChain2Transport,
  WsChain2Transport,
} from '../chain2/index.js';

export interface AgentDeps {
  clock: Clock;
  logger?: Logger;
  /** Builds a line's transport (tests inject fakes). */
  transportFactory?: (line: AgentConfig['lines'][number]) => ModbusTransport;
  /** systemd notification (default: `systemd-notify` when NOTIFY_SOCKET is set). */
  notify?: (state: string) => void;
}

interface MeterSlot {
  meter: ModbusMeter;
  pollMs: number;
  nextDueMs: number;
  source: SampleSource;
  lastQuality?: string;
}

export function systemdNotify(env: NodeJS.ProcessEnv = process.env): (state: string) => void {
  if (!env.NOTIFY_SOCKET) return () => undefined;
  // Node cannot send unix datagrams; systemd-notify does (the unit needs NotifyAccess=all)
  return (state) => {
    const c = spawn('systemd-notify', state.split('\n'), { stdio: 'ignore' });
    c.on('error', () => undefined);
  };
}

export class Agent {
  private outbox!: SqliteStore;
  private uplink!: Uplink;
  private readonly lines: ModbusLine[] = [];
  private readonly meters: MeterSlot[] = [];
  private running = false;
  private polling = false;
  private cancelCycle: (() => void) | null = null;
  private cancelStatus: (() => void) | null = null;
  private statusServer: Server | null = null;
  private shipper: Shipper | null = null;
  private readonly chain2: Chain2Source[] = [];
  private readonly chain2Queue: CycleReading[] = [];
  private cycles = 0;
  private lastCycleMs?: number;
  private readonly log: Logger;
  private readonly notify: (s: string) => void;
  readonly socketPath: string;
  deviceId = '';

  constructor(
    readonly config: AgentConfig,
    private readonly deps: AgentDeps,
  ) {
    this.log = (deps.logger ?? silentLogger).child({ component: 'agent' });
    this.notify = deps.notify ?? systemdNotify();
    this.socketPath = config.status.socket ?? join(config.stateDir, 'agent.sock');
  }

  async start(): Promise<void> {
    const c = this.config;
    mkdirSync(c.stateDir, { recursive: true });
    const signer = signerFromKeyFile(c.keyFile ?? join(c.stateDir, 'device.key'));
    this.deviceId = signer.address;
    const domain = lightNodeDomain(c.chain.chainId, c.chain.keyRegister);
    this.outbox = SqliteStore.open({
      path: c.outbox.path ?? join(c.stateDir, 'outbox.db'),
      seqFile: join(c.stateDir, 'seq.hwm'),
      signer,
      domain,
      podId: c.podId,
      clock: this.deps.clock,
      quotaBytes: c.outbox.quotaBytes,
      windowMs: c.batch.windowMs,
      logger: this.log,
    });
    const recovered = this.outbox.stats().recovered;
    if (recovered) this.log.error('the outbox database was corrupt: moved aside and a fresh one opened', recovered);
    const profiles = builtinProfiles();
    for (const l of c.lines) {
      const transport =
        this.deps.transportFactory?.(l) ??
        new ModbusSerialTransport('tcp' in l.transport ? { tcp: l.transport.tcp } : { rtu: l.transport.rtu });
      const line = new ModbusLine(transport, {
        clock: this.deps.clock,
        logger: this.log,
        ...('rtu' in l.transport ? { baud: l.transport.rtu.baud } : {}),
        ...(l.interFrameGapMs !== undefined ? { interFrameGapMs: l.interFrameGapMs } : {}),
      });
      this.lines.push(line);
      for (const m of l.meters) {
        const profile = profiles.get(m.profile);
        const device = line.addDevice({
          name: m.id,
          unit: m.unit ?? profile.transport.unitId ?? 1,
          timeoutMs: m.timeoutMs ?? profile.transport.timeoutMs ?? 300,
          retries: m.retries,
          turnaroundMs: profile.transport.turnaroundMs ?? 0,
        });
        this.meters.push({
          meter: new ModbusMeter({ id: m.id, profile, device, clock: this.deps.clock, raw: m.raw }),
          pollMs: m.pollMs,
          nextDueMs: 0,
          source: 'tcp' in l.transport ? 'modbus-tcp' : 'modbus-rtu',
        });
      }
    }
    for (const c2 of c.chain2) {
      const src = new Chain2Source({
        name: c2.name,
        transport: c2.ws
          ? new WsChain2Transport({ url: c2.ws, clock: this.deps.clock, logger: this.log })
          : c2.http
            ? new HttpChain2Transport({ baseUrl: c2.http, clock: this.deps.clock, pollMs: c2.pollMs, logger: this.log })
            : c2.serial
              ? new SerialChain2Transport({ path: c2.serial.path, baud: c2.serial.baud, logger: this.log })
              : new AlfaChain2Transport({
                  host: c2.alfa!.host,
                  port: c2.alfa!.port,
                  unit: c2.alfa!.unit,
                  clock: this.deps.clock,
                  pollMs: c2.pollMs,
                  logger: this.log,
                  meter: c2.meters[0]!,
                }),
        podId: c.podId,
        meters: c2.meters,
        logger: this.log,
        now: () => this.deps.clock.now(),
        onReading: (r) => this.chain2Queue.push({ tsMs: r.tsMs, source: 'chain2', values: r.values }),
      });
      this.chain2.push(src);
    }
    this.uplink = new Uplink({
      url: c.uplink.url,
      deviceId: this.deviceId,
      clock: this.deps.clock,
      logger: this.log,
      keepaliveS: c.uplink.keepaliveS,
      protocolVersion: c.uplink.protocolVersion,
      reconnectBaseMs: c.uplink.reconnectBaseMs,
      reconnectMaxMs: c.uplink.reconnectMaxMs,
      ...(c.uplink.clientId ? { clientId: c.uplink.clientId } : {}),
      ...(c.uplink.username !== undefined ? { username: c.uplink.username } : {}),
      ...(c.uplink.password !== undefined ? { password: c.uplink.password } : {}),
      ...(c.uplink.caFile ? { caFile: c.uplink.caFile } : {}),
      ...(c.uplink.certFile ? { certFile: c.uplink.certFile } : {}),
      ...(c.uplink.keyFile ? { keyFile: c.uplink.keyFile } : {}),
      onConnect: () => {
        this.shipper?.reset();
        void this.publishStatus();
        this.ship();
      },
    });
    this.shipper = new Shipper(this.outbox, this.uplink, this.deviceId, c.uplink.inflight);
    await this.startStatusServer();
    this.running = true;
    this.polling = true;
    this.uplink.start();
    for (const src of this.chain2) src.start();
    this.notify(`READY=1\nSTATUS=polling ${this.meters.length} meter(s), device ${this.deviceId}`);
    this.log.info('agent started', {
      deviceId: this.deviceId,
      meters: this.meters.length,
      nextSeq: this.outbox.nextSeq,
    });
    this.scheduleCycle(0);
    const every = c.status.publishEveryMs;
    const tick = (): void => {
      void this.publishStatus();
      this.cancelStatus = this.deps.clock.setTimer(every, tick);
    };
    this.cancelStatus = this.deps.clock.setTimer(every, tick);
  }

  private scheduleCycle(delayMs: number): void {
    if (!this.polling) return;
    this.cancelCycle = this.deps.clock.setTimer(delayMs, () => {
      void this.cycle().then((nextIn) => this.scheduleCycle(nextIn));
    });
  }

  /** One poll cycle: read the due meters, commit their samples in one transaction, seal closed windows, ship. */
  async cycle(): Promise<number> {
    const now = this.deps.clock.now();
    const due = this.meters.filter((m) => m.nextDueMs <= now);
    const readings: CycleReading[] = this.chain2Queue.splice(0);
    const results = await Promise.all(due.map((m) => m.meter.read()));
    results.forEach((r, i) => {
      const slot = due[i]!;
      slot.nextDueMs += slot.pollMs;
      if (slot.nextDueMs <= now) slot.nextDueMs = now + slot.pollMs;
      slot.lastQuality = Object.values(r.values).some((v) => v.quality === 'good') ? 'good' : 'invalid';
      readings.push({ tsMs: r.tsMs, source: slot.source, values: r.values, ...(r.raw ? { raw: r.raw } : {}) });
    });
    if (!this.polling) return 0;
    try {
      this.outbox.commitCycle(readings);
      this.outbox.sealDue();
    } catch (e) {
      this.log.error('outbox write failed', { error: (e as Error).message });
      return 1000;
    }
    this.cycles++;
    this.lastCycleMs = this.deps.clock.now();
    this.notify('WATCHDOG=1');
    this.ship();
    const nextDue = Math.min(now + 1000, ...this.meters.map((m) => m.nextDueMs));
    return Math.max(0, nextDue - this.deps.clock.now());
  }

  private ship(): void {
    if (this.running) this.shipper?.kick();
  }

  status(): StatusDocument {
    const s = this.outbox.stats();
    const alarms: NonNullable<StatusDocument['alarms']> = [];
    if (s.fullSinceMs !== undefined)
      alarms.push({
        code: 'OUTBOX_FULL',
        message: `disk quota ${s.quotaBytes} B reached: oldest undelivered batches replaced by signed gaps (${s.evictedSamples} samples evicted)`,
        sinceMs: s.fullSinceMs,
      });
    if (s.recovered)
      alarms.push({
        code: 'OUTBOX_CORRUPT',
        message: `corrupt outbox moved to ${s.recovered.movedTo}: ${s.recovered.reason}`,
        sinceMs: this.uplink.since,
      });
    if (this.uplink.lastError?.code === 'UPLINK_AUTH')
      alarms.push({ code: 'UPLINK_AUTH', message: this.uplink.lastError.message, sinceMs: this.uplink.since });
    const health = new Map(this.lines.flatMap((l) => l.health().devices.map((d) => [d.name, d] as const)));
    return {
      v: 1,
      deviceId: this.deviceId,
      state: alarms.length || this.meters.some((m) => m.lastQuality === 'invalid') ? 'degraded' : 'online',
      atMs: this.deps.clock.now(),
      meters: [
        ...this.chain2.map((src, i) => {
          const st = src.stats();
          const quality: Quality = st.readings > 0 && st.transport.state === 'connected' ? 'good' : 'invalid';
          return {
            id: `chain2:${this.config.chain2[i]!.name}`,
            quality,
            errors: st.undecodable + (st.diagnostics.CHAIN2_GAP ?? 0),
          };
        }),
        ...this.meters.map((m) => {
          const h = health.get(m.meter.id);
          return {
            id: m.meter.id,
            quality: (m.lastQuality ?? 'invalid') as 'good' | 'invalid',
            errors: h?.failures ?? 0,
            ...(h?.lastGoodMs !== undefined ? { lastGoodMs: h.lastGoodMs } : {}),
            ...(h?.lastLatencyMs !== undefined ? { latencyMs: Math.round(h.lastLatencyMs * 10) / 10 } : {}),
          };
        }),
      ],
      outbox: {
        depthSamples: s.undeliveredSamples,
        depthBatches: s.undeliveredBatches,
        ...(s.oldestUndeliveredTsMs !== undefined ? { oldestUndeliveredMs: s.oldestUndeliveredTsMs } : {}),
        bytes: s.bytes,
        quotaBytes: s.quotaBytes,
      },
      link: { state: this.uplink.state, since: this.uplink.since, protocolVersion: this.uplink.protocolVersion },
      timeSync: { synchronized: existsSync('/run/systemd/timesync/synchronized'), source: 'systemd-timesyncd' },
      ...(alarms.length ? { alarms } : {}),
    };
  }

  /** Extra figures for `lightnode status` (not on the wire). */
  details(): Record<string, unknown> {
    return {
      chain2: Object.fromEntries(this.chain2.map((src, i) => [this.config.chain2[i]!.name, src.stats()])),
      cycles: this.cycles,
      lastCycleMs: this.lastCycleMs,
      nextSeq: this.outbox.nextSeq,
      outbox: this.outbox.stats(),
      lines: this.lines.map((l) => l.health()),
      uplinkBytes: { out: this.uplink.bytesOut, in: this.uplink.bytesIn },
    };
  }

  private async publishStatus(): Promise<void> {
    if (this.uplink.state !== 'connected') return;
    await this.uplink
      .publish(topics.status(this.deviceId), JSON.stringify(this.status()), { qos: 1, retain: true })
      .catch(() => undefined);
  }

  private async startStatusServer(): Promise<void> {
    if (existsSync(this.socketPath)) rmSync(this.socketPath, { force: true });
    this.statusServer = createServer((sock) => {
      sock.on('error', () => undefined);
      sock.end(JSON.stringify({ status: this.status(), details: this.details() }) + '\n');
    });
    await new Promise<void>((resolve, reject) => {
      this.statusServer!.once('error', reject);
      this.statusServer!.listen(this.socketPath, () => resolve());
    });
  }

  /** Stops polling, seals what was read and ships it for up to `drainMs`, then closes everything. */
  async stop(opts: { drainMs?: number } = {}): Promise<void> {
    this.polling = false;
    this.notify('STOPPING=1');
    this.cancelCycle?.();
    this.cancelStatus?.();
    try {
      if (this.chain2Queue.length) this.outbox.commitCycle(this.chain2Queue.splice(0));
      if (this.uplink.state === 'connected') await this.drain(opts.drainMs ?? 0);
      else this.outbox.sealDue(true);
    } catch (e) {
      this.log.error('sealing at stop failed', { error: (e as Error).message });
    }
    this.running = false;
    this.shipper?.stop();
    await this.uplink.stop();
    for (const l of this.lines) await l.close();
    for (const src of this.chain2) await src.stop();
    await new Promise<void>((resolve) => (this.statusServer ? this.statusServer.close(() => resolve()) : resolve()));
    rmSync(this.socketPath, { force: true });
    this.outbox.close();
    this.log.info('agent stopped', { cycles: this.cycles });
  }

  /** Seals everything and waits until the outbox is empty or `timeoutMs` passes (tests, graceful drains). */
  async drain(timeoutMs: number): Promise<boolean> {
    const until = this.deps.clock.monotonic() + timeoutMs;
    this.outbox.sealDue(true);
    for (;;) {
      this.ship();
      const s = this.outbox.stats();
      if (s.undeliveredBatches === 0 && s.undeliveredGaps === 0 && s.unsealedSamples === 0) return true;
      if (this.deps.clock.monotonic() > until) return false;
      await this.deps.clock.sleep(50);
    }
  }
}
