/**
 * The shapes of `lightnode commission` (issue 15 item 6): its inputs (flags or `--answers`), the checks it reports,
 * the events a UI subscribes to, and the collaborators it is given (`CommissionDeps`: the scans, enrollment, the
 * clock, the I/O). Everything that touches hardware or the network comes in through `CommissionDeps`, so a test runs
 * the whole command on fakes and a fake clock.
 */
import type { AgentConfig, Clock, CommandIo, Logger, Signer } from '@lightnode/protocols';
import type { Chain2Transport, EssAdapter, EssAdapterContext, FoundDevice, ModbusTransport } from '@lightnode/edge';

/** What a scan finds (edge/src/modbus/scan.ts). */
export type { FoundDevice };

/** Check ids, in the order they run and are reported. */
export const STEP_IDS = [
  'identity',
  'pod',
  'rs485',
  'modbus-tcp',
  'chain2',
  'battery',
  'cloud',
  'enroll',
  'config',
  'report',
] as const;
export type StepId = (typeof STEP_IDS)[number];

/** One check: `skip` only when its input was not given (the detail names the flag that would enable it). */
export interface Check {
  id: StepId;
  result: 'pass' | 'fail' | 'skip';
  detail: string;
}

/** What the installer gave (flags, or the same keys in `--answers FILE.json`), defaults applied. */
export interface CommissionInputs {
  podId: string;
  serial?: string;
  installer: string;
  rs485: string[];
  fullScan: boolean;
  tcp: string[];
  chain2?: string;
  batteryTest: boolean;
  cloud?: string;
  enroll?: { url: string; token: string };
  stateDir: string;
  keyFile: string;
  configOut: string;
  out: string;
  json: boolean;
  nonInteractive: boolean;
}

/** Progress of a run: a UI (prompts, bars) subscribes; the plain command prints nothing of it. */
export type CommissionEvent =
  | { type: 'step-start'; id: StepId }
  | { type: 'progress'; id: StepId; done: number; total: number; detail: string }
  | { type: 'step-end'; check: Check };

export interface ScanOptions {
  /** `--full-scan`: every unit id 1–247 instead of the profile's, 1 and 2. */
  fullScan: boolean;
  clock: Clock;
  signal: AbortSignal;
  onProgress?: (done: number, total: number, detail: string) => void;
}

export interface ScanResult {
  found: FoundDevice[];
  /** What was tried and what answered (names the settings that answered, or why nothing did). */
  detail: string;
}

export interface EnrollOptions {
  url: string;
  token: string;
  serial: string;
  podId: string;
  signer: Signer;
  clock: Clock;
}

export interface EnrollResult {
  deviceId: string;
  podId: string;
  aggregator: string;
  txHash: string;
}

/** The serial number the machine itself reports, and where it came from. */
export interface MachineSerial {
  serial: string;
  source: string;
}

export interface CommissionDeps {
  /** RS-485: scans one serial port (edge/src/modbus/scan.ts). Required: wired to the real scan at merge. */
  scanSerial(path: string, opts: ScanOptions): Promise<ScanResult>;
  /** Modbus TCP: `HOST[:PORT]` (502 and 1502 when no port), identify then SunSpec discovery. */
  scanTcp(hostPort: string, opts: ScanOptions): Promise<ScanResult>;
  /** Enrollment against `--enroll URL` (provisioning/src/enroll/client.ts). */
  enroll(opts: EnrollOptions): Promise<EnrollResult>;
  clock: Clock;
  io: CommandIo;
  logger?: Logger;
  /** A UI's subscription to the run's progress. */
  onEvent?: (e: CommissionEvent) => void;
  /** The device's serial when no `--serial` is given (default: `machineSerial()` of identity.ts). */
  machineSerial?: () => MachineSerial | undefined;
  /** The Modbus transport to a found device (default `ModbusSerialTransport` with its port/baud/parity or host). */
  openTransport?: (d: FoundDevice) => ModbusTransport;
  /** The adapter of the found ESS as configured (default edge's `createEssAdapter`). */
  essAdapter?: (asset: AgentConfig['assets'][number], ctx: EssAdapterContext) => EssAdapter;
  /** A Chain 2 gateway's local API (default edge's `WsChain2Transport` for ws(s)://, `HttpChain2Transport` for http(s)://). */
  chain2Transport?: (url: string) => Chain2Transport;
  /** The agent version written in the report (default this package's version). */
  agentVersion?: string;
}
