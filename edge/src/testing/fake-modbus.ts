/**
 * FakeModbusTransport: an in-memory Modbus "bus" with one register image per unit id and per-unit behaviours
 * (dead, exception, latency), driven by an injected Clock so that scheduler tests are deterministic.
 */
import type { RegisterImage } from '@lightnode/protocols';
import { LightNodeError, type Clock } from '@lightnode/protocols';
import type { ModbusRead, ModbusTransport, ModbusWrite } from '../modbus/transport.js';

export interface FakeUnitBehaviour {
  /** No answer: the request costs its full timeout, then MODBUS_TIMEOUT. */
  dead?: boolean;
  /** Answer every request with this exception code. */
  exception?: number;
  /** Response time, ms (default 10). */
  latencyMs?: number;
}

export class FakeModbusTransport implements ModbusTransport {
  readonly kind: 'tcp' | 'rtu';
  readonly endpoint: string;
  readonly units = new Map<number, { image: RegisterImage; behaviour: FakeUnitBehaviour }>();
  /** Every request, in order, with its start time (monotonic ms). */
  readonly log: { unit: number; fc: number; address: number; count: number; atMs: number; kind: 'read' | 'write' }[] =
    [];
  private inFlight = 0;
  maxInFlight = 0;

  constructor(
    private readonly clock: Clock,
    opts: { kind?: 'tcp' | 'rtu'; endpoint?: string } = {},
  ) {
    this.kind = opts.kind ?? 'rtu';
    this.endpoint = opts.endpoint ?? 'fake://bus';
  }

  addUnit(unit: number, image: RegisterImage, behaviour: FakeUnitBehaviour = {}): void {
    this.units.set(unit, { image, behaviour });
  }

  async open(): Promise<void> {}
  async close(): Promise<void> {}

  private async serve<T>(
    unit: number,
    timeoutMs: number,
    kind: 'read' | 'write',
    fc: number,
    address: number,
    count: number,
    fn: (img: RegisterImage) => T,
  ): Promise<T> {
    this.log.push({ unit, fc, address, count, atMs: this.clock.monotonic(), kind });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const u = this.units.get(unit);
      if (!u || u.behaviour.dead) {
        await this.clock.sleep(timeoutMs);
        throw new LightNodeError('MODBUS_TIMEOUT', `${this.endpoint} unit ${unit}: no answer in time`, { unit });
      }
      await this.clock.sleep(u.behaviour.latencyMs ?? 10);
      if (u.behaviour.exception)
        throw Object.assign(
          new LightNodeError('MODBUS_EXCEPTION', `${this.endpoint} unit ${unit}: exception ${u.behaviour.exception}`, {
            unit,
            exception: u.behaviour.exception,
          }),
        );
      return fn(u.image);
    } finally {
      this.inFlight--;
    }
  }

  read(r: ModbusRead): Promise<number[]> {
    return this.serve(r.unit, r.timeoutMs, 'read', r.fc, r.address, r.count, (img) => {
      const v = img.read(r.fc, r.address, r.count);
      if (!v)
        throw new LightNodeError(
          'MODBUS_EXCEPTION',
          `${this.endpoint} unit ${r.unit}: exception 2 (illegal data address) at fc ${r.fc} @${r.address}×${r.count}`,
          { unit: r.unit, exception: 2 },
        );
      return v;
    });
  }

  write(w: ModbusWrite): Promise<void> {
    return this.serve(w.unit, w.timeoutMs, 'write', w.fc, w.address, w.values.length, (img) => {
      img.set(3, w.address, w.values);
    });
  }
}
