// SunSpec siblings come from one template each (`$import` with overrides), and the generated profile index agrees
// with the profiles folder.
import test from 'ava';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isLightNodeError } from '../errors.js';
import { resolveProfileImports } from './profile.js';
import { ProfileRegistry, builtinProfiles } from './registry.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

test('profiles/index.ts is what scripts/gen-profiles.mjs writes from the folder', async (t) => {
  const r = await new Promise<{ code: number; err: string }>((resolve) =>
    execFile(process.execPath, [join(root, 'scripts', 'gen-profiles.mjs'), '--check'], (e, _o, err) =>
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, err }),
    ),
  );
  t.is(r.code, 0, r.err);
});

test('SunSpec 202, 204, 212 and 214 equal their template (201, 203, 211, 213) except id, model, description and the model id they identify by', (t) => {
  const reg = builtinProfiles();
  for (const [template, sibling] of [
    [201, 202],
    [203, 204],
    [211, 212],
    [213, 214],
  ] as const) {
    const a = reg.forSunSpecModel(template)!;
    const b = reg.forSunSpecModel(sibling)!;
    t.is(b.id, `sunspec/meter-${sibling}`);
    t.is(b.sunspecModel, sibling);
    t.is(b.model, `Model ${sibling}`);
    t.regex(b.description, new RegExp(`model ${sibling}\\b`));
    const strip = ({
      id: _i,
      model: _m,
      sunspecModel: _s,
      description: _d,
      $import: _x,
      identify: _y,
      ...rest
    }: typeof a) => rest;
    t.deepEqual(strip(b), strip(a), `${sibling} = ${template}`);
    const ids = (p: typeof a) => p.identify!.registers.map((r) => (r.name === 'ID' ? { ...r, accept: [] } : r));
    t.deepEqual(ids(b), ids(a));
    t.deepEqual(b.identify!.registers.find((r) => r.name === 'ID')!.accept, [sibling]);
    t.true(b.points.length > 5);
  }
});

test('$import: own fields override the imported ones, imported points come first, cycles and unknown ids named', (t) => {
  const template = {
    id: 'x/template',
    version: 1,
    vendor: 'X',
    model: 'T',
    description: 'template',
    source: 'a test fixture, not a device',
    kind: 'meter',
    transport: { baud: 9600 },
    points: [{ quantity: 'activePowerW', fc: 4, address: 0, type: 's32', unit: 'W' }],
  };
  const child = {
    id: 'x/child',
    $import: ['x/template'],
    model: 'C',
    points: [{ quantity: 'energyImportWh', fc: 4, address: 10, type: 'u32', unit: 'Wh' }],
  };
  const [, merged] = resolveProfileImports([template, child]) as Record<string, unknown>[];
  t.is(merged!.id, 'x/child');
  t.is(merged!.model, 'C');
  t.is(merged!.vendor, 'X');
  t.deepEqual(merged!.transport, { baud: 9600 });
  t.deepEqual(
    (merged!.points as { quantity: string }[]).map((p) => p.quantity),
    ['activePowerW', 'energyImportWh'],
  );
  t.is(new ProfileRegistry([template, child]).get('x/child').points.length, 2);
  const cyc = t.throws(() => resolveProfileImports([{ ...template, $import: ['x/child'] }, child]));
  t.true(isLightNodeError(cyc, 'PROFILE_INVALID'));
  t.regex(cyc.message, /\$import cycle/);
  t.throws(() => resolveProfileImports([{ ...child, $import: ['x/none'] }]), {
    message: /\$import of unknown profile x\/none/,
  });
});
