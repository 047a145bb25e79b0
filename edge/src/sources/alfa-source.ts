/**
 * Sinapsi Alfa over Modbus TCP as a `MeterSource`: the `sinapsi/alfa` registers are polled every `pollMs` and turned
 * straight into one `Reading` per quarter (no Chain 2 text in between). At each quarter boundary the quarter just
 * closed is reported — its energy is the difference of the cumulative total across it, so a quarter is reported
 * only once it was observed from its start — with the total, the quarter's average power, the live power and the
 * tariff band. A total lower than the last trusted one (a restart reads 0) is never taken as truth: the total and
 * the quarter's figures are `invalid` and the decrease is counted, until the total is back above the trusted one.
 */
import {
  builtinProfiles,
  silentLogger,
  type Clock,
  type Logger,
  type Quality,
  type QuantityName,
} from '@lightnode/protocols';
import { ModbusLine, ModbusMeter, ModbusSerialTransport, type ModbusTransport } from '../modbus/index.js';
import { Poller } from './poller.js';
import { readingQuality, type MeterRole, type MeterSource, type Reading, type SourceHealth } from './reading.js';

const QUARTER_MS = 900_000;
/** The registers a quarter reading is made of (the source's quality is theirs at the last poll). */
const USED: readonly QuantityName[] = ['energyImportWh', 'activePowerW', 'quarterAveragePowerW', 'tariffBand'];

export interface AlfaSourceOptions {
  /** Source id (`chain2:NAME` in the agent). */
  id: string;
  host: string;
  port?: number;
  unit?: number;
  clock: Clock;
  /** Default 10 s. */
  pollMs?: number;
  role?: MeterRole;
  logger?: Logger;
  /** Tests inject a fake transport. */
  transport?: ModbusTransport;
}

export interface AlfaStats {
  polls: number;
  failedPolls: number;
  quarters: number;
  totalDecreased: number;
}

export class AlfaSource implements MeterSource {
  readonly id: string;
  readonly role?: MeterRole;
  private readonly line: ModbusLine;
  private readonly meter: ModbusMeter;
  private readonly poller: Poller;
  private emit: ((r: Reading) => void) | null = null;
  private lastBoundary: number | null = null;
  private totalAtBoundary: number | null = null;
  private trustedTotal: number | null = null;
  private lastValues: Reading['values'] | null = null;
  private lastReadingMs: number | undefined;
  private readonly s: AlfaStats = { polls: 0, failedPolls: 0, quarters: 0, totalDecreased: 0 };
  private readonly log: Logger;

  constructor(private readonly o: AlfaSourceOptions) {
    this.id = o.id;
    if (o.role) this.role = o.role;
    this.log = (o.logger ?? silentLogger).child({ component: 'alfa', source: o.id });
    const transport = o.transport ?? new ModbusSerialTransport({ tcp: { host: o.host, port: o.port ?? 502 } });
    this.line = new ModbusLine(transport, { clock: o.clock, ...(o.logger ? { logger: o.logger } : {}) });
    this.meter = new ModbusMeter({
      id: o.id,
      profile: builtinProfiles().get('sinapsi/alfa'),
      device: this.line.addDevice({ name: o.id, unit: o.unit ?? 1, timeoutMs: 2000, retries: 1 }),
      clock: o.clock,
      slowEvery: 1,
    });
    this.poller = new Poller(o.clock, o.pollMs ?? 10_000, () => this.poll());
  }

  start(emit: (r: Reading) => void): void {
    this.emit = emit;
    this.poller.start();
  }

  private async poll(): Promise<void> {
    const r = await this.meter.read({ includeSlow: true });
    this.s.polls++;
    this.lastValues = Object.fromEntries(USED.map((q) => [q, r.values[q] ?? { quality: 'invalid' }]));
    const ok = r.timings.failedRequests < r.timings.requests;
    if (!ok) this.s.failedPolls++;
    const total = r.values.energyImportWh?.quality === 'good' ? r.values.energyImportWh.value! : null;
    if (!ok || total === null) return;
    const boundary = Math.floor(this.o.clock.now() / QUARTER_MS) * QUARTER_MS;
    if (this.lastBoundary !== null && boundary <= this.lastBoundary) return;
    if (this.lastBoundary !== null && this.totalAtBoundary !== null) this.report(boundary, total, r.values);
    // the first boundary only starts the reference: a quarter is reported once it was observed from its start
    this.totalAtBoundary = this.lastBoundary === null ? null : total;
    this.lastBoundary = boundary;
  }

  private report(boundary: number, total: number, v: Reading['values']): void {
    const good = (value: number | undefined): { value?: number; quality: Quality } =>
      value === undefined ? { quality: 'invalid' } : { value, quality: 'good' };
    const decreased = this.trustedTotal !== null && total < this.trustedTotal;
    const values: Partial<Record<QuantityName, { value?: number; quality: Quality }>> = {
      quarterEnergyImportWh: decreased ? { quality: 'invalid' } : good(Math.max(0, total - this.totalAtBoundary!)),
      quarterAveragePowerW: decreased ? { quality: 'invalid' } : good(v.quarterAveragePowerW?.value),
      activePowerW: good(v.activePowerW?.value),
      tariffBand: good(v.tariffBand?.value),
      energyImportWh: decreased ? { quality: 'invalid' } : good(total),
    };
    if (decreased) {
      this.s.totalDecreased++;
      this.log.warn(
        `total import energy went back from ${this.trustedTotal} to ${total} Wh (a restart reads 0): not stored as truth`,
        { code: 'CHAIN2_TOTAL_DECREASED', from: this.trustedTotal, to: total },
      );
    } else this.trustedTotal = total;
    this.s.quarters++;
    this.lastReadingMs = boundary;
    this.emit?.({
      sourceId: this.id,
      ...(this.role ? { role: this.role } : {}),
      tsMs: boundary,
      source: 'chain2',
      values,
    });
  }

  async stop(): Promise<void> {
    await this.poller.stop();
    this.emit = null;
    await this.line.close();
  }

  stats(): AlfaStats {
    return { ...this.s };
  }

  health(): SourceHealth {
    const h = this.line.health().devices[0];
    return {
      id: this.id,
      ...(this.role ? { role: this.role } : {}),
      quality: this.lastValues ? readingQuality({ values: this.lastValues }) : 'invalid',
      readings: this.s.quarters,
      errors: (h?.failures ?? 0) + this.s.totalDecreased,
      ...(this.lastReadingMs !== undefined ? { lastReadingMs: this.lastReadingMs } : {}),
      ...(h?.lastGoodMs !== undefined ? { lastGoodMs: h.lastGoodMs } : {}),
      details: this.stats(),
    };
  }
}
