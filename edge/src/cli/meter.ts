/** `lightnode meter read …` and `lightnode meter discover …`. */
import {
  LightNodeError,
  builtinProfiles,
  PARITIES,
  exactlyOneFlag,
  flagChoice,
  flagInt,
  flagSpec,
  flagString,
  parseFlags,
  parseHostPort,
  systemClock,
  worstQuality,
  type CommandGroup,
  type Command,
  type ParsedFlags,
  type Profile,
  type Quality,
} from '@lightnode/protocols';
import {
  ModbusLine,
  ModbusMeter,
  ModbusSerialTransport,
  discoverSunSpec,
  type ModbusTransport,
} from '../modbus/index.js';

const TARGET = { string: ['tcp', 'serial', 'baud', 'parity', 'unit', 'timeout'], boolean: ['json'] };

function target(
  p: ParsedFlags,
  usage: string,
  profile?: Profile,
): { transport: ModbusTransport; unit: number; timeoutMs: number; baud?: number } {
  const over = exactlyOneFlag(p, ['tcp', 'serial'], usage);
  const address = flagString(p, over, usage, true);
  const t = profile?.transport ?? {};
  const unit = flagInt(p, 'unit', usage, 0, 255) ?? t.unitId ?? 1;
  const timeoutMs = flagInt(p, 'timeout', usage, 10, 60_000) ?? t.timeoutMs ?? 1000;
  if (over === 'tcp') {
    const { host, port } = parseHostPort(address, 'tcp', t.tcpPort ?? 502);
    return { transport: new ModbusSerialTransport({ tcp: { host, port } }), unit, timeoutMs };
  }
  const baud = flagInt(p, 'baud', usage, 300, 921_600) ?? t.baud ?? 9600;
  const parity = flagChoice(p, 'parity', usage, PARITIES) ?? t.parity ?? 'none';
  return {
    transport: new ModbusSerialTransport({
      rtu: { path: address, baud, parity, dataBits: t.dataBits ?? 8, stopBits: t.stopBits ?? 1 },
    }),
    unit,
    timeoutMs,
    baud,
  };
}

const READ_USAGE = `Usage: lightnode meter read --profile ID (--tcp HOST:PORT | --serial PATH) [--baud N] [--parity none|even|odd]
                           [--unit N] [--timeout MS] [--raw] [--json]

Reads a Modbus meter once with a device profile (baud, parity and unit default to the profile's). SunSpec model
profiles (sunspec/meter-2xx) are located by discovery first. Prints the quantities in the protocol's integer units
(voltageL1mV, activePowerW, energyImportWh, frequencymHz …) with a quality each, and the timings; --raw adds the raw
registers (provenance). Exit 1 with the device and the cause when it cannot be read.
Profiles: ${builtinProfiles().list().join(', ')}`;

