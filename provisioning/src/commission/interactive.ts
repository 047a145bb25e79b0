/**
 * The installer's terminal (issue 15 item 6, interactive mode: a TTY and no `--non-interactive`): the customer's PoD
 * first (a bad one refused inline and asked again), then what the flags did not give, with `@inquirer/prompts`
 * (7.x: Node 20); `cli-progress` bars while the scans run; the summary with the QR code of the device's address.
 * Ctrl-C at a prompt is `PromptCancelled` (exit 130): every question comes before the first step, so nothing is
 * written.
 */
import { readdirSync } from 'node:fs';
import { confirm, input } from '@inquirer/prompts';
import cliProgress from 'cli-progress';
import { validatePodId } from '@lightnode/protocols';
import type { CommissionEvent, CommissionInputs, StepId } from './types.js';

export class PromptCancelled extends Error {
  readonly exitCode = 130;
  constructor() {
    super('cancelled at a prompt (Ctrl-C): nothing was written');
  }
}

export interface PromptStreams {
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
}

/** What the interactive run may still ask: the keys a flag did not give. */
export type Askable = Pick<
  CommissionInputs,
  'podId' | 'serial' | 'installer' | 'rs485' | 'fullScan' | 'tcp' | 'chain2' | 'batteryTest' | 'cloud' | 'enroll'
>;

const list = (s: string): string[] =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');

const URL_RE = /^(mqtts?|wss?|https?):\/\/[^/\s]+/;

/**
 * Asks, in order, every input the flags left open; `given` keys are not asked again. `defaults` (the machine's serial,
 * the serial ports present) is looked at only once the PoD is answered: the PoD comes before anything else.
 */
export async function askInputs(
  given: Partial<Askable>,
  defaults: () => { serial?: string; rs485?: string[] },
  streams: PromptStreams = {},
): Promise<Partial<Askable>> {
  const ctx = {
    ...(streams.input ? { input: streams.input } : {}),
    ...(streams.output ? { output: streams.output } : {}),
  };
  const ask = async <T>(p: Promise<T>): Promise<T> => {
    try {
      return await p;
    } catch (e) {
      if ((e as Error).name === 'ExitPromptError' || (e as Error).name === 'AbortPromptError')
        throw new PromptCancelled();
      throw e;
    }
  };
  const out: Partial<Askable> = { ...given };
  if (out.podId === undefined)
    out.podId = (
      await ask(
        input(
          {
            message: "Customer's PoD (on the bill, e.g. IT002E61899978):",
            validate: (v) => {
              const c = validatePodId(v.trim());
              return c.ok ? true : `PoD ${JSON.stringify(v.trim())} refused: ${c.reason}`;
            },
          },
          ctx,
        ),
      )
    ).trim();
  const seen = defaults();
  if (out.serial === undefined)
    out.serial = (
      await ask(
        input(
          {
            message: 'Device serial number:',
            ...(seen.serial ? { default: seen.serial } : {}),
            required: true,
          },
          ctx,
        ),
      )
    ).trim();
  if (out.installer === undefined)
    out.installer = (await ask(input({ message: 'Installer (your name or company id):', required: true }, ctx))).trim();
  if (out.rs485 === undefined)
    out.rs485 = list(
      await ask(
        input(
          {
            message: 'RS-485 ports to scan (comma-separated, empty: none):',
            default: (seen.rs485 ?? []).join(','),
          },
          ctx,
        ),
      ),
    );
  if (out.fullScan === undefined && out.rs485.length > 0)
    out.fullScan = await ask(
      confirm(
        {
          message: 'Scan every unit id 1–247 on RS-485 (slow; only when a meter was readdressed)?',
          default: false,
        },
        ctx,
      ),
    );
  if (out.tcp === undefined)
    out.tcp = list(
      await ask(input({ message: 'Modbus TCP devices (HOST[:PORT], comma-separated, empty: none):' }, ctx)),
    );
  if (out.chain2 === undefined) {
    const v = (
      await ask(
        input(
          {
            message: 'Chain 2 device local API (ws:// or http:// URL, empty: none):',
            validate: (x) =>
              x.trim() === '' || URL_RE.test(x.trim()) || 'expected a ws://, wss://, http:// or https:// URL',
          },
          ctx,
        ),
      )
    ).trim();
    if (v) out.chain2 = v;
  }
  if (out.batteryTest === undefined)
    out.batteryTest = await ask(
      confirm(
        { message: 'Run the battery test (±500 W for 10 s each way, watching the PoD meter)?', default: false },
        ctx,
      ),
    );
  if (out.cloud === undefined) {
    const v = (
      await ask(
        input(
          {
            message: 'Cloud broker (mqtt:// or mqtts:// URL, empty: skip the cloud check):',
            validate: (x) =>
              x.trim() === '' || /^mqtts?:\/\/[^/\s]+/.test(x.trim()) || 'expected an mqtt:// or mqtts:// URL',
          },
          ctx,
        ),
      )
    ).trim();
    if (v) out.cloud = v;
  }
  if (out.enroll === undefined) {
    const url = (
      await ask(
        input(
          {
            message: 'Enrollment service (https:// URL from the installer app, empty: no enrollment):',
            validate: (x) => x.trim() === '' || /^https?:\/\/[^/\s]+/.test(x.trim()) || 'expected an http(s):// URL',
          },
          ctx,
        ),
      )
    ).trim();
    if (url) {
      const token = (
        await ask(input({ message: 'Enrollment token (single use, 15 min):', required: true }, ctx))
      ).trim();
      out.enroll = { url, token };
    }
  }
  return out;
}

