import test from 'ava';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareOutDir } from '../out-dir.js';
import { batterySize } from './agents.js';
import { FIELD_STEPS, Progress } from './progress.js';
import { levelsOf } from './powerflow.js';
import { qosWithin } from './stage.js';

const base = new Map([
  ['A', 100],
  ['B', 50],
]);
const svc = (index: number, acceptedPValue: number, playerRequestId: string) => ({
  index,
  acceptedPValue,
  acceptedPPrice: 0.1,
  playerRequestId,
  playerOfferId: 'AGG',
  playerServiceId: `AGG/${playerRequestId}`,
});

test("levelsOf: a PoD level is its baseline plus its services' deltas at the slot", (t) => {
  const validated = [
    { pod: 'A', power: [svc(50, 60, 'DSO')] },
    { pod: 'B', power: [svc(50, 60, 'TSO'), svc(49, 70, 'TSO')] },
  ];
  t.deepEqual(
    [...levelsOf(base, validated, 50)],
    [
      ['A', 60],
      ['B', 60],
    ],
  );
});

test('qosWithin: delivered − requested within 15 % of the service', (t) => {
  const q = (deliveredEnergyWh: number) => ({
    message: { requestedEnergyWh: 1000, baselineEnergyWh: 2000, deliveredEnergyWh },
  });
  t.true(qosWithin(q(1100)));
  t.true(qosWithin(q(850)));
  t.false(qosWithin(q(1200)));
  t.false(qosWithin(undefined));
});

test('batterySize: from the PoD flexibility, at least 10 kW each way, two hours of capacity', (t) => {
  t.deepEqual(batterySize({ pod: 'P', aggregator: 'A', baselinesW: [], maxUpkW: 0, maxDownkW: 2000 }), {
    maxDischargeW: 2_000_000,
    maxChargeW: 10_000,
    capacityWh: 4_000_000,
  });
});

test('progress lines: [k/N] step: what happened', (t) => {
  const lines: string[] = [];
  const p = new Progress((l) => lines.push(l));
  p.done('offers', '3 offers');
  t.is(lines[0], `[7/${FIELD_STEPS.length}] offers: 3 offers`);
  t.like(p.steps[0], { k: 7, of: FIELD_STEPS.length, name: 'offers', ok: true });
  t.true(FIELD_STEPS.length >= 10);
});

test('--out: created if missing, report.* and work/ replaced, other files kept; a file or read-only dir refused', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'ln-out-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const out = join(root, 'a', 'b');
  const work = prepareOutDir(out);
  t.true(existsSync(work));
  writeFileSync(join(out, 'report.json'), '{}');
  writeFileSync(join(out, 'keep.txt'), 'x');
  writeFileSync(join(work, 'old'), 'x');
  prepareOutDir(out);
  t.false(existsSync(join(out, 'report.json')));
  t.false(existsSync(join(work, 'old')));
  t.true(existsSync(join(out, 'keep.txt')));
  t.throws(() => prepareOutDir(join(out, 'keep.txt')), { message: /keep\.txt: is not a directory/ });
  const ro = join(root, 'ro');
  mkdirSync(ro);
  chmodSync(ro, 0o555);
  t.throws(() => prepareOutDir(ro), { message: /ro: is read-only/ });
});
