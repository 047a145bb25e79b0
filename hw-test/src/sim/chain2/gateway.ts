/**
 * A simulated certified Chain 2 gateway (Chain2Gate-style local API) over WebSocket: a client connects, sends `!`,
 * receives `Chain2Info`, then every frame the simulated meter publishes — with time running `speed` times faster
 * than real time. `drop()` cuts every connection; `reboot()` also makes the meter's counters read 0 for a quarter;
 * `rebootEveryS` reboots it on a wall-clock period.
 */
import { WebSocketServer, type WebSocket } from 'ws';
import { scheduleReboots } from './servers.js';
import { Chain2MeterSim, type Chain2SimOptions, type EmittedFrame } from './simulator.js';

export interface Chain2Gateway {
  url: string;
  port: number;
  sim: Chain2MeterSim;
  /** Simulated time now, UTC ms. */
  now(): number;
  sent: number;
  drop(): void;
  /** Drops every connection; the counters read 0 for `zeroQuarters` quarters (default 1). */
  reboot(zeroQuarters?: number): void;
  close(): Promise<void>;
}

export async function serveChain2Ws(
  o: Chain2SimOptions & {
    host?: string;
    port?: number;
    speed?: number;
    tickMs?: number;
    onFrame?: (f: EmittedFrame) => void;
  },
): Promise<Chain2Gateway> {
  const sim = new Chain2MeterSim(o);
  const speed = o.speed ?? 1;
  const t0 = Date.now();
  const now = () => o.startMs + (Date.now() - t0) * speed;
  const wss = new WebSocketServer({ host: o.host ?? '127.0.0.1', port: o.port ?? 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const port = (wss.address() as { port: number }).port;
  const clients = new Set<WebSocket>();
  const gw: Chain2Gateway = {
    url: `ws://${o.host ?? '127.0.0.1'}:${port}`,
    port,
    sim,
    now,
    sent: 0,
    drop: () => {
      for (const c of clients) c.terminate();
    },
    reboot: (zeroQuarters = 1) => {
      sim.reboot(zeroQuarters);
      for (const c of clients) c.terminate();
    },
    close: async () => {
      clearInterval(timer);
      stopReboots();
      for (const c of clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
    },
  };
  wss.on('connection', (ws) => {
    ws.on('message', (m: Buffer) => {
      if (m.toString() !== '!' || clients.has(ws)) return;
      clients.add(ws);
      ws.send(
        JSON.stringify({
          Chain2Info: {
            Id: o.gatewayId ?? 'c2g-5151A1B2',
            Ip: '127.0.0.1',
            ProgId: 'lightnode-sim',
            CFcountFromBoot: sim.stats.cf1,
          },
        }),
      );
    });
    ws.on('close', () => clients.delete(ws));
    ws.on('error', () => ws.terminate());
  });
  const stopReboots = scheduleReboots(o, sim, () => gw.drop());
  const timer = setInterval(() => {
    for (const f of sim.runUntil(now())) {
      o.onFrame?.(f);
      for (const c of clients) {
        c.send(f.text);
        gw.sent++;
      }
    }
  }, o.tickMs ?? 50);
  return gw;
}
