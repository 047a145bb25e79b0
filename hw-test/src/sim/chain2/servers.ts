/**
 * The simulated Chain 2 gateway over HTTP (`/info.json`, `/lastcf.json`, `/getcf.json?type=cfN`, as a Chain2Gate
 * answers them) and over a serial line (one frame per line, as a PLC modem adapter would hand them over).
 */
import { createServer, type Server } from 'node:http';
import { SerialPort } from 'serialport';
import { Chain2MeterSim, type Chain2SimOptions, type EmittedFrame } from './simulator.js';

export interface RunningChain2Server {
  address: string;
  port?: number;
  sim: Chain2MeterSim;
  sent: number;
  close(): Promise<void>;
}

export function clockFor(o: { startMs: number; speed?: number }): () => number {
  const t0 = Date.now();
  return () => o.startMs + (Date.now() - t0) * (o.speed ?? 1);
}

/**
 * `rebootEveryS`: every S wall-clock seconds the gateway restarts — its meter's counters read 0 for the next quarter
 * and `dropConnections` cuts every client. Returns the stopper (a no-op without `rebootEveryS`).
 */
export function scheduleReboots(
  o: { rebootEveryS?: number },
  sim: Chain2MeterSim,
  dropConnections: () => void,
): () => void {
  if (!o.rebootEveryS) return () => undefined;
  const timer = setInterval(() => {
    sim.reboot(1);
    dropConnections();
  }, o.rebootEveryS * 1000);
  return () => clearInterval(timer);
}

export async function serveChain2Http(
  o: Chain2SimOptions & { host?: string; port?: number; speed?: number },
): Promise<RunningChain2Server> {
  const sim = new Chain2MeterSim(o);
  const now = clockFor(o);
  const last = new Map<string, EmittedFrame>();
  let latest: EmittedFrame | null = null;
  const pump = () => {
    for (const f of sim.runUntil(now())) {
      latest = f;
      last.set(f.type.toLowerCase(), f);
    }
  };
  const srv: RunningChain2Server = { address: '', sim, sent: 0, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    pump();
    const url = new URL(req.url ?? '/', 'http://x');
    let body: string | null = null;
    if (url.pathname === '/info.json')
      body = JSON.stringify({
        Chain2Info: {
          Id: o.gatewayId ?? 'c2g-5151A1B2',
          Ip: '127.0.0.1',
          ProgId: 'lightnode-sim',
          CFcountFromBoot: sim.stats.cf1,
        },
      });
    else if (url.pathname === '/lastcf.json') body = latest?.text ?? null;
    else if (url.pathname === '/getcf.json')
      body = last.get((url.searchParams.get('type') ?? '').toLowerCase())?.text ?? null;
    if (body === null) {
      res.writeHead(404).end();
      return;
    }
    srv.sent++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((r) => server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => r()));
  srv.port = (server.address() as { port: number }).port;
  srv.address = `http://${o.host ?? '127.0.0.1'}:${srv.port}`;
  const stopReboots = scheduleReboots(o, sim, () => server.closeAllConnections());
  srv.close = () =>
    new Promise<void>((r) => {
      stopReboots();
      server.close(() => r());
      server.closeAllConnections();
    });
  return srv;
}

export async function serveChain2Serial(
  o: Chain2SimOptions & { path: string; baud?: number; speed?: number; tickMs?: number },
): Promise<RunningChain2Server> {
  const sim = new Chain2MeterSim(o);
  const now = clockFor(o);
  const port = new SerialPort({ path: o.path, baudRate: o.baud ?? 9600, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
  const srv: RunningChain2Server = { address: o.path, sim, sent: 0, close: async () => undefined };
  // a serial line has no connection to drop: a reboot only zeroes the counters
  const stopReboots = scheduleReboots(o, sim, () => undefined);
  const timer = setInterval(() => {
    for (const f of sim.runUntil(now())) {
      port.write(f.text + '\n');
      srv.sent++;
    }
  }, o.tickMs ?? 50);
  srv.close = () =>
    new Promise<void>((r) => {
      clearInterval(timer);
      stopReboots();
      if (!port.isOpen) return r();
      port.close(() => r());
    });
  return srv;
}
