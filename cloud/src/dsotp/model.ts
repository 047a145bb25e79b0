/**
 * The DSOTP's network model: the power-flow network file (network.ts, `parseNetwork`) plus the keys the platform
 * needs — `pom: {id, bus}`, `feeders: [{id, name, headBranch: {from, to}}]`, `pods: [{pod, bus}]`, `vMinPu`/`vMaxPu`
 * (0.9 / 1.1), optional 15-min `profiles: [{bus, pKW: […], qKvar: […]}]` (92..100 values, the market day's slot
 * count) and `podCosPhi` (0.9). Strict: an unknown key, an unknown bus, a head branch that is not an in-service
 * branch or a bad profile length is `NETWORK_INVALID` naming the key.
 *
 * Loads of a slot (`slotLoads`), load convention (import positive): each bus its profile value for the slot, else
 * its constant `pKW`/`qKvar`; a PoD bus with at least one PoD level given takes instead the sum of its PoDs' levels,
 * Q = P × tan(acos podCosPhi).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { LightNodeError, isLightNodeError, podIdSchema } from '@lightnode/protocols';
import { parseBody } from '../http/body.js';
import { compileNetwork, parseNetwork, type BusId, type NetworkFile, type RadialNetwork } from './network.js';
import { baseLoads, type Loads } from './powerflow.js';

const busId = z.union([z.string().min(1), z.number().int()]);
const finite = z.number().refine(Number.isFinite, 'a finite number');
const series = z.array(finite).min(92).max(100);

const ModelKeys = z.strictObject({
  baseKV: z.unknown(),
  baseMVA: z.unknown(),
  slackBus: z.unknown(),
  slackVoltagePu: z.unknown().optional(),
  buses: z.unknown(),
  branches: z.unknown(),
  name: z.string().optional(),
  description: z.string().optional(),
  pom: z.strictObject({ id: z.string().min(1).max(64), bus: busId }),
  feeders: z.array(
    z.strictObject({
      id: z.string().min(1),
      name: z.string().min(1),
      headBranch: z.strictObject({ from: busId, to: busId }),
    }),
  ),
  pods: z.array(z.strictObject({ pod: podIdSchema, bus: busId })),
  vMinPu: finite.optional(),
  vMaxPu: finite.optional(),
  profiles: z.array(z.strictObject({ bus: busId, pKW: series, qKvar: series })).optional(),
  podCosPhi: z.number().gt(0).lte(1).optional(),
});
type ModelDoc = z.infer<typeof ModelKeys>;

export interface Feeder {
  id: string;
  name: string;
  /** Index into `net.branches` of the head branch. */
  branch: number;
}

export interface DsoModel {
  readonly net: RadialNetwork;
  readonly pom: { id: string; bus: number };
  readonly feeders: readonly Feeder[];
  /** PoDs in file order; `bus` is the bus index. */
  readonly pods: readonly { pod: string; bus: number }[];
  readonly vMinPu: number;
  readonly vMaxPu: number;
  readonly podCosPhi: number;
  /** Per bus index, its 15-min profile. */
  readonly profiles: ReadonlyMap<number, { pKW: readonly number[]; qKvar: readonly number[] }>;
  /** Bus ids by index (as given). */
  readonly busIds: readonly BusId[];
}

const invalid = (field: string, message: string, received?: unknown): LightNodeError =>
  new LightNodeError('NETWORK_INVALID', `${field}: ${message}`, { field, received });

