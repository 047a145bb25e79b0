/**
 * Transports for the simulators: Modbus TCP (our own server on the frame codecs — modbus-serial's ServerTCP defers
 * every request by a timer) and Modbus RTU on a serial line (a pty from socat on the bench, a real RS-485 adapter on
 * the HIL rig). Several simulated devices (unit ids) can share one server, like meters sharing an RS-485 line.
 * On RTU the server can emulate wire timing at a baud rate (a pty ignores baud): each reply leaves after
 * request chars × 11/baud + t3.5 + turnaround + reply chars × 11/baud.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { SerialPort } from 'serialport';
import {
  LightNodeError,
  RtuFramer,
  TcpFramer,
  encodeRtu,
  encodeTcp,
  rtuTiming,
  type Frame,
} from '@lightnode/protocols';
import type { SimAction } from './simulator.js';

/** A simulated Modbus device: the meter simulator, the ESS simulator's SunSpec battery. */
export interface SimDevice {
  readonly unit: number;
  /** The answer to one request PDU addressed to `unit` (silence when it is another device's). */
  handle(unit: number, pdu: Uint8Array): SimAction;
}

function pick(sims: readonly SimDevice[], f: Frame): { sim: SimDevice; action: SimAction } | null {
  for (const sim of sims) {
    const action = sim.handle(f.unit, f.pdu);
    if (action.kind !== 'silence' || f.unit === sim.unit) return { sim, action };
  }
  return null;
}

export interface RunningServer {
  /** `tcp://host:port` or the serial path. */
  address: string;
  port?: number;
  stats: ServerStats;
  close(): Promise<void>;
}

export interface ServerStats {
  frames: number;
  discardedBytes: number;
  crcErrors: number;
  connections: number;
  /** Modbus TCP bytes (whole ADUs) received from / sent to the master, per unit id (benchmarks: traffic per hour). */
  bytesByUnit: Record<number, { in: number; out: number }>;
}

function countBytes(stats: ServerStats, unit: number, dir: 'in' | 'out', n: number): void {
  const u = (stats.bytesByUnit[unit] ??= { in: 0, out: 0 });
  u[dir] += n;
}

export async function serveTcp(
  sims: readonly SimDevice[],
  opts: { host?: string; port?: number } = {},
): Promise<RunningServer> {
  const sockets = new Set<Socket>();
  const stats: ServerStats = { frames: 0, discardedBytes: 0, crcErrors: 0, connections: 0, bytesByUnit: {} };
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.setNoDelay(true); // a request/response protocol: replies leave at once (no Nagle wait)
    stats.connections++;
    const framer = new TcpFramer();
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => sock.destroy());
    sock.on('data', (chunk: Buffer) => {
      const before = framer.stats.discardedBytes;
      for (const f of framer.push(chunk)) {
        stats.frames++;
        countBytes(stats, f.unit, 'in', 7 + f.pdu.length);
        const r = pick(sims, f);
        if (!r || r.action.kind === 'silence') continue;
        if (r.action.kind === 'drop') {
          sock.destroy();
          return;
        }
        const { unit, pdu, delayMs, corrupt } = r.action;
        const adu = encodeTcp(f.transactionId ?? 0, unit, pdu);
        if (corrupt && adu.length > 8) adu[adu.length - 1]! ^= 0x5a;
        const send = () => {
          if (sock.destroyed) return;
          countBytes(stats, unit, 'out', adu.length);
          sock.write(adu);
        };
        if (delayMs > 0) setTimeout(send, delayMs);
        else send();
      }
      stats.discardedBytes += framer.stats.discardedBytes - before;
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new LightNodeError(
          'IO_ERROR',
          `cannot listen on ${opts.host ?? '127.0.0.1'}:${opts.port ?? 0}: ${e.code ?? e.message}`,
          {},
          { cause: e },
        ),
      ),
    );
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (opts.port ?? 0);
  return {
    address: `tcp://${opts.host ?? '127.0.0.1'}:${port}`,
    port,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface RtuServeOptions {
  path: string;
  baud?: number;
  parity?: 'none' | 'even' | 'odd';
  /** Emulate the time the bytes would take on a real line at `baud`. */
  wireTiming?: boolean;
  /** The device's processing time before it answers, ms (default 0; with wireTiming typical meters take 5–50 ms). */
  turnaroundMs?: number;
}

export async function serveRtu(sims: readonly SimDevice[], o: RtuServeOptions): Promise<RunningServer> {
  const baud = o.baud ?? 9600;
  const port = new SerialPort({ path: o.path, baudRate: baud, parity: o.parity ?? 'none', autoOpen: false });
  await new Promise<void>((resolve, reject) =>
    port.open((e) =>
      e
        ? reject(new LightNodeError('IO_ERROR', `cannot open ${o.path}: ${e.message}`, { path: o.path }, { cause: e }))
        : resolve(),
    ),
  );
  const framer = new RtuFramer('request');
  const { charMs, t35Ms } = rtuTiming(baud);
  let busyUntil = 0;
  let silence: NodeJS.Timeout | undefined;
  const stats: ServerStats = { frames: 0, discardedBytes: 0, crcErrors: 0, connections: 1, bytesByUnit: {} };
  port.on('data', (chunk: Buffer) => {
    const arrived = performance.now();
    for (const f of framer.push(chunk)) {
      stats.frames++;
      const r = pick(sims, f);
      if (!r || r.action.kind !== 'reply') continue;
      const { unit, pdu, delayMs, corrupt, badCrc } = r.action;
      const adu = encodeRtu(unit, pdu);
      if (badCrc) adu[adu.length - 1]! ^= 0xff; // the CRC no longer matches
      if (corrupt) adu[Math.min(3, adu.length - 3)]! ^= 0x10; // a data byte flipped in transit: the CRC catches it
      const reqChars = f.pdu.length + 3;
      const wire = o.wireTiming
        ? reqChars * charMs + t35Ms + (o.turnaroundMs ?? 0) + adu.length * charMs
        : (o.turnaroundMs ?? 0);
      const due = Math.max(arrived + wire + delayMs, busyUntil);
      busyUntil = due;
      setTimeout(() => port.write(Buffer.from(adu)), Math.max(0, due - performance.now()));
    }
    // t3.5 of silence ends any partial frame (a real line's framing rule)
    clearTimeout(silence);
    silence = setTimeout(() => framer.flush(), Math.max(2, t35Ms * 2));
    stats.discardedBytes = framer.stats.discardedBytes;
    stats.crcErrors = framer.stats.crcErrors;
  });
  return {
    address: o.path,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        clearTimeout(silence);
        if (!port.isOpen) return resolve();
        port.close(() => resolve());
      }),
  };
}
