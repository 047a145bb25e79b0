import test from 'ava';
import fc from 'fast-check';
import { isLightNodeError } from '../errors.js';
import type { RegisterImage } from './image.js';
import { identifyImage, identifyPlan, matchIdentify, type IdentifyRegister } from './identify.js';
import { parseProfile, type Profile } from './profile.js';
import { builtinProfiles } from './registry.js';
import { encodeRegisters, encodeString } from './registers.js';

const profiles = builtinProfiles();
const all = profiles.list().map((id) => profiles.get(id));

/** What a device holding `image` answers to the plan (reads outside its map are left out, as exceptions would be). */
function readPlan(profile: Profile, image: RegisterImage): Record<string, number[]> {
  const words: Record<string, number[]> = {};
  for (const r of identifyPlan(profile)) {
    const w = image.read(r.fc, r.address, r.count);
    if (w) words[r.name] = w;
  }
  return words;
}

function doc(registers: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'test/identify',
    version: 1,
    vendor: 'Test',
    model: 'T1',
    description: 'a test fixture, not a device',
    source: 'identify.test.ts',
    kind: 'meter',
    transport: {},
    points: [],
    identify: { registers },
    ...extra,
  };
}

test('every builtin profile declares identify, with at least one register that decides the match', (t) => {
  t.is(all.length, 22);
  for (const p of all) {
    const regs = p.identify?.registers ?? [];
    t.true(regs.length > 0, p.id);
    t.true(
      regs.some((r) => r.accept !== undefined || r.models !== undefined),
      `${p.id} has a register with accept or models`,
    );
    t.deepEqual(
      identifyPlan(p).map((r) => r.name),
      regs.map((r) => r.name),
    );
  }
});

test('SunSpec: the SunS marker at 40000 and the model id at 40070 (after the common model), common the marker alone', (t) => {
  for (const p of all.filter((x) => x.kind === 'sunspec-model')) {
    const plan = identifyPlan(p);
    t.deepEqual(plan[0], { name: 'SunS', fc: 3, address: 40000, count: 2 }, p.id);
    const constrained = p.identify!.registers.filter((r) => r.accept !== undefined || r.models !== undefined);
    if (p.sunspecModel === 1)
      t.deepEqual(
        constrained.map((r) => r.name),
        ['SunS'],
        p.id,
      );
    else {
      t.deepEqual(plan[1], { name: 'ID', fc: 3, address: 40070, count: 1 }, p.id);
      t.deepEqual(constrained.find((r) => r.name === 'ID')!.accept, [p.sunspecModel!], p.id);
    }
  }
});

test('the image built from each builtin profile matches it, reporting model and serial', (t) => {
  for (const p of all) {
    const m = matchIdentify(p, readPlan(p, identifyImage(p, { serial: 42 })));
    t.true(m.matched, `${p.id}: ${m.detail}`);
    if (p.identify!.registers.some((r) => r.role === 'serial'))
      t.true(m.serial === '42' || m.serial === 'SN000042', `${p.id} serial ${m.serial}`);
  }
  const em24 = profiles.get('carlo-gavazzi/em24');
  const m = matchIdentify(em24, readPlan(em24, identifyImage(em24)));
  t.is(m.model, 'EM24DINAV23XE1X');
  t.deepEqual(m.values, { ModelCode: 1648, SerialNumber: 'SN000001' });
  t.regex(m.detail, /ModelCode 1648 \(EM24DINAV23XE1X\)/);
  const sdm = profiles.get('eastron/sdm630');
  t.like(matchIdentify(sdm, readPlan(sdm, identifyImage(sdm))), { matched: true, model: 'SDM630Modbus', serial: '1' });
  const sunspec = profiles.get('sunspec/meter-203');
  t.like(matchIdentify(sunspec, readPlan(sunspec, identifyImage(sunspec))), { matched: true, model: '203' });
});

