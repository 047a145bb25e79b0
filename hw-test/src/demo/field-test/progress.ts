/** The field test's steps, in order, and the progress line of each (`[k/N] step: what happened, with its numbers`). */
import type { ReportStep } from '../report/types.js';

export const FIELD_STEPS = [
  'cloud',
  'light nodes',
  'PoDs and baselines',
  'PoD–PoM association',
  'DSO request',
  'TSO request',
  'offers',
  'market clearing',
  'validation',
  'validated outcomes',
  'activation morning',
  'setpoints',
  'acks',
  'QoS',
  'anchoring',
  'settlement',
  'proofs',
] as const;
export type FieldStep = (typeof FIELD_STEPS)[number];

export class Progress {
  readonly steps: ReportStep[] = [];
  private last = performance.now();
  constructor(private readonly say: (line: string) => void) {}

  /** Records step `name` as done (ok unless told otherwise) and prints its line. */
  done(name: FieldStep, what: string, ok = true): void {
    const k = FIELD_STEPS.indexOf(name) + 1;
    const line = `[${k}/${FIELD_STEPS.length}] ${name}: ${what}`;
    const now = performance.now();
    this.steps.push({ k, of: FIELD_STEPS.length, name, line, ok, wallMs: Math.round(now - this.last) });
    this.last = now;
    this.say(line);
  }
}
