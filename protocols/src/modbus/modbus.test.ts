import test from 'ava';
import fc from 'fast-check';
import {
  QUANTITIES,
  REGISTER_UNITS,
  RtuFramer,
  TcpFramer,
  builtinProfiles,
  crc16,
  decodeRegisters,
  decodeRequestPdu,
  decodeResponsePdu,
  encodeRegisters,
  encodeRequestPdu,
  encodeResponsePdu,
  encodeRtu,
  encodeTcp,
  isLightNodeError,
  parseProfile,
  planReads,
  pointRegisters,
  profileJsonSchema,
  ProfileRegistry,
  type ModbusRequest,
  type PlanPoint,
  type RegisterType,
} from '../index.js';

const intTypes: [RegisterType, number, number][] = [
  ['u16', 0, 0xfffe],
  ['s16', -0x7fff, 0x7fff],
  ['u32', 0, 0xfffffffe],
  ['s32', -0x7fffffff, 0x7fffffff],
  ['u64', 0, Number.MAX_SAFE_INTEGER],
  ['s64', -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  ['acc32', 1, 0xffffffff],
];

test('every integer type round-trips in both word orders (property)', (t) => {
  for (const [type, min, max] of intTypes)
    for (const order of ['be', 'le'] as const)
      fc.assert(
        fc.property(
          fc.integer({ min, max }),
          (v) => decodeRegisters(type, encodeRegisters(type, v, order), order).value === v,
        ),
      );
  t.pass();
});

test('floats round-trip (float32 to its precision, float64 exactly) in both word orders (property)', (t) => {
  for (const order of ['be', 'le'] as const) {
    fc.assert(
      fc.property(
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        (v) => decodeRegisters('float64', encodeRegisters('float64', v, order), order).value === v,
      ),
    );
    fc.assert(
      fc.property(
        fc.float({ noNaN: true, noDefaultInfinity: true }),
        (v) => decodeRegisters('float32', encodeRegisters('float32', v, order), order).value === Math.fround(v),
      ),
    );
  }
  t.pass();
});

test('byte fixtures: SDM630 float32 and EM24 word-swapped int32', (t) => {
  // 230.5 V as IEEE-754 float32 = 0x43668000: high word 0x4366, low word 0x8000 (SDM630, high word first)
  t.is(decodeRegisters('float32', [0x4366, 0x8000], 'be').value, 230.5);
  // EM24 voltage 2305 (×0.1 V) as INT32 low word first: [0x0901 (low), 0x0000 (high)]
  t.is(decodeRegisters('s32', [0x0901, 0x0000], 'le').value, 2305);
  // −1234 W ×0.1 as INT32 low word first: 0xFFFFFB2E → [0xFB2E, 0xFFFF]
  t.is(decodeRegisters('s32', [0xfb2e, 0xffff], 'le').value, -1234);
});

test('not-implemented sentinels decode to null, never a number', (t) => {
  t.is(decodeRegisters('s16', [0x8000]).value, null);
  t.is(decodeRegisters('u16', [0xffff]).value, null);
  t.is(decodeRegisters('acc32', [0, 0]).value, null);
  t.is(decodeRegisters('u32', [0xffff, 0xffff]).value, null);
  t.is(decodeRegisters('sunssf', [0x8000]).value, null);
  t.is(decodeRegisters('float32', [0x7fc0, 0x0000]).value, null);
  t.is(decodeRegisters('u64', [0xffff, 0xffff, 0xffff, 0xffff]).value, null);
  t.is(decodeRegisters('u16', [0xffff], 'be', { sentinels: false }).value, 0xffff);
});

const arbPoints = fc.array(
  fc.record({
    fc: fc.constantFrom(3 as const, 4 as const),
    address: fc.integer({ min: 0, max: 2000 }),
    count: fc.constantFrom(1, 2, 4),
  }),
  { minLength: 1, maxLength: 60 },
);

test('planner: every point covered, no request over 125, no forbidden register touched (property)', (t) => {
  fc.assert(
    fc.property(
      arbPoints,
      fc.integer({ min: 0, max: 40 }),
      fc.array(
        fc.record({
          fc: fc.constantFrom(3, 4),
          start: fc.integer({ min: 0, max: 2000 }),
          len: fc.integer({ min: 0, max: 20 }),
        }),
        { maxLength: 4 },
      ),
      (points, maxGap, fb) => {
        const forbidden = fb.map((f) => ({ fc: f.fc, start: f.start, end: f.start + f.len }));
        const clear = points.filter(
          (p) => !forbidden.some((f) => f.fc === p.fc && p.address <= f.end && p.address + p.count - 1 >= f.start),
        );
        const plan = planReads(clear, { maxGap, forbidden });
        const covered = new Set<number>();
        for (const r of plan) {
          if (r.count > 125 || r.count < 1) return false;
          for (const f of forbidden)
            if (f.fc === r.fc && r.address <= f.end && r.address + r.count - 1 >= f.start) return false;
          for (const i of r.points) {
            const p = clear[i]!;
            if (p.fc !== r.fc || p.address < r.address || p.address + p.count > r.address + r.count) return false;
            covered.add(i);
          }
        }
        return covered.size === clear.length;
      },
    ),
    { numRuns: 400 },
  );
  t.pass();
});

test('planner merges across small gaps only, per function code', (t) => {
  const pts: PlanPoint[] = [
    { fc: 4, address: 0, count: 2 },
    { fc: 4, address: 2, count: 2 },
    { fc: 4, address: 10, count: 2 }, // gap 6
    { fc: 4, address: 100, count: 2 }, // gap 88
    { fc: 3, address: 0, count: 2 },
  ];
  t.deepEqual(
    planReads(pts, { maxGap: 8 }).map((r) => [r.fc, r.address, r.count]),
    [
      [3, 0, 2],
      [4, 0, 12],
      [4, 100, 2],
    ],
  );
  t.is(planReads(pts, { maxGap: 0 }).length, 4);
  t.is(planReads(pts, { maxGap: 100 }).length, 2);
  t.is(planReads(pts, { maxGap: 100, forbidden: [{ fc: 4, start: 50, end: 50 }] }).length, 3);
  t.throws(() => planReads([{ fc: 4, address: 50, count: 2 }], { forbidden: [{ fc: 4, start: 51, end: 60 }] }), {
    message: /MODBUS_PLAN/,
  });
});

test('every built-in profile passes the schema, maps valid units, has no overlapping registers and its required quantities', (t) => {
  const reg = builtinProfiles();
  const ids = reg.list();
  for (const want of [
    'eastron/sdm630',
    'eastron/sdm120',
    'carlo-gavazzi/em24',
    'carlo-gavazzi/em340',
    'abb/b23',
    'schneider/iem3000',
    'sinapsi/alfa',
    'sunspec/common',
  ])
    t.true(ids.includes(want), want);
  for (const m of [201, 202, 203, 204, 211, 212, 213, 214, 124, 701, 702, 704, 713])
    t.truthy(reg.forSunSpecModel(m), `sunspec model ${m}`);
  for (const id of ids) {
    const p = reg.get(id);
    const seen = new Map<string, string>();
    for (const pt of p.points) {
      for (let a = pt.address; a < pt.address + pointRegisters(pt); a++) {
        const k = `${pt.fc}:${a}`;
        t.false(seen.has(k), `${id}: ${pt.quantity ?? pt.name} overlaps ${seen.get(k)}`);
        seen.set(k, pt.quantity ?? pt.name ?? '?');
      }
      if (pt.quantity)
        t.truthy(REGISTER_UNITS[pt.unit!]?.[QUANTITIES[pt.quantity].unit], `${id}: ${pt.quantity} unit ${pt.unit}`);
    }
    const sunspecMeter = p.sunspecModel !== undefined && p.sunspecModel >= 200 && p.sunspecModel < 300;
    if (p.kind === 'meter' || p.kind === 'gateway' || sunspecMeter) {
      t.true(
        p.points.some((x) => x.quantity === 'activePowerW'),
        `${id} maps activePowerW`,
      );
      t.true(
        p.points.some((x) => x.quantity === 'energyImportWh'),
        `${id} maps energyImportWh`,
      );
    }
    t.true(p.source.length > 10, `${id} names the source of its map`);
  }
});

test('a profile that fails the schema names the path, the problem and the value', (t) => {
  const good = builtinProfiles().get('eastron/sdm120');
  const bad = JSON.parse(JSON.stringify(good)) as {
    points: { type: string; quantity: string; unit: string }[];
    id: string;
  };
  bad.points[2]!.type = 'float16';
  const e = t.throws(() => parseProfile(bad, 'my.json'));
  t.true(isLightNodeError(e, 'PROFILE_INVALID'));
  t.regex(e.message, /my\.json\.points\[2\]\.type/);
  t.regex(e.message, /float16/);
  const overlap = JSON.parse(JSON.stringify(good)) as typeof bad;
  overlap.points[1]!.quantity = 'currentL2mA';
  (overlap.points[1] as unknown as { address: number }).address = 1;
  t.throws(() => parseProfile(overlap), { message: /overlaps/ });
  const unit = JSON.parse(JSON.stringify(good)) as typeof bad;
  unit.points[0]!.unit = 'kWh';
  t.throws(() => parseProfile(unit), { message: /unit kWh does not convert to mV/ });
  t.throws(() => builtinProfiles().get('acme/nothing'), {
    message: /PROFILE_UNKNOWN: unknown profile "acme\/nothing" \(known: /,
  });
  t.throws(() => new ProfileRegistry([{ ...good, id: 'x/a', $import: ['x/missing'] }]), {
    message: /\$import of unknown profile/,
  });
});

test('the committed JSON Schema of profiles is the one generated from the zod schema', async (t) => {
  const { readFileSync } = await import('node:fs');
  const path = new URL('../../profile.schema.json', import.meta.url);
  t.deepEqual(JSON.parse(readFileSync(path, 'utf8')), JSON.parse(JSON.stringify(profileJsonSchema())));
});

test('CRC-16/MODBUS fixture: read 2 input registers from unit 1 at 0', (t) => {
  // 01 04 00 00 00 02 | CRC 71 CB (low byte first)
  t.deepEqual(
    [...encodeRtu(1, encodeRequestPdu({ fc: 4, address: 0, count: 2 }))],
    [0x01, 0x04, 0x00, 0x00, 0x00, 0x02, 0x71, 0xcb],
  );
  t.is(crc16(new Uint8Array([0x01, 0x04, 0x00, 0x00, 0x00, 0x02])), 0xcb71);
});

const arbRequest: fc.Arbitrary<ModbusRequest> = fc.oneof(
  fc.record({
    fc: fc.constantFrom(3 as const, 4 as const),
    address: fc.integer({ min: 0, max: 65535 }),
    count: fc.integer({ min: 1, max: 125 }),
  }),
  fc.record({
    fc: fc.constant(6 as const),
    address: fc.integer({ min: 0, max: 65535 }),
    value: fc.integer({ min: 0, max: 65535 }),
  }),
  fc.record({
    fc: fc.constant(16 as const),
    address: fc.integer({ min: 0, max: 65535 }),
    values: fc.array(fc.integer({ min: 0, max: 65535 }), { minLength: 1, maxLength: 123 }),
  }),
);

test('PDU codecs round-trip (property)', (t) => {
  fc.assert(
    fc.property(arbRequest, (r) => JSON.stringify(decodeRequestPdu(encodeRequestPdu(r))) === JSON.stringify(r)),
  );
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 65535 }), { minLength: 1, maxLength: 125 }), (values) => {
      const back = decodeResponsePdu(encodeResponsePdu({ fc: 3, values }), { fc: 3, count: values.length });
      return back !== null && 'values' in back && back.values.join() === values.join();
    }),
  );
  t.deepEqual(decodeResponsePdu(encodeResponsePdu({ fc: 3, exception: 2 })), { fc: 3, exception: 2 });
});

