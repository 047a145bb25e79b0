/**
 * `LIGHTNODE_CLOCK` (a test knob of `lightnode agent`, edge/README.md § Test knobs): the agent's clock from the
 * environment, its step file re-read every second on the base clock's timer. The parsing is protocols'
 * (`parseClockKnob`, `parseClockStep`); the file reading is here.
 */
import { readFileSync } from 'node:fs';
import {
  isLightNodeError,
  LightNodeError,
  parseClockKnob,
  parseClockStep,
  steppedClock,
  systemClock,
  type Clock,
  type Logger,
} from '@lightnode/protocols';

/** How often the step file is re-read, ms of the base clock. */
export const STEP_REREAD_MS = 1000;

/** `details.clock` of `lightnode status --json`. */
export interface ClockKnobStatus {
  offsetMs: number;
  speed: number;
  stepMs: number;
  stepFile?: string;
}

export interface EnvClock {
  clock: Clock;
  status(): ClockKnobStatus;
  /** Stops re-reading the step file. */
  stop(): void;
}

/** The file's text, or null when it does not exist (step 0). */
function readStepFile(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/**
 * The clock `env.LIGHTNODE_CLOCK` describes, or null when the variable is absent or blank (then the caller keeps the
 * system clock). A bad variable, or a step file that is unreadable or not an integer at start → CONFIG_INVALID; a
 * missing file is a step of 0. Later a bad read is logged and the last step kept.
 */
export function envClock(
  env: NodeJS.ProcessEnv,
  o: { logger: Logger; base?: Clock; readFile?: (path: string) => string | null },
): EnvClock | null {
  const knob = parseClockKnob(env.LIGHTNODE_CLOCK);
  if (!knob) return null;
  const base = o.base ?? systemClock;
  const read = o.readFile ?? readStepFile;
  const clock = steppedClock(knob, base);
  const file = knob.stepFile;
  const readStep = (): number => {
    if (file === undefined) return 0;
    const text = read(file);
    return text === null ? 0 : parseClockStep(text, file);
  };
  try {
    clock.stepMs = readStep();
  } catch (e) {
    if (isLightNodeError(e)) throw e;
    throw new LightNodeError(
      'CONFIG_INVALID',
      `LIGHTNODE_CLOCK: stepFile ${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      { variable: 'LIGHTNODE_CLOCK', file },
    );
  }
  o.logger.warn('LIGHTNODE_CLOCK set: a test clock (never in production)', {
    offsetMs: knob.offsetMs,
    speed: knob.speed,
    stepMs: clock.stepMs,
    ...(file !== undefined ? { stepFile: file } : {}),
  });
  let cancel: (() => void) | null = null;
  let lastError = '';
  let stopped = false;
  const tick = (): void => {
    if (stopped) return;
    try {
      const step = readStep();
      lastError = '';
      if (step !== clock.stepMs) {
        o.logger.info('LIGHTNODE_CLOCK: the clock steps', { fromMs: clock.stepMs, toMs: step });
        clock.stepMs = step;
      }
    } catch (e) {
      const msg = (e as Error).message;
      if (msg !== lastError)
        o.logger.warn('LIGHTNODE_CLOCK: step file unreadable, keeping the last step', { error: msg });
      lastError = msg;
    }
    cancel = base.setTimer(STEP_REREAD_MS, tick);
  };
  if (file !== undefined) cancel = base.setTimer(STEP_REREAD_MS, tick);
  return {
    clock,
    status: () => ({
      offsetMs: knob.offsetMs,
      speed: knob.speed,
      stepMs: clock.stepMs,
      ...(file !== undefined ? { stepFile: file } : {}),
    }),
    stop: () => {
      stopped = true;
      cancel?.();
      cancel = null;
    },
  };
}
