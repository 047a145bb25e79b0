/**
 * `lightnode commission`: the command surface. The scans and the enrollment client are injected
 * (`commissionCommand(deps)`); `bin/lightnode.mjs` loads the default export once they are wired.
 */
import type { Command, CommandIo } from '@lightnode/protocols';
import { isInteractive, resolveInputs, resolveInputsGiven, USAGE } from './inputs.js';
import { askInputs, detectSerialPorts, PromptCancelled, TtyProgress, type Askable } from './interactive.js';
import { machineSerial } from './identity.js';
import { runCommission, type CommissionResult } from './run.js';
import type { CommissionDeps } from './types.js';

/** The deps a command run needs besides its I/O (the dispatcher passes `io`). */
export type CommandDeps = Omit<CommissionDeps, 'io'>;

/** `--json`: the run's result without the terminal QR. */
export function jsonResult(r: CommissionResult): Record<string, unknown> {
  return {
    result: r.result,
    deviceId: r.deviceId,
    serial: r.serial,
    podId: r.podId,
    meters: r.meters,
    chain2: r.chain2,
    checks: r.checks,
    configPath: r.configPath,
    report: r.report,
  };
}

/** The readable summary: identity with the QR, then one line per check. */
export function summary(r: CommissionResult): string[] {
  const w = Math.max(...r.checks.map((c) => c.id.length));
  return [
    `Light Node ${r.deviceId} (serial ${r.serial}) at PoD ${r.podId}`,
    r.qrTerminal.trimEnd(),
    ...r.checks.map((c) => `  ${c.id.padEnd(w)}  ${c.result.toUpperCase().padEnd(4)}  ${c.detail}`),
    ...r.meters.map(
      (m) =>
        `  meter ${m.profile} unit ${m.unit} ${m.port ?? `${m.host ?? ''}:${m.tcpPort ?? ''}`}${m.serialNumber ? ` s/n ${m.serialNumber}` : ''}: ${Object.entries(
          m.readings,
        )
          .slice(0, 6)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}`,
    ),
    r.report ? `report ${r.report.json} (printable ${r.report.html})` : 'no report written',
    r.result === 'pass'
      ? 'commissioning passed'
      : `commissioning FAILED: ${r.checks
          .filter((c) => c.result === 'fail')
          .map((c) => c.id)
          .join(', ')}`,
  ];
}

/** `deps` may be loaded lazily: the inputs (the PoD first) are checked before they are asked for. */
export function commissionCommand(deps: CommandDeps | (() => Promise<CommandDeps>)): Command {
  return {
    summary: 'commission a Light Node on site: find meters, battery, Chain 2 and cloud; write config and report',
    usage: USAGE,
    async run(argv: string[], io: CommandIo) {
      if (isInteractive(argv, process.stdin.isTTY === true && process.stdout.isTTY === true))
        return runInteractive(argv, io, deps);
      const inputs = resolveInputs(argv);
      const d = typeof deps === 'function' ? await deps() : deps;
      const r = await runCommission(inputs, { ...d, io });
      if (inputs.json) io.stdout(JSON.stringify(jsonResult(r)));
      else for (const l of summary(r)) io.stdout(l);
      return r.result === 'pass' ? 0 : 1;
    },
  };
}

/**
 * The installer at a terminal: the PoD first (refused inline and asked again when malformed), then every input the
 * flags did not give; bars while the steps run; the summary with the QR code. Ctrl-C at a prompt exits 130 before
 * anything was written (the questions all come before the first step).
 */
async function runInteractive(
  argv: string[],
  io: CommandIo,
  deps: CommandDeps | (() => Promise<CommandDeps>),
): Promise<number> {
  const { inputs, given } = resolveInputsGiven(argv, { requirePod: false });
  const have: Partial<Askable> = {};
  for (const k of given) if (k in inputs) (have as Record<string, unknown>)[k] = inputs[k];
  let asked: Partial<Askable>;
  try {
    asked = await askInputs(have, () => {
      const serial = machineSerial()?.serial;
      return { ...(serial ? { serial } : {}), rs485: detectSerialPorts() };
    });
  } catch (e) {
    if (e instanceof PromptCancelled) {
      io.stderr(e.message);
      return e.exitCode;
    }
    throw e;
  }
  const full = { ...inputs, ...asked };
  const d = typeof deps === 'function' ? await deps() : deps;
  const bars = new TtyProgress(process.stdout);
  let r: CommissionResult;
  try {
    r = await runCommission(full, {
      ...d,
      io,
      onEvent: (e) => {
        bars.onEvent(e);
        d.onEvent?.(e);
      },
    });
  } finally {
    bars.stop();
  }
  for (const l of summary(r)) io.stdout(l);
  return r.result === 'pass' ? 0 : 1;
}