test('a value outside accept, a missing read and a short read do not match, and the detail says why', (t) => {
  const em24 = profiles.get('carlo-gavazzi/em24');
  const other = matchIdentify(em24, { ModelCode: [1000] });
  t.false(other.matched);
  t.is(other.detail, 'carlo-gavazzi/em24: ModelCode 1000 ∉ {1648..1653, 71..73}');
  t.is(other.model, '1000');
  t.false(matchIdentify(em24, {}).matched);
  t.regex(matchIdentify(em24, {}).detail, /ModelCode: not read/);
  t.regex(matchIdentify(em24, { ModelCode: [] }).detail, /ModelCode: 0 registers read, 1 expected/);
  // a serial that could not be read does not stop a match
  t.like(matchIdentify(em24, { ModelCode: [1651] }), {
    matched: true,
    model: 'EM24DINAV53XE1X',
    values: { ModelCode: 1651 },
  });
  const noIdentify = parseProfile({ ...doc([]), identify: undefined });
  t.like(matchIdentify(noIdentify, {}), { matched: false, detail: 'test/identify declares no identify registers' });
  t.deepEqual(identifyPlan(noIdentify), []);
});

test('distinct builtin families do not match each other’s images (SunSpec common matches every SunSpec device)', (t) => {
  for (const device of all) {
    const image = identifyImage(device);
    for (const p of all) {
      if (p === device) continue;
      const m = matchIdentify(p, readPlan(p, image));
      const expected = p.id === 'sunspec/common' && device.kind === 'sunspec-model';
      t.is(m.matched, expected, `${p.id} on ${device.id}: ${m.detail}`);
    }
  }
});

test('string registers: exact after trimming, prefix with *, and models-only registers match by key', (t) => {
  const p = parseProfile(
    doc([
      { name: 'Model', fc: 3, address: 0, type: 'string', length: 4, role: 'model', accept: ['iEM3*', 'X1'] },
      { name: 'Code', fc: 4, address: 0, type: 'u16', role: 'marker', models: { '7': 'Seven' } },
    ]),
  );
  const words = (model: string, code: number) => ({ Model: encodeString(model, 4), Code: [code] });
  t.like(matchIdentify(p, words('iEM3255', 7)), { matched: true, model: 'iEM3255' });
  t.like(matchIdentify(p, words('X1', 7)), { matched: true, model: 'X1' });
  t.false(matchIdentify(p, words('X12', 7)).matched);
  t.false(matchIdentify(p, words('iEM2050', 7)).matched);
  const m = matchIdentify(p, words('X1', 8));
  t.false(m.matched);
  t.regex(m.detail, /Code 8 is none of the models \{"7"\}/);
  // the image serves the first accepted value without its *
  const img = identifyImage(
    parseProfile(doc([{ name: 'M', fc: 3, address: 5, type: 'string', length: 2, role: 'model', accept: ['AB*'] }])),
  );
  t.deepEqual(img.read(3, 5, 2), encodeString('AB', 2));
});

const numericTypes = ['u16', 's16', 'u32', 's32', 'u64', 's64', 'acc32', 'sunssf'] as const;
const ranges: Record<(typeof numericTypes)[number], [number, number]> = {
  u16: [0, 0xffff],
  s16: [-0x8000, 0x7fff],
  sunssf: [-0x8000, 0x7fff],
  u32: [0, 0xffffffff],
  acc32: [0, 0xffffffff],
  s32: [-0x80000000, 0x7fffffff],
  u64: [0, Number.MAX_SAFE_INTEGER],
  s64: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};
const arbRegister: fc.Arbitrary<Omit<IdentifyRegister, 'name' | 'address'>> = fc.oneof(
  fc.constantFrom(...numericTypes).chain((type) =>
    fc.record({
      fc: fc.constantFrom(3 as const, 4 as const),
      type: fc.constant(type),
      wordOrder: fc.constantFrom('be' as const, 'le' as const),
      role: fc.constantFrom('model' as const, 'marker' as const),
      accept: fc.uniqueArray(fc.integer({ min: ranges[type][0], max: ranges[type][1] }), {
        minLength: 1,
        maxLength: 5,
      }),
    }),
  ),
  fc.integer({ min: 1, max: 8 }).chain((length) =>
    fc.record({
      fc: fc.constantFrom(3 as const, 4 as const),
      type: fc.constant('string' as const),
      length: fc.constant(length),
      role: fc.constantFrom('model' as const, 'marker' as const),
      accept: fc.array(fc.stringMatching(new RegExp(`^[A-Za-z0-9-]{1,${length * 2}}$`)), {
        minLength: 1,
        maxLength: 3,
      }),
    }),
  ),
  fc.constantFrom('u32' as const, 'string' as const).map((type) => ({
    fc: 3 as const,
    type,
    role: 'serial' as const,
    ...(type === 'string' ? { length: 8 } : {}),
  })),
);

