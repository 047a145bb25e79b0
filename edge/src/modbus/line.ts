/**
 * The bus scheduler: one per RS-485 line (or per Modbus TCP connection), shared by every device on it.
 * - exactly one request in flight; a configurable inter-frame gap (t3.5 by default on RTU) between transactions,
 *   plus a device's turnaround pause when the next request addresses another device;
 * - writes before reads (two priority queues, FIFO within each);
 * - per-device timeout and retries; after a transaction fails (all retries), the device **backs off** exponentially
 *   (base × 2^(n−1), capped, with full jitter): while backing off its requests are refused at once with
 *   DEVICE_UNAVAILABLE and take no bus time, and when the backoff expires it gets one probe (no retries): a dead
 *   device costs the others at most (retries + 1) × timeout once, then one timeout per backoff period;
 * - per-device health (last good read, error counts by code, latency) and per-bus time accounting.
 */
import {
  LightNodeError,
  backoff as backoffDelay,
  isLightNodeError,
  rtuTiming,
  silentLogger,
  type Clock,
  type Logger,
} from '@lightnode/protocols';
import type { ModbusTransport } from './transport.js';

export interface LineOptions {
  clock: Clock;
  logger?: Logger;
  /** Silence between two transactions, ms. Default: t3.5 of the baud rate on RTU (≥ 1.75 ms), 0 on TCP. */
  interFrameGapMs?: number;
  /** Baud rate (RTU) for the default gap. */
  baud?: number;
  /** Random source for backoff jitter (tests inject a fixed one). */
  random?: () => number;
}

export interface DeviceOptions {
  /** A name for logs and health (e.g. `meter-1`). */
  name: string;
  unit: number;
  /** Per-request timeout, ms (default 300). */
  timeoutMs?: number;
  /** Retries after a failed attempt (default 1). */
  retries?: number;
  /** Backoff after a failed transaction: base and cap, ms (default 1000 / 60000). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Pause after talking to this device before addressing another one (some meters need it), ms. */
  turnaroundMs?: number;
}

export interface DeviceHealth {
  name: string;
  unit: number;
  state: 'ok' | 'failing' | 'backoff';
  lastGoodMs?: number;
  requests: number;
  failures: number;
  consecutiveFailures: number;
  errors: Record<string, number>;
  lastLatencyMs?: number;
  avgLatencyMs?: number;
  busMs: number;
  backoffUntilMs?: number;
}

export interface LineHealth {
  endpoint: string;
  transactions: number;
  busMs: number;
  gapMs: number;
  devices: DeviceHealth[];
}

type Job = {
  dev: DeviceState;
  run: () => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
};

interface DeviceState {
  opts: Required<Omit<DeviceOptions, 'turnaroundMs'>> & { turnaroundMs: number };
  health: DeviceHealth;
  latencySum: number;
  backoffUntilMono: number;
}

export class ModbusLine {
  private readonly writes: Job[] = [];
  private readonly reads: Job[] = [];
  private readonly devices = new Map<string, DeviceState>();
  private pumping = false;
  private lastEndMono = -Infinity;
  private lastDevice: DeviceState | null = null;
  private transactions = 0;
  private busMs = 0;
  private gapTotalMs = 0;
  private closed = false;
  /** The job on the wire, rejected by `close()` without waiting for the device. */
  private current: Job | null = null;
  readonly gapMs: number;
  private readonly log: Logger;
  private readonly random: () => number;

  constructor(
    readonly transport: ModbusTransport,
    private readonly opts: LineOptions,
  ) {
    this.gapMs = opts.interFrameGapMs ?? (transport.kind === 'rtu' ? rtuTiming(opts.baud ?? 9600).t35Ms : 0);
    this.log = (opts.logger ?? silentLogger).child({ component: 'modbus-line', endpoint: transport.endpoint });
    this.random = opts.random ?? Math.random;
  }

