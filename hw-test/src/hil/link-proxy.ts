/**
 * The link proxy: a TCP proxy on 127.0.0.1 (node:net only) between a client (an agent, a bench's device) and its
 * `target` (the broker), which counts what passes (link-count.ts) and shapes it like a bad cellular link, settings
 * changeable while it runs (`set`):
 * - **latency and jitter**, per direction, per chunk: a chunk is forwarded `latencyMs` ± a uniform draw of up to
 *   `jitterMs` after it arrived (never before the previous chunk of its direction: the stream keeps its order, as TCP
 *   does, so a large jitter lengthens the mean). `latencyMs` is one way: a request and its reply gain 2 × latencyMs
 *   when both directions have it (`up` / `down` override the shape of one direction);
 * - **loss as stalls**: each chunk, with a chance of `lossPct` %, holds its direction for a further 0.2–3 s (uniform;
 *   `stallMs` at the start) — what a lost segment costs a TCP stream (a retransmission after an RTO ≥ 200 ms, the
 *   Linux minimum) while nothing is lost or reordered;
 * - **blackhole**: connections are accepted and kept open, nothing is forwarded either way while it lasts; what
 *   was sent meanwhile is held and delivered, in order, when it clears — as TCP's retransmissions get through once
 *   the path is back (a stream never loses bytes in the middle; a peer that gives up first closes by its own
 *   timeouts). A connection accepted meanwhile reaches the target only once the blackhole clears, with what its
 *   client sent; a FIN still passes;
 * - **reset**: `reset()` destroys every open connection with a TCP RST on both sides.
 * Draws come from a seeded PRNG (mulberry32), one stream per connection and direction, two draws per chunk whatever
 * the settings, so a run repeats. It is a network element: real timers (`setTimeout`, `performance.now`), never an
 * injected clock. Counts are of what arrived from each side (swallowed chunks included).
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { LightNodeError } from '@lightnode/protocols';
import { prng } from '@lightnode/protocols/testing';
import { addChunk, diffCount, MSS_B, zeroCount, type LinkCount } from './link-count.js';

/** How one direction is shaped. */
export interface LinkShape {
  /** Added one-way delay per chunk, ms (≥ 0). */
  latencyMs: number;
  /** Half-width of the uniform jitter added to `latencyMs`, ms (≥ 0; the delay never goes below 0). */
  jitterMs: number;
  /** Chance per chunk of a stall, % (0–100). */
  lossPct: number;
}

/** The proxy's settings: one shape for both directions, optional per-direction overrides, the blackhole. */
export interface LinkSettings extends LinkShape {
  /** Accept, forward nothing either way (held, delivered in order when it clears), keep the connections open. */
  blackhole: boolean;
  /** Overrides for client → target. */
  up?: Partial<LinkShape>;
  /** Overrides for target → client. */
  down?: Partial<LinkShape>;
}

/** Per-direction event counts (`up` = client → target). */
export interface LinkStats {
  /** Connections accepted since the start. */
  accepted: number;
  /** Connections open now. */
  open: number;
  /** Chunks that drew a stall. */
  stalls: { up: number; down: number };
  /** Bytes held by the blackhole (delivered when it cleared, unless the connection closed first). */
  swallowed: { up: number; down: number };
  /** Connections destroyed by `reset()`. */
  resets: number;
}

export interface LinkProxy {
  /** The proxy's port on 127.0.0.1. */
  port: number;
  /** Changes the settings from now on (given keys only; `up` / `down` replace the previous overrides, `{}` clears). */
  set(s: Partial<LinkSettings>): void;
  /** The settings now. */
  settings(): LinkSettings;
  /** Destroys every open connection (RST both ways); returns how many connections it closed. */
  reset(): number;
  stats(): LinkStats;
  /** Totals over all connections since the start (never reset). */
  total(): LinkCount;
  /** Counts of each accepted connection, in accept order. */
  connections(): LinkCount[];
  /**
   * Resolves when `pred` holds, checked now and after every chunk, swallow, accept and close; rejects after `timeoutMs`
   * (default 10 s).
   */
  until(pred: () => boolean, timeoutMs?: number): Promise<void>;
  /** Stops accepting and destroys the open connections. */
  close(): Promise<void>;
}

export interface LinkProxyOptions {
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** MSS of the segment count, B (default `MSS_B`). */
  mss?: number;
  /** PRNG seed of the jitter and stall draws (default 1). */
  seed?: number;
  /** Range of a stall, ms (default 200–3000). */
  stallMs?: { min: number; max: number };
  /** Initial settings (default: a perfect link). */
  settings?: Partial<LinkSettings>;
}

/** Default stall range, ms: the Linux minimum RTO to a few backed-off retransmissions. */
export const STALL_MS = { min: 200, max: 3000 } as const;

/**
 * The delay of one chunk, ms, from two uniform draws in [0, 1): the jitter's and the stall's (whose chance is
 * `lossPct`, and whose length is spread over `stallMs` by the same draw). Pure.
 */
