/**
 * Fakes for the commissioning tests: a site on an in-memory Modbus bus (a PoD meter whose power follows a fake
 * battery), scans that report it, a Chain 2 gateway transport, an enrollment client; a command run on the fake clock.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtinProfiles, imageFromProfile, type CommandIo, type RegisterImage } from '@lightnode/protocols';
import { FakeClock } from '@lightnode/protocols/testing';
import { newTransportStats, type Chain2Transport, type ModbusRead } from '@lightnode/edge';
import { FakeEssAdapter, FakeModbusTransport } from '@lightnode/edge/testing';
import { commissionCommand } from '../commission/command.js';
import type { CommissionDeps, CommissionEvent, EnrollOptions, FoundDevice, ScanOptions } from '../commission/types.js';

export const POD = 'IT001E12345678';
export const PORT = '/dev/ttyFAKE0';
/** The PoD meter's import when the battery is idle, W (import positive). */
export const BASE_IMPORT_W = 1200;

export const tempDir = (): string => mkdtempSync(join(tmpdir(), 'commission-'));

/** A bus whose meter image is recomputed at each read from the battery's power (discharge lowers the import). */
class SiteBus extends FakeModbusTransport {
  constructor(
    clock: FakeClock,
    private readonly ess: FakeEssAdapter,
    private readonly image: RegisterImage,
  ) {
    super(clock, { kind: 'rtu', endpoint: `rtu://${PORT}` });
    this.addUnit(1, image, { latencyMs: 5 });
  }
  override read(r: ModbusRead): Promise<number[]> {
    imageFromProfile(builtinProfiles().get('eastron/sdm630'), meterValues(BASE_IMPORT_W - this.ess.essPowerW), {
      image: this.image,
    });
    return super.read(r);
  }
}

const meterValues = (activePowerW: number) => ({
  activePowerW,
  voltageL1mV: 230_100,
  frequencymHz: 50_000,
  energyImportWh: 1_234_567,
});

export const FOUND_METER: FoundDevice = {
  kind: 'meter',
  profile: 'eastron/sdm630',
  unit: 1,
  port: PORT,
  baud: 19200,
  parity: 'even',
  serialNumber: 'SDM-0042',
  latencyMs: 12,
};
export const FOUND_ESS: FoundDevice = {
  kind: 'ess',
  profile: 'generic/ess-example',
  unit: 3,
  port: PORT,
  baud: 19200,
  parity: 'even',
  serialNumber: 'ESS-7',
};

/** A gateway that pushes an info message, garbage and a CF20 with its (space-padded) POD. */
export class FakeGateway implements Chain2Transport {
  readonly endpoint = 'ws://gateway.test:81';
  stopped = false;
  constructor(private readonly pod: string) {}
  start(onFrame: (text: string) => void): void {
    queueMicrotask(() => {
      onFrame('not json');
      onFrame(
        JSON.stringify({
          Chain2Data: {
            Id: 'c2g-1',
            Ts: '2021/06/22 22:00:00',
            Meter: 'M1',
            Type: 'CF20',
            Payload: { POD: this.pod.padEnd(16, ' ') },
          },
        }),
      );
    });
  }
  stop(): Promise<void> {
    this.stopped = true;
    return Promise.resolve();
  }
  stats() {
    return newTransportStats();
  }
}

export interface Rig {
  clock: FakeClock;
  ess: FakeEssAdapter;
  deps: Omit<CommissionDeps, 'io'>;
  events: CommissionEvent[];
  calls: { scanSerial: string[]; scanTcp: string[]; enroll: EnrollOptions[]; transports: number };
  gateway?: FakeGateway;
}

export function rig(o: { found?: FoundDevice[]; gatewayPod?: string; clock?: FakeClock } = {}): Rig {
  const clock = o.clock ?? new FakeClock();
  const ess = new FakeEssAdapter(clock, { socPermille: 640 });
  const image = imageFromProfile(builtinProfiles().get('eastron/sdm630'), meterValues(BASE_IMPORT_W));
  const found = o.found ?? [FOUND_METER, FOUND_ESS];
  const events: CommissionEvent[] = [];
  const calls: Rig['calls'] = { scanSerial: [], scanTcp: [], enroll: [], transports: 0 };
  const gateway = o.gatewayPod !== undefined ? new FakeGateway(o.gatewayPod) : undefined;
  const r: Rig = {
    clock,
    ess,
    events,
    calls,
    ...(gateway ? { gateway } : {}),
    deps: {
      clock,
      scanSerial: (path: string, opts: ScanOptions) => {
        calls.scanSerial.push(path);
        opts.onProgress?.(1, 1, 'done');
        return Promise.resolve({
          found: found.filter((d) => d.port === path),
          detail: `${path}: 19200 8E1 answered`,
        });
      },
      scanTcp: (hostPort: string) => {
        calls.scanTcp.push(hostPort);
        return Promise.resolve({ found: [], detail: `${hostPort}: ports 502, 1502 refused` });
      },
      enroll: (e: EnrollOptions) => {
        calls.enroll.push(e);
        return Promise.resolve({
          deviceId: e.signer.address,
          podId: e.podId,
          aggregator: 'ACEAE',
          txHash: `0x${'ab'.repeat(32)}`,
        });
      },
      onEvent: (e) => events.push(e),
      machineSerial: () => ({ serial: 'LN-TEST-0001', source: 'test' }),
      openTransport: () => {
        calls.transports++;
        return new SiteBus(clock, ess, image);
      },
      essAdapter: () => ess,
      ...(gateway ? { chain2Transport: () => gateway } : {}),
      agentVersion: '0.1.0-test',
    },
  };
  return r;
}

export function captureIo(signal: AbortSignal = new AbortController().signal): {
  io: CommandIo;
  out: string[];
  err: string[];
} {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: {
      stdout: (s) => out.push(s),
      stderr: (s) => err.push(s),
      env: {},
      cwd: '/',
      signal,
    },
    out,
    err,
  };
}

/**
 * Runs the command, advancing the fake clock until it settles (the fake bus and the battery test sleep on it);
 * `signal` stands for Ctrl-C.
 */
export async function run(
  r: Rig,
  argv: string[],
  signal?: AbortSignal,
): Promise<{ code: number; out: string[]; err: string[] }> {
  const c = captureIo(signal);
  let done = false;
  const p = commissionCommand(r.deps)
    .run(argv, c.io)
    .finally(() => (done = true));
  p.catch(() => undefined);
  while (!done) {
    await r.clock.advance(10);
    await new Promise((res) => setImmediate(res));
  }
  return { code: await p, out: c.out, err: c.err };
}
