/**
 * One HIL run's result (issue 16, item 4): what the runner hands the reports (junit.ts, html.ts) and, projected to
 * `{scenario, passed, seed, speed, durationS, invariants, figures, events}`, what `lightnode hil run --json` prints.
 * Times `atS` / `tS` are simulated seconds from the scenario's start; `startedAtMs` is wall-clock UTC ms.
 */

/** One timeline event as it happened, e.g. `{atS: 12.3, do: 'kill9', target: 'a1', detail: 'SIGKILL pid 123'}`. */
export interface HilEvent {
  atS: number;
  do: string;
  target?: string;
  detail: string;
}

/** One invariant's verdict; `name` is the invariant's key in the scenario (e.g. `coveragePct`). */
export interface InvariantResult {
  name: string;
  passed: boolean;
  detail: string;
  value?: number | string;
}

/** The run's figures (counts; `drainS` / `fallbackS` in simulated s, `rssMaxMB` in MB; null = not measured). */
export interface HilFigures {
  samples: number;
  lost: number;
  conflicts: number;
  gaps: number;
  maxOutboxDepth: number;
  drainS: number | null;
  fallbackS: number | null;
  rssMaxMB: number | null;
}

/** The series the HTML report charts (`tS` simulated s; power in W, import positive at a PoD). */
export interface HilSeries {
  /** Power per meter (from the Subscriber's verified batches or the simulators). */
  power: { tS: number; meter: string; w: number }[];
  /** The setpoint's target and the PoD's measured level (null when none is active / nothing measured). */
  setpoint: { tS: number; targetW: number | null; podW: number | null }[];
  /** Outbox depth (samples) per agent, from `lightnode status`. */
  outbox: { tS: number; agent: string; samples: number }[];
  /** Link state per agent, from status (e.g. `connected`, `offline`). */
  link: { tS: number; agent: string; state: string }[];
}

export interface HilRunResult {
  scenario: string;
  /** Every invariant held and the run did not break. */
  passed: boolean;
  seed: number;
  speed: number;
  /** Simulated duration (s). */
  durationS: number;
  /** Wall-clock start (UTC ms). */
  startedAtMs: number;
  /** Wall time the run took (s). */
  wallS: number;
  /** The run broke (a peer did not start: named). */
  broke?: { stage: string; message: string };
  invariants: InvariantResult[];
  figures: HilFigures;
  events: HilEvent[];
  series: HilSeries;
  /** E.g. 'MQTT keepalive and TCP run in real time'. */
  notes: string[];
}