  /** Registers a device on this line; returns its request handle. */
  addDevice(o: DeviceOptions): LineDevice {
    if (this.devices.has(o.name))
      throw new LightNodeError('CONFIG_INVALID', `device name ${o.name} is used twice on ${this.transport.endpoint}`, {
        name: o.name,
      });
    const st: DeviceState = {
      opts: {
        name: o.name,
        unit: o.unit,
        timeoutMs: o.timeoutMs ?? 300,
        retries: o.retries ?? 1,
        backoffBaseMs: o.backoffBaseMs ?? 1000,
        backoffMaxMs: o.backoffMaxMs ?? 60_000,
        turnaroundMs: o.turnaroundMs ?? 0,
      },
      health: {
        name: o.name,
        unit: o.unit,
        state: 'ok',
        requests: 0,
        failures: 0,
        consecutiveFailures: 0,
        errors: {},
        busMs: 0,
      },
      latencySum: 0,
      backoffUntilMono: -Infinity,
    };
    this.devices.set(o.name, st);
    return {
      name: o.name,
      unit: o.unit,
      read: (fc, address, count) =>
        this.enqueue(st, 'read', () =>
          this.transport.read({ fc, unit: st.opts.unit, address, count, timeoutMs: st.opts.timeoutMs }),
        ) as Promise<number[]>,
      write: (fc, address, values) =>
        this.enqueue(st, 'write', () =>
          this.transport.write({ fc, unit: st.opts.unit, address, values, timeoutMs: st.opts.timeoutMs }),
        ) as Promise<void>,
      health: () => this.deviceHealth(st),
    };
  }

  private deviceHealth(st: DeviceState): DeviceHealth {
    const now = this.opts.clock.monotonic();
    const h = { ...st.health, errors: { ...st.health.errors } };
    if (st.backoffUntilMono > now) {
      h.state = 'backoff';
      h.backoffUntilMs = this.opts.clock.now() + (st.backoffUntilMono - now);
    }
    if (h.requests > 0) h.avgLatencyMs = st.latencySum / Math.max(1, h.requests - h.failures);
    return h;
  }

  health(): LineHealth {
    return {
      endpoint: this.transport.endpoint,
      transactions: this.transactions,
      busMs: this.busMs,
      gapMs: this.gapTotalMs,
      devices: [...this.devices.values()].map((d) => this.deviceHealth(d)),
    };
  }

