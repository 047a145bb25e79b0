// The HIL invariants on hand-made subscriber logs: lost seqs (signed gaps and the outbox's committed count
// included), conflicting leaves, the drain time, coverage; the setpoint invariants on hand-made acks and battery
// events; and the agent config the runner generates.
import test from 'ava';
import { agentConfig, deepMerge } from './agents.js';
import {
  arrivalSummary,
  conflictingSeqs,
  drainSeconds,
  evaluate,
  missingSeqs,
  type AgentOutcome,
} from './invariants.js';
import { RunSubscriber, type DeviceLog } from './subscriber.js';
import {
  evaluateSetpointInvariant,
  fallbackSeconds,
  handBacks,
  type AckAt,
  type BatteryEventAt,
  type SetpointFacts,
} from './setpoint-invariants.js';

function log(seqs: number[], gaps: [number, number][] = [], conflicts: number[] = []): DeviceLog {
  const d: DeviceLog = { leaves: new Map(), received: new Map(), gaps: [], lastArrivalMs: 0 };
  for (const s of seqs) {
    d.received.set(s, 1);
    d.leaves.set(s, new Set([`0xaa${s}`, ...(conflicts.includes(s) ? [`0xbb${s}`] : [])]));
  }
  for (const [first, last] of gaps) d.gaps.push({ first, last, reason: 'disk_quota' });
  return d;
}

const agent = (o: Partial<AgentOutcome> = {}): AgentOutcome => ({
  id: 'a1',
  deviceId: '0xdev',
  committedNextSeq: null,
  upS: 10,
  pollMs: 1000,
  meters: 1,
  crashes: [],
  outboxVerify: null,
  ...o,
});

test('missingSeqs: holes between received seqs unless in a signed gap; committed seqs beyond the last received', (t) => {
  t.deepEqual(missingSeqs(log([0, 1, 2, 5]), null), [3, 4]);
  t.deepEqual(missingSeqs(log([0, 1, 2, 5], [[3, 4]]), null), []);
  t.deepEqual(missingSeqs(log([0, 1, 2]), 5), [3, 4]);
  t.deepEqual(missingSeqs(log([1, 2]), 3), [0]);
});

test('arrivalSummary: first arrivals out of seq order (resends ignored) and the largest step back of the windows', (t) => {
  const a = (firstSeq: number, windowStartMs: number) => ({ firstSeq, windowStartMs });
  t.deepEqual(arrivalSummary([a(0, 1000), a(5, 2000), a(5, 2000), a(10, 3000)]), {
    batches: 3,
    outOfOrder: 0,
    maxWindowBackMs: 0,
  });
  t.deepEqual(arrivalSummary([a(0, 301_000), a(5, 302_000), a(10, 3000), a(0, 301_000), a(15, 4000)]), {
    batches: 4,
    outOfOrder: 0,
    maxWindowBackMs: 299_000,
  });
  t.is(arrivalSummary([a(5, 2000), a(0, 1000)]).outOfOrder, 1);
});

test('conflictingSeqs: a seq received with two different leaves', (t) => {
  t.deepEqual(conflictingSeqs(log([0, 1, 2, 3], [], [2])), [2]);
  t.deepEqual(conflictingSeqs(log([0, 1])), []);
});

test('drainSeconds: the first status sample after the last fault where every agent had nothing sealed left', (t) => {
  const ob = [
    { tS: 4, agent: 'a1', samples: 9, items: 2 },
    { tS: 5, agent: 'a1', samples: 9, items: 2 },
    { tS: 7.5, agent: 'a1', samples: 2, items: 0 },
  ];
  t.is(drainSeconds(ob, 5, ['a1']), 2.5);
  t.is(drainSeconds(ob, 8, ['a1']), null);
  t.is(drainSeconds(ob, 5, ['a1', 'a2']), null);
});

