// The command plan: the formula, the clamp order and its reasons, and (fast-check) that over random readings and
// setpoints no command is ever beyond a limit — the pure plan, and the controller driving a simulated house.
import test from 'ava';
import fc from 'fast-check';
import { SetpointRig, TEST_ESS_LIMITS, TEST_WINDOW } from '../testing/index.js';
import { commandBounds, planCommand, type PlanInput } from './plan.js';
import type { EssLimits } from './types.js';

const base: PlanInput = {
  targetPodW: 0,
  podPowerW: 1000,
  essPowerW: 0,
  socPermille: 500,
  limits: TEST_ESS_LIMITS,
  nowMs: 0,
  validUntilMs: 900_000,
  elapsedMs: 1000,
};

test('desired = (PoD + battery) − target; within limits → no reason', (t) => {
  const p = planCommand({ ...base, podPowerW: 800, essPowerW: 200, targetPodW: -500 });
  t.like(p, { desiredW: 1500, commandW: 1500, ramping: false, expectedPodW: -500 });
  t.is(p.reason, undefined);
});

test('the first binding limit is the reason: power before energy before ramp', (t) => {
  // beyond max discharge and near the floor: power binds first
  t.is(planCommand({ ...base, podPowerW: 9000, socPermille: 110 }).reason, 'ESS_MAX_DISCHARGE');
  t.is(planCommand({ ...base, podPowerW: 9000, socPermille: 110 }).commandW, 192);
  t.is(planCommand({ ...base, podPowerW: 1000, socPermille: 110 }).reason, 'ESS_SOC_MIN');
  t.is(planCommand({ ...base, podPowerW: -9000 }).reason, 'ESS_MAX_CHARGE');
  t.is(planCommand({ ...base, podPowerW: -1000, socPermille: 949 }).reason, 'ESS_SOC_MAX');
  const slow = { ...TEST_ESS_LIMITS, rampWps: 1 };
  t.is(planCommand({ ...base, limits: slow, lastCommandW: 0 }).reason, 'ESS_RAMP');
  // reachable in time: ramping, no reason
  const p = planCommand({ ...base, limits: { ...TEST_ESS_LIMITS, rampWps: 100 }, lastCommandW: 0 });
  t.like(p, { commandW: 100, ramping: true });
  t.is(p.reason, undefined);
});

test('at or below the SoC floor nothing is discharged; at the ceiling nothing charged', (t) => {
  t.is(planCommand({ ...base, socPermille: 100 }).commandW, 0);
  t.is(planCommand({ ...base, socPermille: 50 }).commandW, 0);
  t.is(planCommand({ ...base, podPowerW: -1000, socPermille: 950 }).commandW, 0);
});

const limitsArb: fc.Arbitrary<EssLimits> = fc
  .record({
    maxDischargeW: fc.integer({ min: 0, max: 20_000 }),
    maxChargeW: fc.integer({ min: 0, max: 20_000 }),
    socMinPermille: fc.integer({ min: 0, max: 500 }),
    socMaxPermille: fc.integer({ min: 500, max: 1000 }),
    capacityWh: fc.integer({ min: 100, max: 100_000 }),
    rampWps: fc.integer({ min: 0, max: 50_000 }),
  })
  .map((l) => l);

function withinLimits(w: number, l: EssLimits, soc: number, remainingMs: number): boolean {
  const b = commandBounds(l, soc, remainingMs);
  const energyOk =
    w <= 0
      ? (-w * Math.max(remainingMs, 1)) / 3.6e6 <= (Math.max(0, l.socMaxPermille - soc) / 1000) * l.capacityWh + 1e-9
      : (w * Math.max(remainingMs, 1)) / 3.6e6 <= (Math.max(0, soc - l.socMinPermille) / 1000) * l.capacityWh + 1e-9;
  return Number.isInteger(w) && w <= l.maxDischargeW && -w <= l.maxChargeW && w >= b.min && w <= b.max && energyOk;
}

test('fast-check: the plan never commands beyond a power or energy limit', (t) => {
  fc.assert(
    fc.property(
      limitsArb,
      fc.integer({ min: -50_000, max: 50_000 }),
      fc.integer({ min: -50_000, max: 50_000 }),
      fc.integer({ min: -30_000, max: 30_000 }),
      fc.integer({ min: 0, max: 1000 }),
      fc.integer({ min: 1, max: 3_600_000 }),
      fc.option(fc.integer({ min: -50_000, max: 50_000 }), { nil: undefined }),
      fc.integer({ min: 0, max: 60_000 }),
      (limits, targetPodW, podPowerW, essPowerW, soc, remainingMs, lastCommandW, elapsedMs) => {
        const p = planCommand({
          targetPodW,
          podPowerW,
          essPowerW,
          socPermille: soc,
          limits,
          nowMs: 0,
          validUntilMs: remainingMs,
          elapsedMs,
          ...(lastCommandW !== undefined ? { lastCommandW } : {}),
        });
        return withinLimits(p.commandW, limits, soc, remainingMs);
      },
    ),
    { numRuns: 5000 },
  );
  t.pass();
});

test('fast-check: the controller on a simulated house never commands beyond a limit', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      limitsArb,
      fc.integer({ min: 0, max: 1000 }),
      fc.array(
        fc.record({
          activePowerW: fc.integer({ min: -20_000, max: 20_000 }),
          cycles: fc.integer({ min: 1, max: 8 }),
          loadW: fc.integer({ min: 0, max: 15_000 }),
          pvW: fc.integer({ min: 0, max: 10_000 }),
        }),
        { minLength: 1, maxLength: 4 },
      ),
      async (limits, soc, steps) => {
        const r = await new SetpointRig({ startMs: TEST_WINDOW.fromMs, limits, socPermille: soc }).start();
        try {
          let nonce = 1;
          for (const s of steps) {
            r.loadW = s.loadW;
            r.pvW = s.pvW;
            await r.send({ nonce: nonce++, activePowerW: s.activePowerW });
            await r.tick(s.cycles);
          }
          return r.ess.commands.every(
            (c) => withinLimits(c.w, limits, soc, TEST_WINDOW.untilMs - c.atMs) && c.revertS === 60,
          );
        } finally {
          await r.stop();
        }
      },
    ),
    { numRuns: 40 },
  );
  t.pass();
});