export function chunkDelay(
  shape: LinkShape,
  jitterDraw: number,
  lossDraw: number,
  stallMs: { min: number; max: number } = STALL_MS,
): { delayMs: number; stallMs: number } {
  const jitter = (jitterDraw * 2 - 1) * shape.jitterMs;
  const p = shape.lossPct / 100;
  const stall = p > 0 && lossDraw < p ? stallMs.min + (lossDraw / p) * (stallMs.max - stallMs.min) : 0;
  return { delayMs: Math.max(0, shape.latencyMs + jitter) + stall, stallMs: stall };
}

const perfect = (): LinkSettings => ({ latencyMs: 0, jitterMs: 0, lossPct: 0, blackhole: false });

function checkSettings(s: LinkSettings): void {
  const shapes: [string, Partial<LinkShape>][] = [
    ['', s],
    ['up.', s.up ?? {}],
    ['down.', s.down ?? {}],
  ];
  for (const [where, shape] of shapes)
    for (const [k, v] of Object.entries(shape) as [keyof LinkShape, number | undefined][]) {
      if (v === undefined || !['latencyMs', 'jitterMs', 'lossPct'].includes(k)) continue;
      if (!Number.isFinite(v) || v < 0 || (k === 'lossPct' && v > 100))
        throw new LightNodeError(
          'INPUT_INVALID',
          `link proxy: ${where}${k} must be a finite number ≥ 0${k === 'lossPct' ? ' and ≤ 100 (%)' : ' (ms)'}, got ${v}`,
          { field: `${where}${k}`, received: v },
        );
    }
}

type Dir = 'up' | 'down';

/** One direction of one connection: a FIFO of chunks, each released at its time, in order. */
class Lane {
  private readonly queue: { at: number; data: Buffer }[] = [];
  /** What a blackhole held (in order), delivered by `release()`. */
  private readonly held: Buffer[] = [];
  private tail = 0;
  private timer: NodeJS.Timeout | undefined;
  private ending = false;
  constructor(
    private readonly dst: Socket,
    private readonly src: Socket,
    private readonly shape: () => LinkShape,
    private readonly blackholed: () => boolean,
    private readonly rng: () => number,
    private readonly stallMs: { min: number; max: number },
    private readonly onStall: () => void,
    private readonly onSwallow: (bytes: number) => void,
  ) {}
  push(data: Buffer): void {
    const d = chunkDelay(this.shape(), this.rng(), this.rng(), this.stallMs);
    if (this.blackholed()) {
      // behind what is queued, in order: drain() moves it to `held`
      this.onSwallow(data.length);
      this.queue.push({ at: Math.max(this.tail, performance.now()), data });
      this.arm();
      return;
    }
    if (d.stallMs > 0) this.onStall();
    const now = performance.now();
    const at = Math.max(this.tail, now + d.delayMs);
    this.tail = at;
    if (this.queue.length === 0 && at <= now) return this.forward(data);
    this.queue.push({ at, data });
    this.arm();
  }
  /** The source ended: end the destination once what is queued (and held) has gone. */
  finish(): void {
    this.ending = true;
    if (this.queue.length === 0 && this.held.length === 0 && !this.dst.destroyed) this.dst.end();
  }
  /** The blackhole cleared: what it held goes now, in order, ahead of anything queued after it. */
  release(): void {
    const held = this.held.splice(0);
    for (const data of held) this.forward(data);
    if (this.queue.length > 0) this.arm();
    else if (this.ending && !this.dst.destroyed) this.dst.end();
  }
  drop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
  }
  private arm(): void {
    const head = this.queue[0];
    if (this.timer || !head) return;
    this.timer = setTimeout(() => this.drain(), Math.max(0, head.at - performance.now()));
  }
  private drain(): void {
    this.timer = undefined;
    const now = performance.now();
    // libuv's loop time may lag performance.now by up to a millisecond: a timer can fire that much early
    for (let head = this.queue[0]; head && head.at <= now + 1; head = this.queue[0]) {
      this.queue.shift();
      if (this.blackholed() || this.held.length) this.held.push(head.data);
      else this.forward(head.data);
    }
    if (this.queue.length > 0) this.arm();
    else if (this.ending && this.held.length === 0 && !this.dst.destroyed) this.dst.end();
  }
  private forward(data: Buffer): void {
    if (this.dst.destroyed || this.dst.writableEnded) return;
    if (!this.dst.write(data)) {
      this.src.pause();
      this.dst.once('drain', () => this.src.resume());
    }
  }
}

interface Conn {
  client: Socket;
  upstream?: Socket;
  lanes: Lane[];
  /** What the client sent before its upstream existed (a blackhole at accept): written first once connected. */
  early: Buffer[];
}