  private enqueue(dev: DeviceState, kind: 'read' | 'write', run: () => Promise<unknown>): Promise<unknown> {
    if (this.closed) return Promise.reject(this.closedError(dev));
    const now = this.opts.clock.monotonic();
    if (dev.backoffUntilMono > now)
      return Promise.reject(
        new LightNodeError(
          'DEVICE_UNAVAILABLE',
          `${dev.opts.name} (unit ${dev.opts.unit}) on ${this.transport.endpoint}: backing off for ${Math.ceil(dev.backoffUntilMono - now)} ms after ${dev.health.consecutiveFailures} failed transaction(s)`,
          {
            device: dev.opts.name,
            retryInMs: Math.ceil(dev.backoffUntilMono - now),
          },
        ),
      );
    return new Promise((resolve, reject) => {
      (kind === 'write' ? this.writes : this.reads).push({ dev, run, resolve, reject });
      void this.pump();
    });
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (;;) {
        const job = this.writes.shift() ?? this.reads.shift();
        if (!job) break;
        if (job.dev.backoffUntilMono > this.opts.clock.monotonic()) {
          job.reject(
            new LightNodeError('DEVICE_UNAVAILABLE', `${job.dev.opts.name}: backing off`, {
              device: job.dev.opts.name,
            }),
          );
          continue;
        }
        this.current = job;
        try {
          job.resolve(await this.transact(job));
        } catch (e) {
          job.reject(e);
        } finally {
          this.current = null;
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private async transact(job: Job): Promise<unknown> {
    const dev = job.dev;
    let lastErr: unknown;
    // a device that has been failing gets a single probe after its backoff, not the full retry budget
    const retries = dev.health.consecutiveFailures > 0 ? 0 : dev.opts.retries;
    for (let attempt = 0; attempt <= retries; attempt++) {
      // silence: the inter-frame gap, or the previous device's turnaround when switching devices
      const needGap = Math.max(
        this.gapMs,
        this.lastDevice && this.lastDevice !== dev ? this.lastDevice.opts.turnaroundMs : 0,
      );
      const wait = this.lastEndMono + needGap - this.opts.clock.monotonic();
      if (wait > 0) {
        await this.opts.clock.sleep(wait);
        this.gapTotalMs += wait;
      }
      // closed means closed: no retry after close(), which would reopen the transport (an orphan connection)
      if (this.closed) throw this.closedError(dev);
      const t0 = this.opts.clock.monotonic();
      dev.health.requests++;
      try {
        const v = await job.run();
        const dt = this.opts.clock.monotonic() - t0;
        this.account(dev, dt);
        dev.health.lastLatencyMs = dt;
        dev.latencySum += dt;
        dev.health.lastGoodMs = this.opts.clock.now();
        dev.health.consecutiveFailures = 0;
        dev.health.state = 'ok';
        dev.backoffUntilMono = -Infinity;
        return v;
      } catch (e) {
        this.account(dev, this.opts.clock.monotonic() - t0);
        if (this.closed) throw this.closedError(dev); // cut off by close(): not the device's failure
        lastErr = e;
        dev.health.failures++;
        const code = isLightNodeError(e) ? e.code : 'INTERNAL';
        dev.health.errors[code] = (dev.health.errors[code] ?? 0) + 1;
        // an exception reply is an answer: retrying the same request gets the same answer
        if (code === 'MODBUS_EXCEPTION') break;
      }
    }
    dev.health.consecutiveFailures++;
    dev.health.state = 'failing';
    const n = dev.health.consecutiveFailures;
    if (!(isLightNodeError(lastErr) && lastErr.code === 'MODBUS_EXCEPTION')) {
      // "equal jitter": a dead device never gets probed sooner than half the step
      const policy = { baseMs: dev.opts.backoffBaseMs, maxMs: dev.opts.backoffMaxMs, jitter: 'equal' } as const;
      const backoff = backoffDelay(policy, n - 1, this.random);
      dev.backoffUntilMono = this.opts.clock.monotonic() + backoff;
      this.log.warn('device failed, backing off', {
        device: dev.opts.name,
        unit: dev.opts.unit,
        consecutiveFailures: n,
        backoffMs: Math.round(backoff),
        error: isLightNodeError(lastErr) ? lastErr.code : String(lastErr),
      });
    }
    throw lastErr;
  }

  private account(dev: DeviceState, dt: number): void {
    this.transactions++;
    this.busMs += dt;
    dev.health.busMs += dt;
    this.lastEndMono = this.opts.clock.monotonic();
    this.lastDevice = dev;
  }

  private closedError(dev: DeviceState): LightNodeError {
    return new LightNodeError('DEVICE_UNAVAILABLE', `${dev.opts.name}: line ${this.transport.endpoint} is closed`, {
      device: dev.opts.name,
    });
  }

  /** Final: queued requests and the one in flight are rejected at once; the transport is closed, never reopened. */
  async close(): Promise<void> {
    this.closed = true;
    const pending = [...(this.current ? [this.current] : []), ...this.writes.splice(0), ...this.reads.splice(0)];
    for (const j of pending) j.reject(this.closedError(j.dev));
    await this.transport.close();
  }
}

/** A device's handle on its line. */
export interface LineDevice {
  readonly name: string;
  readonly unit: number;
  read(fc: 1 | 2 | 3 | 4, address: number, count: number): Promise<number[]>;
  write(fc: 6 | 16, address: number, values: number[]): Promise<void>;
  health(): DeviceHealth;
}
