// The HIL invariants on hand-made subscriber logs: lost seqs (signed gaps and the outbox's committed count
// included), conflicting leaves, the drain time, coverage; and the agent config the runner generates.
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