test('property: an image built from any identify matches it, and changing an accepted register breaks the match', (t) => {
  fc.assert(
    fc.property(fc.array(arbRegister, { minLength: 1, maxLength: 5 }), fc.nat(), (specs, pick) => {
      let address = 0;
      const registers = specs.map((s, i) => {
        const r = { ...s, name: `R${i}`, address };
        address += 10 + (s.type === 'string' ? (s.length ?? 0) : 4);
        return r;
      });
      if (!registers.some((r) => r.accept))
        registers[0] = { fc: 3, type: 'u16', role: 'marker', accept: [1], name: 'R0', address: 0 };
      const p = parseProfile(doc(registers));
      const image = identifyImage(p);
      const words = readPlan(p, image);
      const m = matchIdentify(p, words);
      if (!m.matched) return false;
      // a value no accept entry covers, in one constrained register
      const constrained = p.identify!.registers.filter((r) => r.accept);
      const r = constrained[pick % constrained.length]!;
      const order = r.wordOrder ?? 'be';
      let bad: number[];
      if (r.type === 'string') bad = encodeString('~~', r.length!);
      else {
        const [lo, hi] = ranges[r.type as (typeof numericTypes)[number]];
        let v = lo;
        while ((r.accept as number[]).includes(v) && v < hi) v++;
        bad = encodeRegisters(r.type, v, order);
      }
      return !matchIdentify(p, { ...words, [r.name]: bad }).matched;
    }),
    { numRuns: 300 },
  );
  t.pass();
});

test('the schema refuses a bad identify block and names where', (t) => {
  const reject = (registers: unknown[], pattern: RegExp) => {
    const e = t.throws(() => parseProfile(doc(registers), 'x.json'));
    t.true(isLightNodeError(e, 'PROFILE_INVALID'));
    t.regex(e.message, pattern);
  };
  const model = { name: 'M', fc: 3, address: 0, type: 'u16', role: 'model', accept: [1] };
  reject([], /x\.json\.identify\.registers: .*>=1|x\.json\.identify\.registers/);
  reject(
    [{ ...model, type: 'string', accept: ['a'] }],
    /identify\.registers\[0\]\.length: a string register needs a length/,
  );
  reject([{ ...model, length: 2 }], /length is for string registers only/);
  reject(
    [{ ...model, accept: ['1'] }],
    /identify\.registers\[0\]\.accept: accepted values of a string register are strings/,
  );
  reject(
    [model, { name: 'S', fc: 3, address: 5, type: 'u32', role: 'serial', accept: [1] }],
    /registers\[1\]\.role: a serial register is read and reported, never matched/,
  );
  reject([{ ...model, models: { x: 'X' } }], /the models keys of a numeric register are its values in decimal/);
  reject([model, { ...model, address: 9 }], /identify register names must be unique/);
  reject([{ ...model, accept: undefined }], /at least one identify register needs accept or models/);
  reject([{ ...model, fc: 1 }], /identify\.registers\[0\]\.fc/);
  reject([{ ...model, role: 'vendor' }], /identify\.registers\[0\]\.role/);
  reject([{ ...model, equals: 1 }], /identify\.registers\[0\]/);
  reject(
    [model, { name: 'N', fc: 3, address: 0, type: 'u32', role: 'serial' }],
    /identify\.N overlaps identify\.M at fc 3 register 0/,
  );
  reject([{ ...model, address: 65535, type: 'u32' }], /identify\.M runs past register 65535/);
  t.notThrows(() => parseProfile(doc([model, { ...model, name: 'N', fc: 4 }])));
});
