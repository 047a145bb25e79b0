/**
 * Faults of the ESS simulator, `KIND[:ARG][@PROBABILITY]`: `refuse` (writes answered with a Modbus exception 4 /
 * HTTP 503 / ignored on MQTT), `silent-revert:S` (S s after each command the battery goes back to autonomous power
 * without telling: its registers and state still say remote and the commanded setpoint, evcc #33037), `fake-mode`
 * (reports remote mode and the commanded setpoint, power never follows, fronius_modbus #127), `drop-connection`
 * (the connection is closed instead of answering). Other kinds are the Modbus transport faults of `lightnode sim
 * meter` (timeout, slow:MS, exception:CODE, …), applied to the battery's Modbus unit.
 */
import { LightNodeError } from '@lightnode/protocols';
import { parseFault, type Fault } from '../modbus/simulator.js';

export type EssFault =
  | { kind: 'refuse'; probability?: number }
  | { kind: 'silent-revert'; afterS: number }
  | { kind: 'fake-mode' }
  | { kind: 'drop-connection'; probability?: number };

/** Whether a fault with a probability applies to this request. */
export function faultSelected(f: { probability?: number }, random: () => number): boolean {
  return random() < (f.probability ?? 1);
}

/** The battery's faults and the Modbus transport faults of a list of specs. */
export function parseEssFaults(specs: readonly string[]): { ess: EssFault[]; modbus: Fault[] } {
  const ess: EssFault[] = [];
  const modbus: Fault[] = [];
  for (const s of specs) {
    const m = /^(refuse|silent-revert|fake-mode)(?::([^@]+))?(?:@([0-9.]+))?$/.exec(s);
    if (!m) {
      const f = parseOrExplain(s); // drop-connection and the transport faults
      if (f.kind === 'drop-connection')
        ess.push({ kind: 'drop-connection', ...(f.probability !== undefined ? { probability: f.probability } : {}) });
      else modbus.push(f);
      continue;
    }
    const [, kind, arg, prob] = m;
    const bad = (why: string): never => {
      throw new LightNodeError('USAGE', `--fault ${JSON.stringify(s)}: ${why}`, { flag: 'fault', received: s });
    };
    const probability = prob !== undefined ? Number(prob) : undefined;
    if (probability !== undefined && !(probability >= 0 && probability <= 1)) bad('probability must be 0..1');
    if (kind === 'refuse') ess.push({ kind, ...(probability !== undefined ? { probability } : {}) });
    else if (kind === 'fake-mode') ess.push({ kind });
    else {
      const afterS = Number(arg);
      if (arg === undefined || !Number.isFinite(afterS) || afterS <= 0)
        bad('expected silent-revert:S with S > 0 seconds');
      ess.push({ kind: 'silent-revert', afterS });
    }
  }
  return { ess, modbus };
}

function parseOrExplain(s: string): Fault {
  try {
    return parseFault(s);
  } catch (e) {
    if (e instanceof LightNodeError && e.message.includes('unknown kind'))
      throw new LightNodeError(
        'USAGE',
        `--fault ${JSON.stringify(s)}: unknown kind (battery faults: refuse[@P], silent-revert:S, fake-mode, drop-connection[@P]; Modbus transport faults as in lightnode sim meter)`,
        { flag: 'fault', received: s },
      );
    throw e;
  }
}
