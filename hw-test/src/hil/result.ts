/** The result of one HIL run (issue 16's contract): what the runner produces and the JUnit / HTML reports read. */
export interface HilEvent {
  atS: number;
  do: string;
  target?: string;
  detail: string;
} // e.g. {atS: 12.3, do: 'kill9', target: 'a1', detail: 'SIGKILL pid 123'}
export interface InvariantResult {
  name: string;
  passed: boolean;
  detail: string;
  value?: number | string;
} // name = the invariant's key, e.g. 'coveragePct'
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
export interface HilSeries {
  power: { tS: number; meter: string; w: number }[]; // power per meter (from the Subscriber's verified batches or the sims)
  setpoint: { tS: number; targetW: number | null; podW: number | null }[];
  outbox: { tS: number; agent: string; samples: number }[]; // outbox depth from `lightnode status`
  link: { tS: number; agent: string; state: string }[]; // link state from status
}
export interface HilRunResult {
  scenario: string;
  passed: boolean;
  seed: number;
  speed: number;
  durationS: number;
  startedAtMs: number;
  wallS: number;
  broke?: { stage: string; message: string }; // the run broke (a peer did not start: named)
  invariants: InvariantResult[];
  figures: HilFigures;
  events: HilEvent[];
  series: HilSeries;
  notes: string[]; // e.g. 'MQTT keepalive and TCP run in real time'
}
