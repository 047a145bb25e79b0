/**
 * Faults of the Chain 2 gateway simulator as specs, in the `KIND[:ARG][@PROBABILITY]` shape of the Modbus and ESS
 * simulators: `lose@P`, `duplicate@P`, `late@P`, `malformed@P` (a probability per frame, as `lightnode sim chain2
 * --lose P` …; without `@P` every frame) and `reboot-every:S` (the gateway restarts every S wall-clock seconds, as
 * `--reboot-every S`).
 */
import { LightNodeError } from '@lightnode/protocols';
import type { Chain2SimOptions } from './simulator.js';

export const CHAIN2_FRAME_FAULTS = ['lose', 'duplicate', 'late', 'malformed'] as const;

/** The simulator options the specs set. */
export interface Chain2Faults {
  faults: NonNullable<Chain2SimOptions['faults']>;
  rebootEveryS?: number;
}

/** Parses Chain 2 fault specs; a bad one is a `USAGE` error naming it and the syntax. */
export function parseChain2Faults(specs: readonly string[]): Chain2Faults {
  const out: Chain2Faults = { faults: {} };
  for (const s of specs) {
    const bad = (why: string): never => {
      throw new LightNodeError(
        'USAGE',
        `--fault ${JSON.stringify(s)}: ${why} (Chain 2 faults: lose[@P], duplicate[@P], late[@P], malformed[@P], reboot-every:S)`,
        { flag: 'fault', received: s },
      );
    };
    const m = /^([a-z-]+)(?::([^@]+))?(?:@([0-9.]+))?$/.exec(s);
    if (!m) return bad('malformed');
    const [, kind, arg, prob] = m;
    if (kind === 'reboot-every') {
      const everyS = Number(arg);
      if (arg === undefined || !Number.isFinite(everyS) || everyS < 0.1) bad('expected reboot-every:S with S ≥ 0.1 s');
      if (prob !== undefined) bad('reboot-every takes no probability');
      out.rebootEveryS = everyS;
      continue;
    }
    const frame = CHAIN2_FRAME_FAULTS.find((k) => k === kind);
    if (!frame) return bad(`unknown kind ${kind}`);
    if (arg !== undefined) bad(`${frame} takes no argument, only @PROBABILITY`);
    const p = prob === undefined ? 1 : Number(prob);
    if (!(p >= 0 && p <= 1)) bad('probability must be 0..1');
    out.faults[frame] = p;
  }
  return out;
}