test('RTU framer recovers every frame under random chunking with injected garbage, and counts the garbage (property)', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(arbRequest, fc.uint8Array({ maxLength: 6 })), { minLength: 1, maxLength: 12 }),
      fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 20 }),
      (items, cuts) => {
        const frames = items.map(([r]) => encodeRtu(17, encodeRequestPdu(r)));
        const parts: number[] = [];
        items.forEach(([, garbage], i) => parts.push(...garbage.filter((b) => b !== 17), ...frames[i]!));
        const stream = new Uint8Array(parts);
        const framer = new RtuFramer('request');
        const got: string[] = [];
        let pos = 0;
        let c = 0;
        while (pos < stream.length) {
          const n = cuts[c++ % cuts.length]!;
          for (const f of framer.push(stream.subarray(pos, pos + n))) got.push(JSON.stringify(decodeRequestPdu(f.pdu)));
          pos += n;
        }
        const want = items.map(([r]) => JSON.stringify(r));
        // every real frame is recovered, in order (garbage can never fake a frame: unit 17 never appears in it)
        return want.every((w) => got.includes(w)) && framer.stats.discardedBytes >= 0;
      },
    ),
    { numRuns: 200 },
  );
  const f = new RtuFramer('response');
  const good = encodeRtu(1, encodeResponsePdu({ fc: 4, values: [1, 2] }));
  const corrupt = good.slice();
  corrupt[4]! ^= 0xff;
  t.deepEqual(f.push(new Uint8Array([...corrupt, ...good])).length, 1);
  t.true(f.stats.crcErrors >= 1);
  t.is(f.stats.discardedBytes, corrupt.length);
});

