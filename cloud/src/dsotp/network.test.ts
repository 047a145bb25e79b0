/**
 * The grid model's checks: a bad network file is NETWORK_INVALID / _MESHED / _ISLANDED naming the element; the
 * compiled tree (BFS order, parents, branch of each bus) follows the in-service branches only.
 */
import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLightNodeError, type LightNodeError } from '@lightnode/protocols';
import { ieee33Network } from '@lightnode/cloud/testing';
import { compileNetwork, loadNetwork, parseNetwork, type NetworkFile } from './network.js';

const dir = mkdtempSync(join(tmpdir(), 'ln-network-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

/** A 4-bus feeder A–B–C plus B–D, string ids. */
const small = (): NetworkFile => ({
  baseKV: 20,
  baseMVA: 1,
  slackBus: 'A',
  buses: [
    { id: 'A', pKW: 0, qKvar: 0 },
    { id: 'B', pKW: 100, qKvar: 30 },
    { id: 'C', pKW: 50, qKvar: 10 },
    { id: 'D', pKW: 20, qKvar: 5 },
  ],
  branches: [
    { from: 'A', to: 'B', rOhm: 0.5, xOhm: 0.4 },
    { from: 'C', to: 'B', rOhm: 0.3, xOhm: 0.2, ampacityA: 200 },
    { from: 'B', to: 'D', rOhm: 0.3, xOhm: 0.2 },
  ],
});

function fails(t: ExecutionContext, fn: () => unknown, code: string, ...named: string[]): LightNodeError {
  const e: unknown = t.throws(fn);
  if (!isLightNodeError(e)) throw new Error(`not a LightNodeError: ${String(e)}`);
  t.is(e.code, code as LightNodeError['code'], e.message);
  for (const s of named) t.true(e.message.includes(s), `${JSON.stringify(e.message)} names ${s}`);
  return e;
}

test('the compiled tree: BFS order from the slack, parents, the branch of each bus; ids echoed as given', (t) => {
  const net = compileNetwork(parseNetwork(small()));
  t.is(net.n, 4);
  t.is(net.slack, 0);
  t.deepEqual([...net.order], [0, 1, 2, 3]);
  t.deepEqual([...net.parent], [-1, 0, 1, 1]);
  t.deepEqual(
    net.branches.map((b) => [b.from, b.to, b.parent, b.child, b.ampacityA]),
    [
      ['A', 'B', 0, 1, undefined],
      ['C', 'B', 1, 2, 200],
      ['B', 'D', 1, 3, undefined],
    ],
  );
  t.deepEqual([...net.branchOfBus], [-1, 0, 1, 2]);
  t.is(net.busIndex.get('C'), 2);
  t.true(Math.abs(net.iBaseA - 1e6 / (Math.sqrt(3) * 20e3)) < 1e-12);
});

test('branches out of service are ignored (IEEE 33: the five ties), extra keys pass', (t) => {
  const f = { ...ieee33Network(), model: { note: 'DSOTP keys' } };
  const net = compileNetwork(parseNetwork(f));
  t.is(net.branches.length, 32);
  t.is((parseNetwork(f) as unknown as { model: unknown }).model, f.model);
});

test('a loop among the in-service branches is NETWORK_MESHED naming the branch that closes it', (t) => {
  const f = small();
  f.branches.push({ from: 'D', to: 'C', rOhm: 1, xOhm: 1 });
  const e = fails(t, () => compileNetwork(f), 'NETWORK_MESHED', 'D–C', 'branches.3');
  t.like(e.context, { from: 'D', to: 'C' });
  fails(t, () => compileNetwork(ieee33Network({ closed: [37] })), 'NETWORK_MESHED', 'closes a loop');
  const par = small();
  par.branches.push({ from: 'B', to: 'A', rOhm: 1, xOhm: 1 });
  fails(t, () => compileNetwork(par), 'NETWORK_MESHED', 'B–A');
});

test('buses the slack does not reach are NETWORK_ISLANDED naming them and their count', (t) => {
  const f = small();
  f.branches[1]!.inService = false;
  const e = fails(t, () => compileNetwork(f), 'NETWORK_ISLANDED', 'C', '1 bus');
  t.deepEqual(e.context, { buses: ['C'], count: 1 });
  const e2 = fails(t, () => compileNetwork(ieee33Network({ open: [2] })), 'NETWORK_ISLANDED', '27 bus', '3, 4, 5');
  t.is((e2.context.buses as unknown[]).length, 20);
});

test('an unknown bus, a duplicate bus, a negative impedance, no slack are NETWORK_INVALID naming the element', (t) => {
  const unknown = small();
  unknown.branches[2]!.to = 'E';
  fails(t, () => compileNetwork(unknown), 'NETWORK_INVALID', 'branches.2.to', '"E"');
  const dup = small();
  dup.buses.push({ id: 'C', pKW: 1, qKvar: 1 });
  fails(t, () => compileNetwork(dup), 'NETWORK_INVALID', 'buses.4.id', 'duplicate bus');
  const neg = small();
  neg.branches[1]!.xOhm = -0.1;
  fails(t, () => compileNetwork(neg), 'NETWORK_INVALID', 'branches.1.xOhm', '-0.1');
  fails(t, () => compileNetwork({ ...small(), slackBus: 'Z' }), 'NETWORK_INVALID', 'slackBus', 'Z');
  const { slackBus: _, ...noSlack } = small();
  fails(t, () => compileNetwork(noSlack as NetworkFile), 'NETWORK_INVALID', 'slackBus');
  const nan = small();
  nan.buses[2]!.pKW = Number.NaN;
  fails(t, () => compileNetwork(nan), 'NETWORK_INVALID', 'buses.2.pKW');
  fails(t, () => compileNetwork({ ...small(), baseKV: Infinity }), 'NETWORK_INVALID', 'baseKV');
});

test('loadNetwork: a file that is not JSON, or missing, is NETWORK_INVALID naming the file', (t) => {
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{"baseKV": 20,');
  fails(t, () => loadNetwork(bad), 'NETWORK_INVALID', bad, 'not JSON');
  fails(t, () => loadNetwork(join(dir, 'missing.json')), 'NETWORK_INVALID', 'missing.json');
  const wrong = join(dir, 'wrong.json');
  writeFileSync(wrong, JSON.stringify({ ...small(), baseMVA: 'ten' }));
  fails(t, () => loadNetwork(wrong), 'NETWORK_INVALID', 'wrong.json', 'baseMVA');
  const good = join(dir, 'good.json');
  writeFileSync(good, JSON.stringify(small()));
  t.is(loadNetwork(good).n, 4);
});