/** Starts the proxy on 127.0.0.1 (an ephemeral port) in front of `target` (host default 127.0.0.1). */
export async function startLinkProxy(target: LinkProxyOptions): Promise<LinkProxy> {
  const mss = target.mss ?? MSS_B;
  const seed = target.seed ?? 1;
  const stallMs = target.stallMs ?? STALL_MS;
  let settings: LinkSettings = { ...perfect(), ...target.settings };
  checkSettings(settings);
  const total = zeroCount();
  const conns: LinkCount[] = [];
  const open = new Set<Conn>();
  const stats = { stalls: { up: 0, down: 0 }, swallowed: { up: 0, down: 0 }, resets: 0 };
  const pending = new Map<Conn, () => void>(); // accepted during a blackhole: connect when it clears
  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const w of [...waiters]) w();
  };
  const shapeOf = (dir: Dir) => (): LinkShape => ({
    latencyMs: settings[dir]?.latencyMs ?? settings.latencyMs,
    jitterMs: settings[dir]?.jitterMs ?? settings.jitterMs,
    lossPct: settings[dir]?.lossPct ?? settings.lossPct,
  });
  const lane = (index: number, dir: Dir, src: Socket, dst: Socket): Lane =>
    new Lane(
      dst,
      src,
      shapeOf(dir),
      () => settings.blackhole,
      // one stream per connection and direction: mulberry32 of the seed mixed with both (Knuth's multiplicative hash)
      prng((seed ^ Math.imul(index * 2 + (dir === 'up' ? 0 : 1) + 1, 0x9e3779b1)) >>> 0),
      stallMs,
      () => stats.stalls[dir]++,
      (bytes) => {
        stats.swallowed[dir] += bytes;
        wake();
      },
    );
  const connectUpstream = (conn: Conn, index: number, count: LinkCount): void => {
    const { client } = conn;
    const upstream = createConnection({ host: target.host ?? '127.0.0.1', port: target.port });
    conn.upstream = upstream;
    const up = lane(index, 'up', client, upstream);
    const down = lane(index, 'down', upstream, client);
    conn.lanes.push(up, down);
    client.removeAllListeners('data');
    for (const d of conn.early.splice(0)) upstream.write(d);
    client.on('data', (d: Buffer) => {
      addChunk(count.up, d.length, mss);
      addChunk(total.up, d.length, mss);
      up.push(d);
      wake();
    });
    upstream.on('data', (d: Buffer) => {
      addChunk(count.down, d.length, mss);
      addChunk(total.down, d.length, mss);
      down.push(d);
      wake();
    });
    upstream.on('end', () => down.finish());
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => {
      up.drop();
      if (!client.destroyed) down.finish();
    });
  };
  const server: Server = createServer((client) => {
    const index = conns.length;
    const count = zeroCount();
    conns.push(count);
    const conn: Conn = { client, lanes: [], early: [] };
    open.add(conn);
    wake();
    // until the upstream exists (a blackhole at accept time), what the client sends is counted and held
    client.on('data', (d: Buffer) => {
      addChunk(count.up, d.length, mss);
      addChunk(total.up, d.length, mss);
      stats.swallowed.up += d.length;
      conn.early.push(d);
      wake();
    });
    const endUp = (): void => {
      conn.lanes[0]?.finish();
      if (!conn.upstream) client.end();
    };
    client.on('end', endUp);
    client.on('error', () => conn.upstream?.destroy());
    client.on('close', () => {
      open.delete(conn);
      wake();
      conn.lanes[1]?.drop();
      if (conn.upstream && !conn.upstream.destroyed) endUp();
    });
    if (!settings.blackhole) connectUpstream(conn, index, count);
    else pending.set(conn, () => connectUpstream(conn, index, count));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const snapshot = (c: LinkCount): LinkCount => diffCount(zeroCount(), c);
  const destroyAll = (rst: boolean): number => {
    const n = open.size;
    for (const c of open) {
      for (const l of c.lanes) l.drop();
      for (const s of [c.client, c.upstream]) {
        if (!s || s.destroyed) continue;
        if (rst) s.resetAndDestroy();
        else s.destroy();
      }
    }
    open.clear();
    pending.clear();
    return n;
  };
  return {
    port: (server.address() as { port: number }).port,
    set: (s) => {
      const next: LinkSettings = { ...settings, ...s };
      checkSettings(next);
      settings = next;
      if (!settings.blackhole) {
        for (const [conn, connect] of pending) if (open.has(conn)) connect();
        pending.clear();
        for (const c of open) for (const l of c.lanes) l.release();
      }
    },
    settings: () => structuredClone(settings),
    reset: () => {
      const n = destroyAll(true);
      stats.resets += n;
      return n;
    },
    stats: () => ({ accepted: conns.length, open: open.size, ...structuredClone(stats) }),
    total: () => snapshot(total),
    connections: () => conns.map(snapshot),
    until: (pred, timeoutMs = 10_000) =>
      new Promise<void>((resolve, reject) => {
        if (pred()) return resolve();
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`link proxy: condition not met within ${timeoutMs} ms`));
        }, timeoutMs);
        const check = (): void => {
          if (!pred()) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
      }),
    close: () =>
      new Promise<void>((resolve) => {
        destroyAll(false);
        server.close(() => resolve());
      }),
  };
}
