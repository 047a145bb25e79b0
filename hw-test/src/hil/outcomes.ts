/**
 * What a finished run hands the invariants and the report: each agent's outcome (how long it was up, what it
 * committed, which meters it polled) and the power per meter on the run's time axis (from the subscriber's verified
 * batches, one point per simulated second).
 */
import type { HilAgent } from './hil-agent.js';
import type { AgentOutcome } from './invariants.js';
import type { HilSeries } from './result.js';
import type { Scenario } from './scenario.js';

/** A meter fault that makes it dead for the whole run: `timeout` that always fires (no `@p`, no `every`). */
export const isDeadFault = (spec: string): boolean => /^timeout(@1(\.0*)?)?$/.test(spec);

/** The power per meter, averaged per simulated second (a device with several meters is named by its agent). */
export function powerSeries(
  s: Scenario,
  power: readonly { atMs: number; deviceId: string; w: number }[],
  deviceIds: ReadonlyMap<string, string>,
  t0: number,
  speed: number,
): HilSeries['power'] {
  const meterOf = (deviceId: string) => {
    const agent = [...deviceIds].find(([, d]) => d === deviceId)?.[0];
    const spec = s.agents.find((a) => a.id === agent);
    const meters = spec?.devices.filter((id) => s.devices.find((d) => d.id === id)?.kind === 'meter') ?? [];
    return meters.length === 1 ? meters[0]! : (agent ?? deviceId);
  };
  const buckets = new Map<string, { tS: number; meter: string; sum: number; n: number }>();
  for (const p of power) {
    const tS = Math.max(0, Math.round(((p.atMs - t0) / 1000) * speed));
    const meter = meterOf(p.deviceId);
    const b = buckets.get(`${meter}@${tS}`) ?? { tS, meter, sum: 0, n: 0 };
    b.sum += p.w;
    b.n++;
    buckets.set(`${meter}@${tS}`, b);
  }
  return [...buckets.values()].map((b) => ({ tS: b.tS, meter: b.meter, w: Math.round(b.sum / b.n) }));
}

/** Each scenario agent's outcome (an agent that never started has nulls and no up time). */
export function agentOutcomes(
  s: Scenario,
  o: {
    agents: ReadonlyMap<string, HilAgent>;
    /** agent id → its device id (its key's address) */
    deviceIds: ReadonlyMap<string, string>;
    committed: ReadonlyMap<string, number | null>;
    /** agent id → null (its outbox passed `buffer verify`) or what verify said */
    verified: ReadonlyMap<string, string | null>;
    speed: number;
  },
): AgentOutcome[] {
  return s.agents.map((spec) => {
    const a = o.agents.get(spec.id);
    const meters = spec.devices.flatMap((id) => {
      const d = s.devices.find((x) => x.id === id);
      return d?.kind === 'meter' ? [d] : [];
    });
    const dead = meters.filter((d) => d.faults.some(isDeadFault)).map((d) => d.id);
    const polled = meters.filter((d) => !dead.includes(d.id)).map((d) => d.pollMs);
    const end = Date.now();
    const upS = (a?.up ?? []).reduce((n, u) => n + ((u.toMs ?? end) - u.fromMs) / 1000, 0) * o.speed;
    return {
      id: spec.id,
      deviceId: o.deviceIds.get(spec.id) ?? null,
      committedNextSeq: o.committed.get(spec.id) ?? null,
      upS,
      pollMs: polled.length ? Math.min(...polled) : null,
      meters: polled.length,
      deadMeters: dead,
      crashes: a?.crashes ?? [],
      outboxVerify: o.verified.has(spec.id)
        ? o.verified.get(spec.id)!
        : 'not verified (the run ended before the final stop)',
    };
  });
}
