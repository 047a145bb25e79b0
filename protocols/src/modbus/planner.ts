/**
 * The register-read planner: merges the points of one poll into the fewest read requests, per function code.
 * Two neighbouring points share a request when the registers between them (the gap) are at most `maxGap`, the
 * request stays within `maxRegisters` (125 for FC 03/04 — Modbus application protocol §6.3/6.4; 2000 for FC 01/02)
 * and it never covers a declared forbidden range. Greedy left to right over sorted points, which is optimal for
 * this interval problem (each request is extended as far as the constraints allow).
 */
import { LightNodeError } from '../errors.js';

export interface PlanPoint {
  fc: 1 | 2 | 3 | 4;
  address: number;
  /** Registers (or bits for FC 01/02). */
  count: number;
}

export interface ReadRequest {
  fc: 1 | 2 | 3 | 4;
  address: number;
  count: number;
  /** Indexes into the planned points that this request covers. */
  points: number[];
}

export interface PlanOptions {
  /** Largest hole (registers read and thrown away) allowed between two merged points. Default 8. */
  maxGap?: number;
  /** Cap per request; default 125 (FC 03/04) / 2000 (FC 01/02); never above those. */
  maxRegisters?: number;
  /** Inclusive ranges that must never be read. */
  forbidden?: readonly { fc: number; start: number; end: number }[];
}

const LIMIT: Record<number, number> = { 1: 2000, 2: 2000, 3: 125, 4: 125 };

export function planReads(points: readonly PlanPoint[], opts: PlanOptions = {}): ReadRequest[] {
  const maxGap = opts.maxGap ?? 8;
  const forbidden = opts.forbidden ?? [];
  const out: ReadRequest[] = [];
  const byFc = new Map<number, number[]>();
  points.forEach((p, i) => {
    const limit = Math.min(LIMIT[p.fc] ?? 125, opts.maxRegisters ?? Infinity);
    if (p.count < 1 || p.count > limit)
      throw new LightNodeError(
        'MODBUS_PLAN',
        `point ${i} (fc ${p.fc} @${p.address}): ${p.count} registers exceed one request (max ${limit})`,
        { index: i },
      );
    for (const f of forbidden)
      if (f.fc === p.fc && p.address <= f.end && p.address + p.count - 1 >= f.start)
        throw new LightNodeError(
          'MODBUS_PLAN',
          `point ${i} (fc ${p.fc} @${p.address}) lies in forbidden range ${f.start}..${f.end}`,
          { index: i },
        );
    byFc.set(p.fc, [...(byFc.get(p.fc) ?? []), i]);
  });
  for (const [fc, idx] of [...byFc.entries()].sort((a, b) => a[0] - b[0])) {
    const limit = Math.min(LIMIT[fc] ?? 125, opts.maxRegisters ?? Infinity);
    const sorted = idx
      .slice()
      .sort((a, b) => points[a]!.address - points[b]!.address || points[b]!.count - points[a]!.count);
    let cur: ReadRequest | null = null;
    for (const i of sorted) {
      const p = points[i]!;
      const end = p.address + p.count; // exclusive
      if (cur) {
        const curEnd = cur.address + cur.count;
        const gap = p.address - curEnd;
        const newEnd = Math.max(curEnd, end);
        const crossesForbidden = forbidden.some((f) => f.fc === fc && f.start < newEnd && f.end >= cur!.address);
        if (gap <= maxGap && newEnd - cur.address <= limit && !crossesForbidden) {
          cur.count = newEnd - cur.address;
          cur.points.push(i);
          continue;
        }
        out.push(cur);
      }
      cur = { fc: fc as ReadRequest['fc'], address: p.address, count: p.count, points: [i] };
    }
    if (cur) out.push(cur);
  }
  return out;
}
