/**
 * `npm run -s bench -- market [--json]`: day-ahead clearing of the flexibility market (`clearMarket`: per slot the
 * offers sorted once per sign, each request walks them cheapest first) on a seeded random session of 96 slots ×
 * 10,000 offers, against the naive clearing in the same run (`clearMarketNaive`: the same rules, each take rescans
 * every offer of the slot for the cheapest eligible one left — O(n²) per request), which must give the same outcome.
 * Also: reading the session document (JSON.parse + parseSession's checks), as `lightnode market clear` does.
 */
import { clearMarket, parseSession } from '@lightnode/cloud';
import { clearMarketNaive, randomSession, type RandomSessionSizes } from '@lightnode/cloud/testing';
import { emit, type BenchResult } from './common.js';

const SEED = 20210623;
const SIZES: RandomSessionSizes = {
  pods: 2_000,
  poms: 4,
  slots: 96,
  offers: 10_000,
  dsoPerSlot: 4,
  tsoPerSlot: 2,
  dsoSetShare: 0.1,
  maxNeedkW: 30_000,
  maxOfferkW: 500,
  priceLevels: 20,
};
const RUNS = 7;

/** Wall time and this process's CPU time (the machine may be shared: CPU time is what the clearing itself cost). */
const time = <T>(f: () => T): { ms: number; cpuMs: number; value: T } => {
  const [t0, c0] = [performance.now(), process.cpuUsage()];
  const value = f();
  const c = process.cpuUsage(c0);
  return { ms: performance.now() - t0, cpuMs: (c.user + c.system) / 1000, value };
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

export async function main(args: string[]): Promise<number> {
  const session = randomSession(SEED, SIZES);
  const units = session.offers.reduce((a, o) => a + o.flexibility[0]!.power.length, 0);
  process.stderr.write(
    `  ${session.offers.length} offers (${units} offer slots), ${session.requests.length} requests\n`,
  );
  const clears: { ms: number; cpuMs: number }[] = [];
  let outcome = clearMarket(session); // warm-up
  for (let i = 0; i < RUNS; i++) {
    const r = time(() => clearMarket(session));
    clears.push(r);
    outcome = r.value;
  }
  const clearMs = median(clears.map((c) => c.ms));
  const clearCpuMs = median(clears.map((c) => c.cpuMs));
  const naive = time(() => clearMarketNaive(session));
  if (JSON.stringify(naive.value) !== JSON.stringify(outcome))
    throw new Error('bench market: the naive clearing gave another outcome');
  // last, and nothing of it kept: a second copy of the session alive would weigh on the clearing's GC
  const text = JSON.stringify(session);
  const parse = time(() => void parseSession(JSON.parse(text)));
  const services = outcome.flexibility.reduce((a, f) => a + f.power.length, 0);
  const status = (s: string) => outcome.requests.filter((r) => r.status === s).length;
  const results: BenchResult[] = [
    { name: 'clear.ms', value: +clearMs.toFixed(1), unit: `ms (median of ${RUNS}; target < 1000)` },
    { name: 'clear.cpuMs', value: +clearCpuMs.toFixed(1), unit: `ms of CPU (median of ${RUNS}, incl. GC threads)` },
    { name: 'clear.perSlotMs', value: +(clearMs / SIZES.slots).toFixed(3), unit: 'ms' },
    { name: 'naive.ms', value: +naive.ms.toFixed(0), unit: 'ms (same outcome, checked)' },
    { name: 'naive.cpuMs', value: +naive.cpuMs.toFixed(0), unit: 'ms of CPU' },
    { name: 'parseSession.ms', value: +parse.ms.toFixed(0), unit: 'ms (JSON.parse + schema + references)' },
    { name: 'session.MB', value: +(text.length / 1e6).toFixed(1), unit: 'MB of JSON' },
    { name: 'offerSlots', value: units, unit: 'offers × slots' },
    { name: 'acceptedServices', value: services, unit: 'entries' },
    { name: 'requests.full', value: status('full'), unit: 'request slots' },
    { name: 'requests.partial', value: status('partial'), unit: 'request slots' },
    { name: 'requests.none', value: status('none'), unit: 'request slots' },
  ];
  emit(
    {
      bench: 'market',
      command: 'npm run -s bench -- market --json',
      dataset:
        `randomSession(seed ${SEED}): ${SIZES.slots} slots × ${SIZES.offers} offers (one delta per slot each, ` +
        `mixed signs, ${SIZES.priceLevels} price levels) on ${SIZES.pods} PoDs / ${SIZES.poms} PoMs; per slot ` +
        `${SIZES.dsoPerSlot} DSO requests on sets of ${SIZES.pods * SIZES.dsoSetShare!} PoDs and ${SIZES.tsoPerSlot} ` +
        `TSO requests on a PoM, |need| < ${SIZES.maxNeedkW} kW, 30 % without a price cap; naive on the full size`,
      results,
      ratios: {
        naiveOverClear: +(naive.ms / clearMs).toFixed(1),
        naiveOverClearCpu: +(naive.cpuMs / clearCpuMs).toFixed(1),
        clearTargetOverMs: +(1000 / clearMs).toFixed(2),
      },
    },
    args,
  );
  return 0;
}