const read: Command = {
  summary: 'read a meter once with a device profile',
  usage: READ_USAGE,
  async run(argv, io) {
    const flags = flagSpec({ string: [...TARGET.string, 'profile'], boolean: [...TARGET.boolean, 'raw'] });
    const p = parseFlags(argv, flags, READ_USAGE, false);
    const profile = builtinProfiles().get(flagString(p, 'profile', READ_USAGE, true));
    const t = target(p, READ_USAGE, profile);
    const line = new ModbusLine(t.transport, { clock: systemClock, ...(t.baud ? { baud: t.baud } : {}) });
    const device = line.addDevice({
      name: profile.id,
      unit: t.unit,
      timeoutMs: t.timeoutMs,
      retries: 1,
      turnaroundMs: profile.transport.turnaroundMs ?? 0,
    });
    try {
      await t.transport.open();
      let base: number | undefined;
      if (profile.kind === 'sunspec-model') {
        const found = await discoverSunSpec(device, builtinProfiles());
        const model = found?.models.find((m) => m.id === profile.sunspecModel);
        if (!model)
          throw new LightNodeError(
            'NOT_FOUND',
            `${t.transport.endpoint} unit ${t.unit}: no SunSpec model ${profile.sunspecModel} found (${found ? `models ${found.models.map((m) => m.id).join(', ')}` : 'no SunS marker at 40000, 0, 50000'})`,
            {},
          );
        base = model.address;
      }
      const meter = new ModbusMeter({
        id: profile.id,
        profile,
        device,
        clock: systemClock,
        raw: p.values.raw === true,
        ...(base !== undefined ? { baseAddress: base } : {}),
      });
      const r = await meter.read({ includeSlow: true });
      if (r.timings.failedRequests === r.timings.requests) {
        const h = device.health();
        throw new LightNodeError(
          (Object.keys(h.errors)[0] as 'MODBUS_TIMEOUT' | undefined) ?? 'DEVICE_UNAVAILABLE',
          `${t.transport.endpoint} unit ${t.unit} (${profile.id}): no register could be read (${r.errors.join(', ')})`,
          { errors: h.errors },
        );
      }
      const quantities: Record<string, number> = {};
      const quality: Record<string, Quality> = {};
      for (const [k, v] of Object.entries(r.values)) {
        if (v.value !== undefined) quantities[k] = v.value;
        quality[k] = v.quality;
      }
      const out = {
        profile: profile.id,
        endpoint: t.transport.endpoint,
        unit: t.unit,
        tsMs: r.tsMs,
        quantities,
        quality,
        overallQuality: worstQuality(Object.values(quality)),
        timings: {
          requests: r.timings.requests,
          failedRequests: r.timings.failedRequests,
          totalMs: Math.round(r.timings.totalMs * 10) / 10,
          busMs: Math.round(line.health().busMs * 10) / 10,
        },
        errors: r.errors,
        ...(r.raw ? { raw: r.raw } : {}),
      };
      if (p.values.json) io.stdout(JSON.stringify(out));
      else {
        io.stdout(
          `${profile.id} at ${out.endpoint} unit ${out.unit}: ${out.overallQuality}, ${out.timings.requests} requests in ${out.timings.totalMs} ms`,
        );
        for (const [k, q] of Object.entries(quality))
          io.stdout(`  ${k.padEnd(28)} ${quantities[k] ?? '—'} ${q === 'good' ? '' : `(${q})`}`);
      }
      return 0;
    } finally {
      await line.close();
    }
  },
};

const DISCOVER_USAGE = `Usage: lightnode meter discover (--tcp HOST:PORT | --serial PATH) [--baud N] [--parity none|even|odd] [--unit N]
                               [--timeout MS] [--json]

Finds a SunSpec device: looks for "SunS" at 40000, 0 and 50000 (a timeout at one base does not stop the search),
walks the model chain and prints the models (with our profile for each, when we have one) and the common model's
manufacturer, model and serial number. Exit 1 when no SunSpec device answers.`;

const discover: Command = {
  summary: 'find SunSpec devices and the models they expose',
  usage: DISCOVER_USAGE,
  async run(argv, io) {
    const p = parseFlags(argv, flagSpec(TARGET), DISCOVER_USAGE, false);
    const t = target(p, DISCOVER_USAGE);
    const line = new ModbusLine(t.transport, { clock: systemClock, ...(t.baud ? { baud: t.baud } : {}) });
    const device = line.addDevice({
      name: 'discover',
      unit: t.unit,
      timeoutMs: t.timeoutMs,
      retries: 0,
      backoffBaseMs: 0,
      backoffMaxMs: 0,
    });
    try {
      await t.transport.open();
      const found = await discoverSunSpec(device, builtinProfiles());
      if (!found) {
        io.stderr(`${t.transport.endpoint} unit ${t.unit}: no SunSpec device (no SunS marker at 40000, 0, 50000)`);
        if (p.values.json) io.stdout(JSON.stringify({ endpoint: t.transport.endpoint, unit: t.unit, found: false }));
        return 1;
      }
      if (p.values.json)
        io.stdout(JSON.stringify({ endpoint: t.transport.endpoint, unit: t.unit, found: true, ...found }));
      else {
        io.stdout(
          `SunSpec device at ${t.transport.endpoint} unit ${t.unit}, base ${found.base}: ${found.manufacturer ?? '?'} ${found.model ?? ''} SN ${found.serialNumber ?? '?'}`,
        );
        for (const m of found.models)
          io.stdout(
            `  model ${String(m.id).padEnd(5)} at ${m.address}, ${m.length} registers${m.profile ? `  → profile ${m.profile}` : ''}`,
          );
      }
      return 0;
    } finally {
      await line.close();
    }
  },
};

const group: CommandGroup = {
  summary: 'read a Modbus meter once, or discover SunSpec devices',
  subcommands: { read, discover },
};
export default group;