/** Progress on a terminal: one line per step, a bar per scanning step, the result of each check. */
export class TtyProgress {
  private readonly bars: cliProgress.MultiBar;
  private readonly bar = new Map<StepId, cliProgress.SingleBar>();
  constructor(private readonly stream: NodeJS.WritableStream) {
    this.bars = new cliProgress.MultiBar(
      {
        stream: stream,
        format: ' {step} [{bar}] {percentage}% {value}/{total} {detail}',
        barCompleteChar: '#',
        barIncompleteChar: '.',
        hideCursor: false,
        clearOnComplete: false,
        stopOnComplete: false,
        noTTYOutput: true,
        notTTYSchedule: 500,
        etaBuffer: 10,
      },
      cliProgress.Presets.legacy,
    );
  }

  readonly onEvent = (e: CommissionEvent): void => {
    if (e.type === 'progress') {
      let b = this.bar.get(e.id);
      if (!b) {
        b = this.bars.create(e.total, 0, { step: e.id.padEnd(10), detail: '' });
        this.bar.set(e.id, b);
      }
      b.setTotal(e.total);
      b.update(e.done, { detail: e.detail.slice(0, 50) });
    } else if (e.type === 'step-end') {
      const b = this.bar.get(e.check.id);
      if (b) b.update(b.getTotal(), { detail: '' });
      const mark = e.check.result === 'pass' ? 'ok  ' : e.check.result === 'fail' ? 'FAIL' : 'skip';
      // one screen line each: a wrapped line would throw the bars' cursor arithmetic off
      const cols = (this.stream as NodeJS.WriteStream).columns ?? 120;
      const line = `[${mark}] ${e.check.id}: ${e.check.detail}`;
      this.bars.log(`${line.length > cols - 1 ? line.slice(0, cols - 2) + '…' : line}\n`);
    }
  };

  stop(): void {
    this.bars.stop();
  }
}

/** Serial ports an installer is likely to mean: the stable by-id names, else the usual adapters' device nodes. */
export function detectSerialPorts(
  list: (dir: string) => string[] = (d) => {
    try {
      return readdirSync(d);
    } catch {
      return [];
    }
  },
): string[] {
  const byId = list('/dev/serial/by-id').map((n) => `/dev/serial/by-id/${n}`);
  if (byId.length) return byId;
  return list('/dev')
    .filter((n) => /^tty(USB|ACM|AMA|SC|RS485)\d/.test(n))
    .map((n) => `/dev/${n}`)
    .sort();
}
