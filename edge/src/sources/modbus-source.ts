/**
 * A Modbus meter as a `MeterSource`: the profile driver (`ModbusMeter`) on its line device, polled every `pollMs` by
 * the source's own scheduler. Each poll emits one `Reading` (failed points `stale` or `invalid`, never thrown). The
 * line is shared with the other meters on the bus and closed by whoever opened it, after the sources stopped.
 */
import type { Clock, SampleSource } from '@lightnode/protocols';
import type { ModbusMeter } from '../modbus/index.js';
import type { LineDevice } from '../modbus/line.js';
import { Poller } from './poller.js';
import { readingQuality, type MeterRole, type MeterSource, type Reading, type SourceHealth } from './reading.js';

export interface ModbusSourceOptions {
  meter: ModbusMeter;
  device: LineDevice;
  clock: Clock;
  pollMs: number;
  source: Extract<SampleSource, 'modbus-tcp' | 'modbus-rtu'>;
  role?: MeterRole;
}

export class ModbusMeterSource implements MeterSource {
  readonly id: string;
  readonly role?: MeterRole;
  private readonly poller: Poller;
  private emit: ((r: Reading) => void) | null = null;
  private last: Reading | null = null;
  private readings = 0;

  constructor(private readonly o: ModbusSourceOptions) {
    this.id = o.meter.id;
    if (o.role) this.role = o.role;
    this.poller = new Poller(o.clock, o.pollMs, async () => {
      await this.poll();
    });
  }

  start(emit: (r: Reading) => void): void {
    this.emit = emit;
    this.poller.start();
  }

  /** One poll now (the scheduler calls it; tests may too). */
  async poll(): Promise<Reading> {
    const m = await this.o.meter.read();
    const r: Reading = {
      sourceId: this.id,
      ...(this.role ? { role: this.role } : {}),
      tsMs: m.tsMs,
      source: this.o.source,
      values: m.values,
      ...(m.raw ? { raw: m.raw } : {}),
    };
    this.last = r;
    this.readings++;
    if (this.poller.active) this.emit?.(r);
    return r;
  }

  async stop(): Promise<void> {
    await this.poller.stop();
    this.emit = null;
  }

  health(): SourceHealth {
    const h = this.o.device.health();
    const w = this.last?.values.activePowerW;
    return {
      id: this.id,
      ...(this.role ? { role: this.role } : {}),
      quality: this.last ? readingQuality(this.last) : 'invalid',
      readings: this.readings,
      errors: h.failures,
      ...(this.last ? { lastReadingMs: this.last.tsMs } : {}),
      ...(h.lastGoodMs !== undefined ? { lastGoodMs: h.lastGoodMs } : {}),
      ...(h.lastLatencyMs !== undefined ? { latencyMs: Math.round(h.lastLatencyMs * 10) / 10 } : {}),
      ...(w?.quality === 'good' && w.value !== undefined ? { lastPowerW: w.value } : {}),
    };
  }
}