test('TCP framer recovers MBAP frames under random chunking (property)', (t) => {
  fc.assert(
    fc.property(fc.array(arbRequest, { minLength: 1, maxLength: 10 }), fc.integer({ min: 1, max: 7 }), (reqs, n) => {
      const bytes = reqs.flatMap((r, i) => [...encodeTcp(i, 1, encodeRequestPdu(r))]);
      const framer = new TcpFramer();
      const got: (ModbusRequest | null)[] = [];
      for (let i = 0; i < bytes.length; i += n)
        for (const f of framer.push(new Uint8Array(bytes.slice(i, i + n)))) got.push(decodeRequestPdu(f.pdu));
      return JSON.stringify(got) === JSON.stringify(reqs);
    }),
  );
  t.pass();
});

test('the SunSpec ESS profiles (124, 701, 702, 704, 713) declare L, name their points and map the ESS quantities', (t) => {
  const reg = builtinProfiles();
  const want: Record<number, { L: number; named: Record<string, number>; quantities?: string[] }> = {
    124: {
      L: 24,
      named: { StorCtl_Mod: 5, ChaState: 8, OutWRte: 12, InWRte: 13, InOutWRte_RvrtTms: 15, InOutWRte_SF: 25 },
      quantities: ['socPermille'],
    },
    701: { L: 153, named: { W: 10, W_SF: 116 }, quantities: ['essPowerW'] },
    702: { L: 50, named: { WMaxRtg: 2, WChaRteMaxRtg: 10, WDisChaRteMaxRtg: 11, WMax: 26, W_SF: 45 } },
    704: { L: 65, named: { WSetEna: 22, WSetMod: 23, WSet: 24, WSetRvrtTms: 31, WSet_SF: 55 } },
    713: { L: 7, named: { SoC: 4, Pct_SF: 8 }, quantities: ['socPermille'] },
  };
  for (const [m, w] of Object.entries(want)) {
    const p = reg.forSunSpecModel(Number(m))!;
    t.is(p.sunspecLength, w.L, `model ${m} L`);
    for (const [name, addr] of Object.entries(w.named))
      t.is(p.points.find((x) => x.name === name)?.address, addr, `model ${m} ${name}`);
    for (const q of w.quantities ?? [])
      t.true(
        p.points.some((x) => x.quantity === q),
        `model ${m} maps ${q}`,
      );
    t.true(
      p.points.every((x) => x.name !== undefined),
      `model ${m}: every point is named`,
    );
  }
  t.is(reg.forSunSpecModel(704)!.points.find((x) => x.name === 'WSet')!.access, 'rw');
  t.throws(() => parseProfile({ ...reg.get('sunspec/der-713'), sunspecLength: 6 }), {
    message: /Pct_SF runs past the model's length L = 6/,
  });
});

