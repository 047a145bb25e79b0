/**
 * `lightnode demo --out TMP` (the real bin, a child process) reproduces the Tor di Valle field test: report.json
 * against ../shared/scenarios/tor-di-valle.json (the DSO and TSO requests, the market outcome, the trim of
 * IT002E60550189 at validation, the TSO request partly fulfilled), three setpoints whose EIP-712 signatures verify
 * with ethers (SPEC §6) from the DSOTP, each applied or clipped with a QoS report within 15 % of the service, every
 * sample anchored, the proofs verified; and no process of the run is left.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { verifyTypedData } from 'ethers';
import { EIP712_TYPES, lightNodeDomain } from '@lightnode/protocols';
import type { FieldTestReport } from '../demo/report/types.js';

const LIGHTNODE = fileURLToPath(new URL('../../../bin/lightnode.mjs', import.meta.url));
const ref = JSON.parse(
  readFileSync(new URL('../../../../shared/scenarios/tor-di-valle.json', import.meta.url), 'utf8'),
) as { observed: Record<string, any> };

/** Runs the real bin; `onLine` sees each stderr line (and may signal the child). */
function runDemo(
  out: string,
  onLine: (line: string, kill: (s: NodeJS.Signals) => void) => void = () => undefined,
): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [LIGHTNODE, 'demo', '--out', out, '--json'], { stdio: 'pipe' });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d: Buffer) => {
      const before = stderr.length;
      stderr += d.toString();
      const from = stderr.lastIndexOf('\n', before) + 1;
      const done = stderr.slice(from, stderr.lastIndexOf('\n') + 1);
      for (const l of done.split('\n').filter(Boolean)) onLine(l, (sig) => child.kill(sig));
    });
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('exit', (code) => resolve({ code, stderr, stdout }));
  });
}

