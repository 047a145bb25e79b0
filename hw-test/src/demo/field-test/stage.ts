/**
 * The demo's field-test stage: runs the Tor di Valle field test in `<out>/work` and writes `<out>/report.json`
 * (+ report.html) — complete or not — before it returns or throws.
 */
import { join } from 'node:path';
import type { DemoStage } from '../stages.js';
import type { FieldTestReport } from '../report/types.js';
import { writeReport } from '../report/html.js';
import { runFieldTest } from './run.js';

/** A QoS report delivers within 15 % of its service (delivered − baseline against requested − baseline). */
export function qosWithin(qos: { message: unknown } | undefined, share = 0.15): boolean {
  if (!qos) return false;
  const q = qos.message as { requestedEnergyWh: number; baselineEnergyWh: number; deliveredEnergyWh: number };
  const asked = q.requestedEnergyWh - q.baselineEnergyWh;
  return Math.abs(q.deliveredEnergyWh - q.requestedEnergyWh) <= share * Math.abs(asked);
}

/** Every check of the acceptance list that the run itself can judge. */
export function fieldTestPassed(r: FieldTestReport): boolean {
  const m = r.measurements;
  return (
    r.complete &&
    r.steps.every((s) => s.ok) &&
    r.setpoints.length > 0 &&
    r.setpoints.every(
      (s) =>
        s.acks.some((a) => ['applied', 'clipped'].includes((a.message as { state: string }).state)) && qosWithin(s.qos),
    ) &&
    m.samples > 0 &&
    m.anchoredSamples === m.samples &&
    m.proofsChecked > 0 &&
    m.proofsVerified === m.proofsChecked
  );
}

export const fieldTestStage: DemoStage = {
  name: 'the Tor di Valle field test',
  async run(ctx) {
    const report = await runFieldTest({
      workDir: ctx.workDir,
      speed: ctx.speed,
      proofs: ctx.proofs,
      seed: ctx.seed,
      say: ctx.say,
      signal: ctx.signal,
      onPid: (what, pid) => ctx.say(`  (${what}: pid ${pid})`),
    });
    await writeReport(ctx.outDir, report);
    ctx.say(`report: ${join(ctx.outDir, 'report.json')}, ${join(ctx.outDir, 'report.html')}`);
    const ok = fieldTestPassed(report);
    ctx.summary.fieldTest = {
      ok,
      complete: report.complete,
      ...(report.incompleteReason ? { incompleteReason: report.incompleteReason } : {}),
      report: join(ctx.outDir, 'report.json'),
      setpoints: report.setpoints.length,
      samples: report.measurements.samples,
      anchoredSamples: report.measurements.anchoredSamples,
      proofsVerified: report.measurements.proofsVerified,
      proofsChecked: report.measurements.proofsChecked,
      wallS: report.timing.wallS,
    };
    if (!report.complete) throw new Error(`the field test did not complete: ${report.incompleteReason ?? '?'}`);
  },
};