test('kind "ess" profiles: one essPowerW setpoint whose fc, unit and range fit; reads essPowerW and socPermille', (t) => {
  const ex = builtinProfiles().get('generic/ess-example');
  t.is(ex.kind, 'ess');
  t.like(ex.setpoints![0], { command: 'essPowerW', fc: 16, address: 200, min: -5000, max: 5000 });
  const doc = JSON.parse(JSON.stringify(ex)) as Record<string, unknown> & {
    setpoints: Record<string, unknown>[];
    points: { quantity?: string }[];
  };
  const bad = (patch: Record<string, unknown>, top: Record<string, unknown> = {}) => ({
    ...doc,
    ...top,
    setpoints: [{ ...doc.setpoints[0], ...patch }],
  });
  t.throws(() => parseProfile(bad({ fc: 6 })), { message: /fc 6 writes one register, type s32 has 2/ });
  t.throws(() => parseProfile(bad({ unit: 'V' })), { message: /unit "V" does not convert to W/ });
  t.throws(() => parseProfile(bad({ min: 10, max: -10 })), { message: /min 10 > max -10/ });
  t.throws(() => parseProfile(bad({ clamp: true })), { message: /PROFILE_INVALID: .*setpoints\[0\]/ });
  t.throws(() => parseProfile(bad({}, { kind: 'meter' })), { message: /setpoints are only for kind "ess"/ });
  t.throws(() => parseProfile({ ...doc, setpoints: [] }), { message: /exactly one setpoint/ });
  t.throws(() => parseProfile({ ...doc, points: doc.points.filter((p) => p.quantity !== 'socPermille') }), {
    message: /an ess profile reads socPermille/,
  });
});
