/**
 * A setpoint controller on fakes, for tests: FakeClock, FakeLink, FakeQueue, FakeEssAdapter, the audit
 * log (the real one, in the state directory), and a one-node house (PoD = load − PV − battery, its energy counters integrating it) fed to the controller
 * once per `tick()` as the agent's readings hook would.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  privateKeySigner,
  setpointsSchema,
  topicCodecs,
  type Ack,
  type QosReport,
  type Setpoint,
} from '@lightnode/protocols';
import { FakeClock, TEST_OPERATOR_KEY, testDomain, testSetpoint, testSigner } from '@lightnode/protocols/testing';
import { AuditLog } from '../setpoints/audit.js';
import { SetpointController } from '../setpoints/runtime.js';
import type { EssLimits, SetpointsOptions } from '../setpoints/types.js';
import { FakeEssAdapter } from './fake-ess.js';
import { FakeLink } from './fake-link.js';
import type { FakeDisk } from './fake-queue.js';
import { FakeQueue } from './fake-queue.js';

/** The audit file's entries, parsed (`{i, atMs, event, …fields, prev, hash}`). */
export class AuditReader {
  constructor(readonly path: string) {}
  get entries(): ({ i: number; event: string } & Record<string, unknown>)[] {
    if (!existsSync(this.path)) return [];
    return readFileSync(this.path, 'utf8')
      .split('\n')
      .filter((l) => l)
      .map((l) => JSON.parse(l) as { i: number; event: string } & Record<string, unknown>);
  }
  /** The events, without the `setpoint.` prefix. */
  events(): string[] {
    return this.entries.map((e) => e.event.replace(/^setpoint\./, ''));
  }
  /** Entries of one event (without the prefix). */
  of(event: string): Record<string, unknown>[] {
    return this.entries.filter((e) => e.event === `setpoint.${event}`);
  }
}

/** `config.setpoints` with its defaults, the test operator the one issuer. */
export const TEST_SETPOINT_OPTIONS: SetpointsOptions = setpointsSchema.parse({
  issuers: [privateKeySigner(TEST_OPERATOR_KEY).address],
});

export const TEST_ESS_LIMITS: EssLimits = {
  maxDischargeW: 3000,
  maxChargeW: 3000,
  socMinPermille: 100,
  socMaxPermille: 950,
  capacityWh: 4800,
  rampWps: 10_000,
};

/** The window of `testSetpoint()`: 2021-06-23 10:30–10:45Z. */
export const TEST_WINDOW = { fromMs: 1_624_444_200_000, untilMs: 1_624_445_100_000 };

export interface SetpointRigOptions {
  /** Wall clock at the start; default 60 s before the test window. */
  startMs?: number;
  options?: Partial<SetpointsOptions>;
  limits?: Partial<EssLimits>;
  /** House load, W (default 2000) and PV, W (default 0). */
  loadW?: number;
  pvW?: number;
  socPermille?: number;
  stateDir?: string;
  disk?: FakeDisk;
}

export class SetpointRig {
  readonly clock: FakeClock;
  readonly link: FakeLink;
  readonly queue: FakeQueue;
  readonly ess: FakeEssAdapter;
  readonly audit: AuditReader;
  readonly auditLog: AuditLog;
  readonly controller: SetpointController;
  readonly stateDir: string;
  loadW: number;
  pvW: number;
  /** The PoD meter's energy counters, Wh (fractional inside, rounded on the reading). */
  importWh = 1_000_000;
  exportWh = 500_000;
  private readonly ownDir: boolean;

  constructor(o: SetpointRigOptions = {}) {
    this.clock = new FakeClock(o.startMs ?? TEST_WINDOW.fromMs - 60_000);
    this.link = new FakeLink(() => this.clock.now());
    this.queue = FakeQueue.open({ clock: this.clock, ...(o.disk ? { disk: o.disk } : {}) });
    this.ess = new FakeEssAdapter(this.clock, { socPermille: o.socPermille ?? 500 });
    this.ownDir = o.stateDir === undefined;
    this.stateDir = o.stateDir ?? mkdtempSync(join(tmpdir(), 'ln-setpoints-'));
    this.loadW = o.loadW ?? 2000;
    this.pvW = o.pvW ?? 0;
    this.audit = new AuditReader(join(this.stateDir, 'audit.jsonl'));
    this.auditLog = AuditLog.open(this.audit.path, { clock: this.clock });
    this.controller = new SetpointController({
      clock: this.clock,
      link: this.link,
      queue: this.queue,
      signer: testSigner(),
      domain: testDomain(),
      podId: 'IT002E61899978',
      stateDir: this.stateDir,
      options: { ...TEST_SETPOINT_OPTIONS, ...o.options },
      limits: { ...TEST_ESS_LIMITS, ...o.limits },
      adapter: this.ess,
      audit: this.auditLog,
    });
  }

  async start(): Promise<this> {
    this.link.connect();
    await this.controller.start();
    await this.clock.advance(0);
    return this;
  }

  /** The PoD meter's power now, W (import +). */
  get podW(): number {
    return this.loadW - this.pvW - this.ess.essPowerW;
  }

  /** `n` agent cycles of `ms`: a PoD reading to the controller, then time moves on (the counters integrate). */
  async tick(n = 1, ms = 1000): Promise<void> {
    for (let i = 0; i < n; i++) {
      const p = this.podW;
      this.controller.onReadings([
        {
          sourceId: 'pod',
          role: 'pod',
          tsMs: this.clock.now(),
          source: 'modbus-tcp',
          values: {
            activePowerW: { value: p, quality: 'good' },
            energyImportWh: { value: Math.floor(this.importWh), quality: 'good' },
            energyExportWh: { value: Math.floor(this.exportWh), quality: 'good' },
          },
        },
      ]);
      await this.clock.advance(ms);
      const wh = (this.podW * ms) / 3.6e6;
      if (wh > 0) this.importWh += wh;
      else this.exportWh -= wh;
    }
  }

  /** Delivers a setpoint (signed by the test operator unless given signed). */
  async send(x: Parameters<typeof testSetpoint>[1] & { nonce?: number } = {}): Promise<Setpoint> {
    const signed = testSetpoint(x.nonce ?? 1, x);
    await this.link.deliver('setpoint', signed);
    await this.clock.advance(0);
    return signed.message;
  }

  /** The acks queued so far, in seq order. */
  acks(): Ack[] {
    return this.queued('ack') as Ack[];
  }

  reports(): QosReport[] {
    return this.queued('qos') as QosReport[];
  }

  private queued(kind: 'ack' | 'qos'): (Ack | QosReport)[] {
    return this.queue
      .pending(100_000, new Set())
      .filter((i) => i.kind === kind)
      .map((i) => topicCodecs[kind].decode(i.payload).message);
  }

  /** `state:reason` of each ack, for compact assertions. */
  ackStates(): string[] {
    return this.acks().map((a) => (a.reason ? `${a.state}:${a.reason}` : a.state));
  }

  async stop(): Promise<void> {
    const s = this.controller.stop();
    await this.clock.advance(this.controller ? 10_000 : 0);
    await s;
    this.auditLog.close();
    if (this.ownDir) rmSync(this.stateDir, { recursive: true, force: true });
  }
}