test('evaluate: every invariant named by its key, values and figures consistent', (t) => {
  const sub = new RunSubscriber('mqtt://unused');
  sub.devices.set('0xdev', log([0, 1, 2, 3, 4, 5, 6, 7], [[8, 8]], [3]));
  sub.batches = 3;
  const r = evaluate({
    invariants: ['noSampleLost', 'noSeqConflict', 'batchesVerify', { coveragePct: 90 }, { drainedWithinS: 5 }],
    sub,
    agents: [agent({ committedNextSeq: 11 })],
    outbox: [{ tS: 3, agent: 'a1', samples: 1, items: 0 }],
    lastFaultEndS: 1,
    rssMaxMB: 80.04,
  });
  const by = Object.fromEntries(r.invariants.map((i) => [i.name, i]));
  t.deepEqual(Object.keys(by), ['noSampleLost', 'noSeqConflict', 'batchesVerify', 'coveragePct', 'drainedWithinS']);
  t.false(by.noSampleLost!.passed);
  t.is(by.noSampleLost!.value, 2); // 9 and 10: committed, never received, not in a gap
  t.false(by.noSeqConflict!.passed);
  t.is(by.noSeqConflict!.value, 1);
  t.true(by.batchesVerify!.passed);
  t.false(by.coveragePct!.passed); // 8 samples over 10 poll periods
  t.is(by.coveragePct!.value, 80);
  t.true(by.drainedWithinS!.passed);
  t.like(r.figures, { samples: 8, lost: 2, conflicts: 1, gaps: 1, maxOutboxDepth: 1, drainS: 2, rssMaxMB: 80 });
});

test('evaluate: an outbox that fails buffer verify fails batchesVerify; an exit nobody asked for is reported', (t) => {
  const sub = new RunSubscriber('mqtt://unused');
  sub.devices.set('0xdev', log([0, 1]));
  sub.batches = 1;
  const r = evaluate({
    invariants: ['batchesVerify'],
    sub,
    agents: [agent({ outboxVerify: 'exit 1: undeclared gap 5..6', crashes: ['pid 1 exited 1: boom'] })],
    outbox: [],
    lastFaultEndS: null,
    rssMaxMB: null,
  });
  t.false(r.invariants[0]!.passed);
  t.regex(r.invariants[0]!.detail, /undeclared gap/);
  t.like(r.invariants[1], { name: 'noUnexpectedExit', passed: false });
});

test('agentConfig: lines and Chain 2 sources from the devices, the scenario config deep-merged over them', (t) => {
  const c = agentConfig(
    {
      id: 'a1',
      mode: 'process',
      devices: ['m1', 'g1'],
      config: { batch: { windowMs: 5000 }, lines: [] },
      failpoints: [],
    },
    [{ lines: [{ name: 'm1' }] }, { podId: 'IT001E01524052', chain2: [{ name: 'g1', ws: 'ws://x' }] }],
    'mqtt://127.0.0.1:1883',
    '/tmp/x',
  );
  t.is(c.podId, 'IT001E01524052');
  t.deepEqual(c.batch, { windowMs: 5000 });
  t.deepEqual(c.lines, []); // arrays are replaced, not merged
  t.deepEqual(c.chain2, [{ name: 'g1', ws: 'ws://x' }]);
  t.like(c.uplink, { url: 'mqtt://127.0.0.1:1883' });
  t.deepEqual(deepMerge({ a: { b: 1, c: 2 } }, { a: { c: 3 } }), { a: { b: 1, c: 3 } });
  t.like(c, { stateDir: '/tmp/x', keyFile: '/tmp/x/device.key', status: { socket: '/tmp/x/agent.sock' } });
});

test('agentConfig on a tmpfs: the store in the stateDir, the key and the status socket in the working dir', (t) => {
  const spec = { id: 'a1', mode: 'process' as const, devices: ['m1'], config: {}, failpoints: [] };
  const c = agentConfig(spec, [{ lines: [{ name: 'm1' }] }], 'mqtt://127.0.0.1:1883', '/tmp/x', '/tmp/x/fs');
  t.like(c, { stateDir: '/tmp/x/fs', keyFile: '/tmp/x/device.key', status: { socket: '/tmp/x/agent.sock' } });
});

// ---- setpoints: one genuine setpoint in [5, 15) s of device 0xdev, sent at 4.5 s

