/**
 * Talking to what the scans found: one Modbus line per port or host (as the agent would wire it), each found meter
 * read once with edge's `ModbusMeter` for the report, and the found ESS through the Setpoints adapters.
 */
import { builtinProfiles, LightNodeError, silentLogger, type Clock, type Logger } from '@lightnode/protocols';
import {
  discoverSunSpec,
  ModbusLine,
  ModbusMeter,
  ModbusSerialTransport,
  type LineDevice,
  type ModbusTransport,
} from '@lightnode/edge';
import type { FoundDevice } from './types.js';

/** The line a found device sits on: its serial port (with its baud/parity) or its TCP host:port. */
export const lineKey = (d: FoundDevice): string =>
  d.port !== undefined ? `rtu:${d.port}` : `tcp:${d.host ?? '?'}:${d.tcpPort ?? 502}`;

/** Where a found device is, for people: `/dev/ttyUSB0 unit 1 @ 9600 8N1` or `192.168.1.20:502 unit 1`. */
export const where = (d: FoundDevice): string =>
  d.port !== undefined
    ? `${d.port} unit ${d.unit} @ ${d.baud ?? 9600} 8${(d.parity ?? 'none')[0]!.toUpperCase()}1`
    : `${d.host ?? '?'}:${d.tcpPort ?? 502} unit ${d.unit}`;

/** The default transport to a found device: RTU with the settings that answered, or TCP. */
export function defaultTransport(d: FoundDevice): ModbusTransport {
  const t = builtinProfiles().get(d.profile).transport;
  if (d.port !== undefined)
    return new ModbusSerialTransport({
      rtu: {
        path: d.port,
        baud: d.baud ?? t.baud ?? 9600,
        parity: d.parity ?? t.parity ?? 'none',
        dataBits: t.dataBits ?? 8,
        stopBits: t.stopBits ?? 1,
      },
    });
  return new ModbusSerialTransport({ tcp: { host: d.host ?? '127.0.0.1', port: d.tcpPort ?? 502 } });
}

/** Opened lines by `lineKey`, closed together. */
export class Lines {
  private readonly open = new Map<string, { line: ModbusLine; ready: Promise<void> }>();
  constructor(
    private readonly o: { clock: Clock; logger?: Logger; openTransport: (d: FoundDevice) => ModbusTransport },
  ) {}

  async lineOf(d: FoundDevice): Promise<ModbusLine> {
    const key = lineKey(d);
    let e = this.open.get(key);
    if (!e) {
      const transport = this.o.openTransport(d);
      const line = new ModbusLine(transport, {
        clock: this.o.clock,
        logger: this.o.logger ?? silentLogger,
        ...(d.baud !== undefined ? { baud: d.baud } : {}),
      });
      e = { line, ready: transport.open() };
      this.open.set(key, e);
    }
    await e.ready;
    return e.line;
  }

  /** The line already opened for `d` (the ESS adapter's `ctx.line`), by the line's config name. */
  opened(d: FoundDevice): ModbusLine | undefined {
    return this.open.get(lineKey(d))?.line;
  }

  async close(): Promise<void> {
    await Promise.all([...this.open.values()].map((e) => e.line.close().catch(() => undefined)));
    this.open.clear();
  }
}

/** One meter read: the good quantities (protocol integer units) and the named identification points. */
export interface MeterValues {
  readings: Record<string, number>;
  named: Record<string, number | string>;
  errors: string[];
}

/** A found meter as a `ModbusMeter` on its line (SunSpec model profiles located by discovery first). */
export async function openMeter(
  lines: Lines,
  d: FoundDevice,
  id: string,
  clock: Clock,
): Promise<{ read(): Promise<MeterValues> }> {
  const profile = builtinProfiles().get(d.profile);
  const line = await lines.lineOf(d);
  const device: LineDevice = line.addDevice({
    name: id,
    unit: d.unit,
    timeoutMs: Math.max(profile.transport.timeoutMs ?? 300, 4 * (d.latencyMs ?? 0)),
    retries: 1,
    turnaroundMs: profile.transport.turnaroundMs ?? 0,
  });
  let base: number | undefined;
  if (profile.kind === 'sunspec-model') {
    const found = await discoverSunSpec(device, builtinProfiles());
    const model = found?.models.find((m) => m.id === profile.sunspecModel);
    if (!model)
      throw new LightNodeError('NOT_FOUND', `${where(d)}: no SunSpec model ${profile.sunspecModel} found`, {
        profile: d.profile,
      });
    base = model.address;
  }
  const meter = new ModbusMeter({ id, profile, device, clock, ...(base !== undefined ? { baseAddress: base } : {}) });
  return {
    async read() {
      const r = await meter.read({ includeSlow: true });
      const readings: Record<string, number> = {};
      for (const [k, v] of Object.entries(r.values))
        if (v.value !== undefined && v.quality === 'good') readings[k] = v.value;
      const named: Record<string, number | string> = {};
      for (const [k, v] of Object.entries(r.named)) if (v !== null) named[k] = v;
      return { readings, named, errors: r.errors };
    },
  };
}
