/**
 * The grid model of the DSO technical platform: the `--network FILE` JSON (a radial MV feeder: buses with
 * constant-power loads, series R + jX branches, one slack bus), checked by zod (NETWORK_INVALID naming the field) and
 * compiled once into a {@link RadialNetwork}: the tree rooted at the slack in typed arrays (BFS order, parent
 * pointers, per-unit impedances), which the power flow (powerflow.ts) solves many times without allocating.
 * A loop among the in-service branches is NETWORK_MESHED naming the branch that closes it; buses the slack does not
 * reach are NETWORK_ISLANDED naming them.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { LightNodeError, describeValue, invalidField } from '@lightnode/protocols';

export type BusId = string | number;

export interface NetworkFile {
  baseKV: number;
  baseMVA: number;
  slackBus: BusId;
  slackVoltagePu?: number;
  buses: { id: BusId; pKW: number; qKvar: number }[];
  branches: { from: BusId; to: BusId; rOhm: number; xOhm: number; inService?: boolean; ampacityA?: number }[];
}

// zod 4's number() refuses NaN and ±Infinity
const finite = z.number('a finite number');
const positive = z.number('a finite number').positive('a positive number');
const nonNegative = z.number('a finite number').min(0, 'a non-negative number (ohm)');
const busId = z.union([z.string().min(1), z.number().int()]);

const networkSchema = z.looseObject({
  baseKV: positive,
  baseMVA: positive,
  slackBus: busId,
  slackVoltagePu: positive.optional(),
  buses: z.array(z.looseObject({ id: busId, pKW: finite, qKvar: finite })).min(1),
  branches: z.array(
    z.looseObject({
      from: busId,
      to: busId,
      rOhm: nonNegative,
      xOhm: nonNegative,
      inService: z.boolean().optional(),
      ampacityA: positive.optional(),
    }),
  ),
});

/** Checks a network document; a failure is NETWORK_INVALID naming the field (`branches.3.rOhm`). Extra keys pass. */
export function parseNetwork(x: unknown, source?: string): NetworkFile {
  const r = networkSchema.safeParse(x);
  if (r.success) return r.data as NetworkFile;
  const i = r.error.issues[0]!;
  const path = i.path.map(String);
  let received: unknown = x;
  for (const k of path) received = (received as Record<string, unknown> | undefined)?.[k];
  const field = path.join('.') || 'network';
  throw invalidField('NETWORK_INVALID', source ? `${source}: ${field}` : field, i.message, received, {
    ...(source ? { source } : {}),
  });
}

export interface RadialBranch {
  from: BusId;
  to: BusId;
  parent: number;
  child: number;
  ampacityA?: number;
}

export interface RadialNetwork {
  readonly file: NetworkFile;
  readonly n: number;
  readonly busIndex: ReadonlyMap<string, number>;
  readonly slack: number;
  readonly order: Int32Array;
  readonly parent: Int32Array;
  readonly branches: readonly RadialBranch[];
  readonly branchOfBus: Int32Array;
  readonly iBaseA: number;
}

/** What the solver precomputes per network (powerflow.ts): BFS-position arrays and the iteration workspace. */
export interface SweepData {
  /** parent position in BFS order (posParent[0] = -1) */
  readonly posParent: Int32Array;
  /** series impedance of the branch to the parent, p.u., per BFS position */
  readonly r: Float64Array;
  readonly x: Float64Array;
  /** workspace: voltage and current (real, imaginary) per BFS position */
  readonly vr: Float64Array;
  readonly vi: Float64Array;
  readonly jr: Float64Array;
  readonly ji: Float64Array;
  readonly p: Float64Array;
  readonly q: Float64Array;
}

const sweepCache = new WeakMap<RadialNetwork, SweepData>();

function networkError(code: 'NETWORK_INVALID' | 'NETWORK_MESHED' | 'NETWORK_ISLANDED', msg: string, ctx: object) {
  return new LightNodeError(code, msg, ctx as Record<string, unknown>);
}