/** The PIDs the run logged are gone, and no anvil runs on its directory. */
function noProcessLeft(t: ExecutionContext, stderr: string, out: string): void {
  const pids = [...stderr.matchAll(/pid (\d+)\)/g)].map((x) => Number(x[1]));
  t.true(pids.length > 0, 'the run logs the PIDs of its children');
  for (const pid of pids) t.false(alive(pid), `pid ${pid} still running`);
  let left = '';
  try {
    left = execFileSync('pgrep', ['-f', `anvil.*${out}`], { encoding: 'utf8' });
  } catch {
    left = '';
  }
  t.is(left.trim(), '', 'no anvil left on the run directory');
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test.serial('lightnode demo reproduces the Tor di Valle field test and leaves no process behind', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'ln-demo-field-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const run = await runDemo(out);
  t.is(run.code, 0, run.stderr.slice(-3000));
  const steps = run.stderr.split('\n').filter((l) => /^\[\d+\/\d+\] /.test(l));
  t.true(steps.length >= 10, steps.join('\n'));
  t.regex(run.stderr, /only partly fulfilled/);
  const r = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as FieldTestReport;
  const o = ref.observed;
  t.true(r.complete);
  t.is(r.scenario.slot, 50);
  // the power flows: Mostacciano overloaded at the baselines, Nanchino at the market's levels; the charted branch of
  // each feeder is its overloaded one, within its limit once validated
  const near = (x: number | undefined, y: number, tol = 0.01): boolean => x !== undefined && Math.abs(x - y) <= tol;
  for (const [got, want] of [
    [r.powerFlow.baseCase.violations, o.baseCaseOverload],
    [r.powerFlow.validation.violations, o.validationOverload],
  ] as const) {
    t.is(got.length, 1, JSON.stringify(got));
    t.like(got[0], { feeder: want.feeder, limitA: want.limitA });
    t.true(near(got[0]!.currentA, want.estimatedA), JSON.stringify(got[0]));
  }
  const chart = new Map(r.powerFlow.feeders.map((f) => [f.feeder, f]));
  t.true(near(chart.get('Mostacciano')?.baseCaseA, o.baseCaseOverload.estimatedA));
  t.true(near(chart.get('Nanchino')?.marketA, o.validationOverload.estimatedA));
  for (const f of chart.values()) t.true(f.validatedA <= f.limitA, `${f.feeder} validated ${f.validatedA} A`);
  // DSO request
  const dso = r.dsoRequest!;
  t.is(dso.playerServiceId, o.dsoRequest.playerServiceId);
  const dsoP = dso.flexibility[0]!.power.find((p) => p.index === 50)!;
  t.true(Math.abs(dsoP.p - o.dsoRequest.pkW) <= 0.01, String(dsoP.p));
  // TSO request
  t.is(r.tsoRequest!.flexibility[0]!.power[0]!.p, o.tsoRequest.pkW);
  t.is((r.tsoRequest!.flexibility[0] as { pom?: string }).pom, o.tsoRequest.pom);
  // market outcome
  const accepted = (pod: string) => r.marketOutcome!.flexibility.find((f) => f.pod === pod)!.power[0]!;
  for (const [pod, kW, price] of [
    ['IT002E61899978', 1278.545, 0.03],
    ['IT002E60974469', 4180.349, 0.03],
    ['IT002E60550189', 342.128, 0.07],
  ] as const) {
    t.true(Math.abs(accepted(pod).acceptedPValue - kW) <= 0.001, `${pod} ${accepted(pod).acceptedPValue}`);
    t.is(accepted(pod).acceptedPPrice, price);
  }
  // technical and validated outcomes: the trim
  const tech = r.technicalOutcome!.flexibility.find((f) => f.pod === 'IT002E60550189')!.power[0]!;
  t.true(Math.abs(tech.acceptedPValue - 207.662) <= 0.01, String(tech.acceptedPValue));
  const val = r.validatedOutcome!.flexibility.find((f) => f.pod === 'IT002E60550189')!.power[0]!;
  t.true(Math.abs(val.acceptedPValue - 207.662) <= 0.01, String(val.acceptedPValue));
  t.is(r.requests.find((q) => q.playerId === 'TSO')?.status, 'partial');
  // setpoints: signed by the DSOTP under SPEC §6, acked, with QoS
  t.is(r.setpoints.length, 3);
  const domain = lightNodeDomain(r.chain.chainId, r.chain.keyRegister);
  const slotStart = Date.parse('2021-06-23T10:30:00Z');
  for (const sp of r.setpoints) {
    const m = sp.signed.message;
    const signer = verifyTypedData(
      domain,
      { Setpoint: [...EIP712_TYPES.Setpoint].map(([name, type]) => ({ name, type })) },
      m,
      sp.signed.signature,
    );
    t.is(signer.toLowerCase(), r.dsotpIssuer.toLowerCase());
    t.is(m.slotIndex, 50);
    t.is(m.validFromMs, slotStart);
    t.is(m.validUntilMs, slotStart + 900_000);
    t.true(Number.isInteger(m.activePowerW) && Number.isInteger(m.baselineW));
    const states = sp.acks.map((a) => (a.message as { state: string }).state);
    t.true(states.includes('applied') || states.includes('clipped'), `${sp.pod}: ${states.join(',')}`);
    const q = sp.qos!.message as { requestedEnergyWh: number; baselineEnergyWh: number; deliveredEnergyWh: number };
    const asked = q.requestedEnergyWh - q.baselineEnergyWh;
    const got = q.deliveredEnergyWh - q.baselineEnergyWh;
    t.true(Math.abs(got - asked) <= 0.15 * Math.abs(asked), `${sp.pod}: delivered ${got} of ${asked} Wh`);
  }
  const sp189 = r.setpoints.find((s) => s.pod === 'IT002E60550189')!;
  t.is(sp189.signed.message.activePowerW, Math.round(o.activationSetpoint.setpointkW * 1000));
  // measurements and proofs
  t.true(r.measurements.samples > 0);
  t.is(r.measurements.anchoredSamples, r.measurements.samples);
  t.is(r.measurements.proofsChecked, 6);
  t.is(r.measurements.proofsVerified, 6);
  noProcessLeft(t, run.stderr, out);
});

test.serial(
  'Ctrl-C (SIGINT) stops every part, writes the report so far (complete: false) and exits non-zero',
  async (t) => {
    const out = mkdtempSync(join(tmpdir(), 'ln-demo-sigint-'));
    t.teardown(() => rmSync(out, { recursive: true, force: true }));
    let sent = false;
    const run = await runDemo(out, (line, kill) => {
      if (!sent && /^\[3\/\d+\] /.test(line)) {
        sent = true;
        kill('SIGINT');
      }
    });
    t.true(sent, run.stderr.slice(-2000));
    t.not(run.code, 0);
    const r = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as FieldTestReport;
    t.false(r.complete);
    t.regex(r.incompleteReason ?? '', /interrupted/);
    t.true(r.steps.length >= 3);
    noProcessLeft(t, run.stderr, out);
  },
);

test.serial('--out on a file or a read-only directory: exit 1 naming it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ln-demo-out-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  const ro = join(dir, 'read-only');
  mkdirSync(ro, { mode: 0o555 });
  for (const bad of [file, ro]) {
    const run = await runDemo(bad);
    t.is(run.code, 1, run.stderr);
    t.true(run.stderr.includes(bad), run.stderr);
  }
});