const SP = { agent: 'a1', deviceId: '0xdev', id: '0xsp1', targetW: -1000, sentS: 4.5, fromS: 5, untilS: 15 };
const ack = (setpointId: string, state: AckAt['state'], tS: number, reason = ''): AckAt => ({
  deviceId: '0xdev',
  setpointId,
  state,
  reason,
  tS,
});
const bat = (event: BatteryEventAt['event'], tS: number, o: Partial<BatteryEventAt> = {}): BatteryEventAt => ({
  deviceId: '0xdev',
  event,
  tS,
  ...o,
});
function facts(o: Partial<SetpointFacts> = {}): SetpointFacts {
  return {
    sent: [SP],
    refused: [],
    acks: [ack('0xsp1', 'scheduled', 4.6), ack('0xsp1', 'applied', 5.4), ack('0xsp1', 'expired', 15.3)],
    battery: [bat('command', 5.1, { commandW: 2500 }), bat('release', 15.2)],
    badAcks: [],
    endS: 30,
    ...o,
  };
}

test('setpointAppliedWithinS: the first applied ack after the window start; none, or too late, fails', (t) => {
  const ok = evaluateSetpointInvariant({ setpointAppliedWithinS: 1 }, facts());
  t.like(ok, { name: 'setpointAppliedWithinS', passed: true, value: 0.4 });
  t.regex(ok.detail, /1 setpoints applied, at most 0.4 s after their window's start \(≤ 1 s asked\): -1000 W 0.4 s/);
  const late = facts({ acks: [ack('0xsp1', 'not_applied', 5.5, 'READBACK_MISMATCH'), ack('0xsp1', 'applied', 8)] });
  t.like(evaluateSetpointInvariant({ setpointAppliedWithinS: 1 }, late), { passed: false, value: 3 });
  const never = evaluateSetpointInvariant({ setpointAppliedWithinS: 1 }, facts({ acks: [ack('0xsp1', 'clipped', 6)] }));
  t.like(never, { passed: false, value: 'never' });
  t.regex(never.detail, /a1 0xsp1… \(-1000 W at t=5 s\): no applied ack/);
  const unverified = evaluateSetpointInvariant({ setpointAppliedWithinS: 1 }, facts({ badAcks: ['ln/v1/x/ack: bad'] }));
  t.false(unverified.passed, 'an ack that does not verify fails it');
});

test('rejectedWith: each refused setpoint rejected with a listed code, never accepted, the battery not following', (t) => {
  const refused: SetpointFacts['refused'] = [
    { agent: 'a1', deviceId: '0xdev', id: '0xforged', kind: 'forged', sentS: 7 },
    { agent: 'a1', deviceId: '0xdev', id: '0xsp1', kind: 'replay', sentS: 9 },
  ];
  const codes = ['SETPOINT_ISSUER_UNKNOWN', 'SETPOINT_REPLAY'];
  const base = facts().acks;
  const good = facts({
    refused,
    acks: [
      ...base,
      ack('0xforged', 'rejected', 7.6, 'SETPOINT_ISSUER_UNKNOWN'),
      ack('0xsp1', 'rejected', 9.2, 'SETPOINT_REPLAY'),
    ],
  });
  // the replayed id's own acks (scheduled before the replay, expired after) are the original's, not an acceptance
  t.like(evaluateSetpointInvariant({ rejectedWith: codes }, good), {
    name: 'rejectedWith',
    passed: true,
    value: 'SETPOINT_ISSUER_UNKNOWN, SETPOINT_REPLAY',
  });
  const wrongCode = evaluateSetpointInvariant({ rejectedWith: ['SETPOINT_REPLAY'] }, good);
  t.false(wrongCode.passed);
  t.regex(wrongCode.detail, /forged 0xforged… \(t=7 s\): rejected with SETPOINT_ISSUER_UNKNOWN/);
  const missing = evaluateSetpointInvariant({ rejectedWith: codes }, facts({ refused, acks: base }));
  t.regex(missing.detail, /forged 0xforged… \(t=7 s\): no rejected ack; replay 0xsp1… \(t=9 s\): no rejected ack/);
  const accepted = facts({
    refused,
    acks: [...good.acks, ack('0xforged', 'applied', 8), ack('0xsp1', 'received', 9.3)],
  });
  const acc = evaluateSetpointInvariant({ rejectedWith: codes }, accepted);
  t.false(acc.passed);
  t.regex(
    acc.detail,
    /forged 0xforged… \(t=7 s\): accepted \(applied ack\).*replay 0xsp1… \(t=9 s\): accepted \(received ack\)/,
  );
  const followed = facts({ ...good, battery: [...facts().battery, bat('command', 20, { commandW: -2000 })] });
  const f = evaluateSetpointInvariant({ rejectedWith: codes }, followed);
  t.false(f.passed);
  t.regex(f.detail, /battery command -2000 W at t=20 s outside every genuine window/);
  t.false(evaluateSetpointInvariant({ rejectedWith: codes }, facts()).passed, 'nothing refused: nothing proven');
});

test('autonomousWithinS: a window end needs the expired (or autonomous) ack and the battery released', (t) => {
  t.deepEqual(handBacks(facts()), [
    {
      what: 'window-end',
      deviceId: '0xdev',
      setpointId: '0xsp1',
      atS: 15,
      latencyS: 0.3,
      by: 'expired ack + battery release',
    },
  ]);
  t.like(evaluateSetpointInvariant({ autonomousWithinS: 1 }, facts()), { passed: true, value: 0.3 });
  t.is(fallbackSeconds(facts()), 0.3);
  const noRelease = facts({ battery: [bat('command', 5.1, { commandW: 2500 })] });
  const r = evaluateSetpointInvariant({ autonomousWithinS: 5 }, noRelease);
  t.false(r.passed);
  t.regex(r.detail, /window-end at t=15 s: no release/);
  // fell back before the end (two failed readbacks): the release then counts, latency 0
  const early = facts({
    acks: [ack('0xsp1', 'applied', 5.4), ack('0xsp1', 'autonomous', 9, 'READBACK_FAILED')],
    battery: [bat('command', 5.1), bat('release', 8.9)],
  });
  t.like(handBacks(early)[0], { latencyS: 0, by: 'autonomous ack + battery release' });
  // superseded by a later overlapping setpoint: its end is not a hand-back; a window beyond the run's end neither
  const sp2 = { ...SP, id: '0xsp2', sentS: 10, fromS: 10.5, untilS: 40 };
  t.deepEqual(
    handBacks(facts({ sent: [SP, sp2], acks: [ack('0xsp1', 'applied', 5.4), ack('0xsp2', 'applied', 11)] })),
    [],
  );
  t.like(evaluateSetpointInvariant({ autonomousWithinS: 5 }, facts({ acks: [] })), { passed: false });
});

test('autonomousWithinS: more hand-backs than the list shows are counted by kind and what answered them', (t) => {
  const ts = [6, 7, 8, 9, 10, 11, 12];
  const reason = (i: number) => (i < 4 ? 'POD_DEVIATION' : 'READBACK_MISMATCH');
  const many = facts({
    acks: [...facts().acks, ...ts.map((x, i) => ack('0xsp1', 'reverted', x + 0.2, reason(i)))],
    battery: [
      ...facts().battery,
      ...ts.flatMap((x) => [
        bat('fault', x, { fault: 'silent-revert', commandW: 2500 }),
        bat('command', x + 0.3, { commandW: 2500 }),
      ]),
    ],
  });
  const r = evaluateSetpointInvariant({ autonomousWithinS: 5 }, many);
  t.true(r.passed, r.detail);
  t.regex(
    r.detail,
    / … \(8\); by kind: silent-revert: reverted ack POD_DEVIATION ×4, reverted ack READBACK_MISMATCH ×3; window-end: expired ack ×1$/,
  );
});

test('autonomousWithinS: a silent revert is taken back (a new command and an ack); fake-mode reported', (t) => {
  const silent = facts({
    acks: [...facts().acks, ack('0xsp1', 'clipped', 9.1, 'ESS_MAX_DISCHARGE'), ack('0xsp1', 'reverted', 12.2)],
    battery: [
      bat('command', 5.1, { commandW: 2500 }),
      bat('fault', 8, { fault: 'silent-revert', commandW: 2500 }),
      bat('command', 9, { commandW: 3000 }),
      bat('fault', 11.5, { fault: 'silent-revert', commandW: 3000 }),
      bat('command', 12.3, { commandW: 2500 }),
      bat('release', 15.2),
    ],
  });
  const hs = handBacks(silent);
  t.deepEqual(
    hs.map((h) => [h.what, h.latencyS, h.by]),
    [
      ['silent-revert', 1.1, 'battery command 3000 W + clipped ack ESS_MAX_DISCHARGE'],
      ['silent-revert', 0.8, 'battery command 2500 W + reverted ack'],
      ['window-end', 0.3, 'expired ack + battery release'],
    ],
  );
  t.is(fallbackSeconds(silent), 1.1);
  t.false(evaluateSetpointInvariant({ autonomousWithinS: 1 }, silent).passed);
  t.true(evaluateSetpointInvariant({ autonomousWithinS: 2 }, silent).passed);
  // never taken back: a fault near the run's end is not due, one earlier fails
  const lost = (atS: number) =>
    facts({ acks: [], sent: [], battery: [bat('fault', atS, { fault: 'silent-revert', commandW: 2500 })] });
  t.false(evaluateSetpointInvariant({ autonomousWithinS: 5 }, lost(10)).passed);
  t.regex(evaluateSetpointInvariant({ autonomousWithinS: 5 }, lost(10)).detail, /silent-revert at t=10 s: no reverted/);
  t.regex(evaluateSetpointInvariant({ autonomousWithinS: 5 }, lost(28)).detail, /nothing to hand back/);
  const fake = facts({
    acks: [...facts().acks, ack('0xsp1', 'applied', 6), ack('0xsp1', 'not_applied', 9, 'READBACK_MISMATCH')],
    battery: [bat('fault', 5.9, { fault: 'fake-mode', commandW: 2500 }), bat('release', 15.2)],
  });
  t.like(handBacks(fake)[0], { what: 'fake-mode', latencyS: 3.1, by: 'not_applied ack READBACK_MISMATCH' });
});

test('evaluate: the setpoint invariants from the facts, fallbackS among the figures; without facts they fail', (t) => {
  const input = {
    invariants: [{ setpointAppliedWithinS: 2 }, { autonomousWithinS: 2 }],
    sub: new RunSubscriber('mqtt://unused'),
    agents: [agent()],
    outbox: [],
    lastFaultEndS: null,
    rssMaxMB: null,
  };
  const r = evaluate({ ...input, setpoints: facts() });
  t.deepEqual(
    r.invariants.map((i) => [i.name, i.passed]),
    [
      ['setpointAppliedWithinS', true],
      ['autonomousWithinS', true],
    ],
  );
  t.is(r.figures.fallbackS, 0.3);
  const none = evaluate(input);
  t.false(none.invariants[0]!.passed);
  t.regex(none.invariants[0]!.detail, /this run has no ess device/);
  t.is(none.figures.fallbackS, null);
});

test("agentConfig: an ess device's line and asset; the run's operator the one issuer, with quick timings", (t) => {
  const spec = { id: 'a1', mode: 'process' as const, devices: ['e1'], config: {}, failpoints: [] };
  const dev = { lines: [{ name: 'e1', meters: [{ id: 'e1-pod', role: 'pod' }] }], assets: [{ id: 'e1', kind: 'ess' }] };
  const op = '0x' + 'ab'.repeat(20);
  const c = agentConfig(spec, [dev], 'mqtt://127.0.0.1:1883', '/tmp/x', '/tmp/x', { operator: op });
  t.deepEqual(c.assets, [{ id: 'e1', kind: 'ess' }]);
  t.like(c.setpoints, { issuers: [op], revertS: 10, refreshMs: 4000 });
  t.false(
    'setpoints' in agentConfig(spec, [{ lines: [{ name: 'm1' }] }], 'mqtt://x:1', '/tmp/x', '/tmp/x', { operator: op }),
  );
});