/** Checks the file (as parseNetwork) and builds the tree rooted at the slack over the in-service branches. */
export function compileNetwork(f: NetworkFile): RadialNetwork {
  parseNetwork(f);
  const n = f.buses.length;
  const busIndex = new Map<string, number>();
  f.buses.forEach((b, i) => {
    const k = String(b.id);
    if (busIndex.has(k))
      throw networkError('NETWORK_INVALID', `buses.${i}.id: duplicate bus ${describeValue(b.id)}`, {
        field: `buses.${i}.id`,
        bus: b.id,
      });
    busIndex.set(k, i);
  });
  const slack = busIndex.get(String(f.slackBus));
  if (slack === undefined)
    throw invalidField('NETWORK_INVALID', 'slackBus', 'the id of one of the buses', f.slackBus, { bus: f.slackBus });
  // adjacency (CSR) over the in-service branches
  const used: number[] = [];
  const ends: number[] = [];
  const endOf = (i: number, end: 'from' | 'to', id: BusId): number => {
    const k = busIndex.get(String(id));
    if (k === undefined)
      throw networkError('NETWORK_INVALID', `branches.${i}.${end}: unknown bus ${describeValue(id)}`, {
        field: `branches.${i}.${end}`,
        bus: id,
      });
    return k;
  };
  f.branches.forEach((br, i) => {
    if (br.inService === false) return;
    ends.push(endOf(i, 'from', br.from), endOf(i, 'to', br.to));
    if (ends[ends.length - 1] === ends[ends.length - 2])
      throw networkError('NETWORK_MESHED', `branches.${i}: branch ${br.from}–${br.to} is a self-loop`, {
        field: `branches.${i}`,
        from: br.from,
        to: br.to,
      });
    used.push(i);
  });
  const m = used.length;
  const deg = new Int32Array(n + 1);
  for (let e = 0; e < 2 * m; e++) deg[ends[e]! + 1]!++;
  for (let i = 0; i < n; i++) deg[i + 1]! += deg[i]!;
  const adj = new Int32Array(2 * m);
  const fill = deg.slice(0, n);
  for (let b = 0; b < m; b++) {
    const u = ends[2 * b]!;
    const v = ends[2 * b + 1]!;
    adj[fill[u]!++] = b;
    adj[fill[v]!++] = b;
  }
  // BFS from the slack; a branch reaching an already reached bus closes a loop
  const order = new Int32Array(n);
  const parent = new Int32Array(n).fill(-1);
  const viaBranch = new Int32Array(n).fill(-1);
  const seen = new Uint8Array(n);
  const done = new Uint8Array(m);
  order[0] = slack;
  seen[slack] = 1;
  let head = 0;
  let tail = 1;
  while (head < tail) {
    const u = order[head++]!;
    for (let a = deg[u]!; a < deg[u + 1]!; a++) {
      const b = adj[a]!;
      if (done[b]) continue;
      done[b] = 1;
      const v = ends[2 * b]! === u ? ends[2 * b + 1]! : ends[2 * b]!;
      if (seen[v]) {
        const br = f.branches[used[b]!]!;
        throw networkError(
          'NETWORK_MESHED',
          `branches.${used[b]}: branch ${br.from}–${br.to} closes a loop (the in-service branches must form a tree)`,
          { field: `branches.${used[b]}`, from: br.from, to: br.to },
        );
      }
      seen[v] = 1;
      parent[v] = u;
      viaBranch[v] = b;
      order[tail++] = v;
    }
  }
  if (tail < n) {
    const missing = f.buses.filter((_, i) => !seen[i]).map((b) => b.id);
    const shown = missing.slice(0, 5).join(', ') + (missing.length > 5 ? ', …' : '');
    throw networkError(
      'NETWORK_ISLANDED',
      `${missing.length} bus(es) not reached from the slack bus ${f.slackBus}: ${shown}`,
      { buses: missing.slice(0, 20), count: missing.length },
    );
  }
  const branchOfBus = new Int32Array(n).fill(-1);
  const branches: RadialBranch[] = used.map((i, b) => {
    const br = f.branches[i]!;
    const u = ends[2 * b]!;
    const v = ends[2 * b + 1]!;
    const child = viaBranch[v] === b ? v : u;
    branchOfBus[child] = b;
    return {
      from: br.from,
      to: br.to,
      parent: child === v ? u : v,
      child,
      ...(br.ampacityA !== undefined ? { ampacityA: br.ampacityA } : {}),
    };
  });
  const iBaseA = (f.baseMVA * 1e6) / (Math.sqrt(3) * f.baseKV * 1e3);
  const net: RadialNetwork = { file: f, n, busIndex, slack, order, parent, branches, branchOfBus, iBaseA };
  const zBase = (f.baseKV * f.baseKV) / f.baseMVA;
  const posOf = new Int32Array(n);
  for (let k = 0; k < n; k++) posOf[order[k]!] = k;
  const posParent = new Int32Array(n);
  const r = new Float64Array(n);
  const x = new Float64Array(n);
  posParent[0] = -1;
  for (let k = 1; k < n; k++) {
    const bus = order[k]!;
    posParent[k] = posOf[parent[bus]!]!;
    const br = f.branches[used[branchOfBus[bus]!]!]!;
    r[k] = br.rOhm / zBase;
    x[k] = br.xOhm / zBase;
  }
  const ws = () => new Float64Array(n);
  sweepCache.set(net, { posParent, r, x, vr: ws(), vi: ws(), jr: ws(), ji: ws(), p: ws(), q: ws() });
  return net;
}

/** The solver's precomputed arrays and workspace of a compiled network. */
export function sweepData(net: RadialNetwork): SweepData {
  const d = sweepCache.get(net);
  if (!d) throw new LightNodeError('NETWORK_INVALID', 'network: not compiled by compileNetwork', {});
  return d;
}

/** Reads, parses and compiles a network file; unreadable or not JSON is NETWORK_INVALID naming the file. */
export function loadNetwork(path: string): RadialNetwork {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new LightNodeError('NETWORK_INVALID', `${path}: cannot read (${(e as Error).message})`, { file: path });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new LightNodeError('NETWORK_INVALID', `${path}: not JSON (${(e as Error).message})`, { file: path });
  }
  return compileNetwork(parseNetwork(doc, path));
}