/** Parses and compiles a DSOTP network model (an object already read from JSON). */
export function parseDsoModel(x: unknown, source = 'network'): DsoModel {
  const file: NetworkFile = parseNetwork(x, source);
  let doc: ModelDoc;
  try {
    doc = parseBody(ModelKeys, x);
  } catch (e) {
    if (isLightNodeError(e))
      throw new LightNodeError('NETWORK_INVALID', `${source}: ${e.message.replace(/^[A-Z_]+: /, '')}`, e.context, {
        cause: e,
      });
    throw e;
  }
  const net = compileNetwork(file);
  const bus = (id: BusId, field: string): number => {
    const i = net.busIndex.get(String(id));
    if (i === undefined) throw invalid(field, `expected a bus of the network, received unknown bus ${String(id)}`, id);
    return i;
  };
  const branchIndex = new Map<string, number>();
  net.branches.forEach((b, i) => {
    branchIndex.set(`${String(b.from)}\u0000${String(b.to)}`, i);
    branchIndex.set(`${String(b.to)}\u0000${String(b.from)}`, i);
  });
  const pom = { id: doc.pom.id, bus: bus(doc.pom.bus, 'pom.bus') };
  const feeders = doc.feeders.map((f, i) => {
    const b = branchIndex.get(`${String(f.headBranch.from)}\u0000${String(f.headBranch.to)}`);
    if (b === undefined)
      throw invalid(
        `feeders.${i}.headBranch`,
        `expected an in-service branch of the network, received ${String(f.headBranch.from)}–${String(f.headBranch.to)}`,
        f.headBranch,
      );
    return { id: f.id, name: f.name, branch: b };
  });
  const seen = new Set<string>();
  const pods = doc.pods.map((p, i) => {
    if (seen.has(p.pod)) throw invalid(`pods.${i}.pod`, `expected each PoD once, received ${p.pod} again`, p.pod);
    seen.add(p.pod);
    return { pod: p.pod, bus: bus(p.bus, `pods.${i}.bus`) };
  });
  const profiles = new Map<number, { pKW: number[]; qKvar: number[] }>();
  (doc.profiles ?? []).forEach((p, i) => {
    const b = bus(p.bus, `profiles.${i}.bus`);
    if (profiles.has(b)) throw invalid(`profiles.${i}.bus`, `expected one profile per bus, received ${p.bus} again`);
    if (p.qKvar.length !== p.pKW.length)
      throw invalid(`profiles.${i}.qKvar`, `expected ${p.pKW.length} values (as pKW), received ${p.qKvar.length}`);
    profiles.set(b, { pKW: p.pKW, qKvar: p.qKvar });
  });
  const vMinPu = doc.vMinPu ?? 0.9;
  const vMaxPu = doc.vMaxPu ?? 1.1;
  if (!(vMinPu < vMaxPu)) throw invalid('vMaxPu', `expected above vMinPu (${vMinPu}), received ${vMaxPu}`, vMaxPu);
  return {
    net,
    pom,
    feeders,
    pods,
    vMinPu,
    vMaxPu,
    podCosPhi: doc.podCosPhi ?? 0.9,
    profiles,
    busIds: file.buses.map((b) => b.id),
  };
}

/** Reads a model file: IO or JSON errors are NETWORK_INVALID naming the path. */
export function loadDsoModel(path: string): DsoModel {
  let x: unknown;
  try {
    x = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new LightNodeError('NETWORK_INVALID', `network file ${path}: ${(e as Error).message}`, { path });
  }
  return parseDsoModel(x, path);
}

/** A model given as a path or an object. */
export function dsoModel(network: string | object): DsoModel {
  return typeof network === 'string' ? loadDsoModel(network) : parseDsoModel(network);
}

/** NETWORK_INVALID when a profile does not have the market day's slot count. */
export function checkProfiles(m: DsoModel, slots: number): void {
  for (const [b, p] of m.profiles)
    if (p.pKW.length !== slots)
      throw invalid(
        `profiles (bus ${String(m.busIds[b])})`,
        `expected ${slots} values (the market day's slots), received ${p.pKW.length}`,
      );
}

/** Whether bus `bus` is in the subtree below branch `branch` (its child bus or below). O(depth). */
export function isBelow(m: DsoModel, branch: number, bus: number): boolean {
  const child = m.net.branches[branch]!.child;
  for (let b = bus; b >= 0; b = m.net.parent[b]!) if (b === child) return true;
  return false;
}

/** The innermost feeder with `bus` below its head branch (walking up from the bus), if any. */
export function feederOfBus(m: DsoModel, bus: number): Feeder | undefined {
  for (let b = bus; b >= 0 && b !== m.net.slack; b = m.net.parent[b]!) {
    const f = m.feeders.find((x) => x.branch === m.net.branchOfBus[b]);
    if (f) return f;
  }
  return undefined;
}

/**
 * The loads of slot `slot` with the given PoD levels (kW, load convention; PoDs absent keep their bus's background
 * load unless another PoD on the bus has a level).
 */
export function slotLoads(m: DsoModel, slot: number, podLevelsKW: ReadonlyMap<string, number>): Loads {
  const l = baseLoads(m.net);
  for (const [b, p] of m.profiles) {
    l.pKW[b] = p.pKW[slot]!;
    l.qKvar[b] = p.qKvar[slot]!;
  }
  const tanPhi = Math.tan(Math.acos(m.podCosPhi));
  const replaced = new Set<number>();
  for (const p of m.pods) {
    const kW = podLevelsKW.get(p.pod);
    if (kW === undefined) continue;
    if (!replaced.has(p.bus)) {
      replaced.add(p.bus);
      l.pKW[p.bus] = 0;
      l.qKvar[p.bus] = 0;
    }
    l.pKW[p.bus]! += kW;
    l.qKvar[p.bus]! += kW * tanPhi;
  }
  return l;
}
