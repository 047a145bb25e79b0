/**
 * One commissioning run: the steps in order (`STEP_IDS`), each emitted as events for a UI, then the result the
 * command prints. The PoD was already checked (inputs.ts) before this is called.
 */
import { readFileSync } from 'node:fs';
import { LightNodeError, validatePodId, type AgentConfig } from '@lightnode/protocols';
import { planConfig, readOldConfig, reportStoreOf, writeConfig } from './config.js';
import { defaultTransport, Lines } from './devices.js';
import { addressQr, deviceKey, machineSerial } from './identity.js';
import { writeReport, type ReportMeter } from './report.js';
import {
  batteryStep,
  chain2Step,
  check,
  cloudStep,
  enrollStep,
  readMeters,
  scanStep,
  type Chain2Found,
  type StepCtx,
} from './steps.js';
import type { Check, CommissionDeps, CommissionInputs, StepId } from './types.js';

/** This package's version (its package.json, beside dist/), written in the report as the agent version. */
export function packageVersion(): string {
  try {
    const doc = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof doc.version === 'string' ? doc.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

export interface CommissionResult {
  result: 'pass' | 'fail';
  deviceId: string;
  serial: string;
  podId: string;
  meters: ReportMeter[];
  chain2: Chain2Found | null;
  checks: Check[];
  configPath: string | null;
  report: { json: string; html: string } | null;
  /** The address's QR code for a terminal (not in `--json`). */
  qrTerminal: string;
}

export async function runCommission(inputs: CommissionInputs, deps: CommissionDeps): Promise<CommissionResult> {
  const { clock } = deps;
  const startedMs = clock.now();
  const checks: Check[] = [];
  const emit = deps.onEvent ?? (() => undefined);
  const c: StepCtx = {
    inputs,
    deps,
    clock,
    signal: deps.io.signal,
    progress: (id, done, total, detail) => emit({ type: 'progress', id, done, total, detail }),
  };
  const record = (k: Check): Check => (checks.push(k), emit({ type: 'step-end', check: k }), k);
  const start = (id: StepId): void => emit({ type: 'step-start', id });
  /** Ctrl-C (io.signal): no further step, and nothing written. */
  const halt = (): void => {
    if (deps.io.signal.aborted)
      throw new LightNodeError(
        'COMMISSION_FAILED',
        `interrupted (${checks.map((k) => `${k.id} ${k.result}`).join(', ')}): no config and no report written`,
        { checks },
      );
  };

  start('identity');
  const key = deviceKey(inputs.keyFile);
  const deviceId = key.signer.address;
  const ms =
    inputs.serial !== undefined
      ? { serial: inputs.serial, source: '--serial' }
      : (deps.machineSerial ?? machineSerial)();
  const serial = ms?.serial ?? deviceId.slice(2, 18);
  const qr = await addressQr(deviceId);
  record(
    check(
      'identity',
      ms ? 'pass' : 'fail',
      `serial ${serial} (${ms?.source ?? 'none found: give --serial S; the address is used meanwhile'}), address ${deviceId} (${inputs.keyFile}${key.created ? ', new key' : ''})`,
    ),
  );

  start('pod');
  const pod = validatePodId(inputs.podId);
  record(check('pod', pod.ok ? 'pass' : 'fail', pod.ok ? `PoD ${inputs.podId}` : pod.reason));

  const lines = new Lines({
    clock,
    ...(deps.logger ? { logger: deps.logger } : {}),
    openTransport: deps.openTransport ?? defaultTransport,
  });
  const old = readOldConfig(inputs.configOut);
  try {
    start('rs485');
    const rtu = await scanStep(c, 'rs485', inputs.rs485);
    record(rtu.check);
    halt();
    start('modbus-tcp');
    const tcp = await scanStep(c, 'modbus-tcp', inputs.tcp);
    record(tcp.check);
    const found = [...rtu.found, ...tcp.found];
    const plan = planConfig(inputs, found, old);
    const values = await readMeters(lines, plan, clock);

    halt();
    start('chain2');
    const c2 = await chain2Step(c);
    record(c2.check);

    halt();
    start('battery');
    const bat = await batteryStep(c, plan, lines, inputs.rs485.length + inputs.tcp.length > 0);
    record(bat.check);
    await lines.close();

    halt();
    start('cloud');
    record(await cloudStep(c, deviceId, old));

    halt();
    start('enroll');
    record((await enrollStep(c, serial, key.signer)).check);

    halt();
    start('config');
    let config: AgentConfig | undefined;
    try {
      const w = writeConfig(inputs.configOut, plan.doc);
      config = w.config;
      const n = plan.meters.length;
      record(
        check(
          'config',
          'pass',
          `${inputs.configOut}: ${config.lines.length} line(s), ${n} meter(s), ${config.assets.length} ESS, ${config.chain2.length} Chain 2${w.backup ? `; the previous one kept as ${w.backup}` : ''}`,
        ),
      );
    } catch (e) {
      const why = (e as Error).message;
      record(
        check(
          'config',
          'fail',
          `${why}${/uplink/.test(why) ? ' — give --cloud URL (the broker the agent ships to)' : ''}`,
        ),
      );
    }

    const meters: ReportMeter[] = plan.meters.map((d, i) => ({
      id: plan.meterIds[i]!,
      profile: d.profile,
      unit: d.unit,
      ...(d.port !== undefined ? { port: d.port, baud: d.baud ?? 9600, parity: d.parity ?? 'none' } : {}),
      ...(d.host !== undefined ? { host: d.host, tcpPort: d.tcpPort ?? 502 } : {}),
      ...(d.model ? { model: d.model } : {}),
      ...(d.serialNumber ? { serialNumber: d.serialNumber } : {}),
      ...(d === plan.podMeter ? { role: 'pod' } : {}),
      readings: values.get(d)?.readings ?? {},
    }));

    start('report');
    let report: CommissionResult['report'] = null;
    {
      try {
        const w = writeReport({
          body: {
            device: {
              deviceId,
              serial,
              serialSource: ms?.source ?? 'address',
              agentVersion: deps.agentVersion ?? packageVersion(),
            },
            podId: inputs.podId,
            installer: inputs.installer,
            startedAt: new Date(startedMs).toISOString(),
            finishedAt: new Date(clock.now()).toISOString(),
            meters,
            battery: bat.battery,
            chain2: c2.chain2 as Record<string, unknown> | null,
            checks: [...checks],
            configPath: inputs.configOut,
          },
          signer: key.signer,
          // a failed commissioning is reported too: without a valid config, its state dir and chain keys
          config: config ?? reportStoreOf(plan.doc, inputs),
          clock,
          outDir: inputs.out,
          qrSvg: qr.svg,
        });
        report = { json: w.json, html: w.html };
        record(check('report', 'pass', `${w.json} and ${w.html}; queued in the outbox as report seq ${w.seq}`));
      } catch (e) {
        record(check('report', 'fail', (e as Error).message));
      }
    }
    return {
      result: checks.some((k) => k.result === 'fail') ? 'fail' : 'pass',
      deviceId,
      serial,
      podId: inputs.podId,
      meters,
      chain2: c2.chain2,
      checks,
      configPath: config ? inputs.configOut : null,
      report,
      qrTerminal: qr.terminal,
    };
  } finally {
    await lines.close();
  }
}
