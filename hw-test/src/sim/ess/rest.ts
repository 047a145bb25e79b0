/**
 * The simulated REST EMS on loopback (the cloud's route table and JSON error bodies): `PUT /setpoint
 * {essPowerW, validUntilMs}`, `DELETE /setpoint`, `GET /state`, all with `Authorization: Bearer <token>`. Faults:
 * `refuse` → 503 `DEVICE_UNAVAILABLE` on PUT / DELETE; `drop-connection` → the socket is closed without an answer.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Auth, createApiServer, listen, route } from '@lightnode/cloud';
import { type Clock } from '@lightnode/protocols';
import { faultSelected } from './faults.js';
import { applyEmsCommand, parseEmsCommand } from './ems.js';
import type { EssSimulator } from './site.js';

export interface RestEms {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

/** A bearer token for the simulator (48 base64url characters). */
export function newEmsToken(): string {
  return randomBytes(36).toString('base64url');
}

export async function serveRestEms(
  sim: EssSimulator,
  o: { clock: Clock; host?: string; port?: number; token?: string; random?: () => number },
): Promise<RestEms> {
  const token = o.token ?? newEmsToken();
  const auth = new Auth({ platforms: [{ id: 'ems-client', role: 'aggregator', token }] }, o.clock);
  const server = createApiServer({
    name: 'EMS simulator',
    auth,
    routes: [
      route({
        method: 'PUT',
        path: '/setpoint',
        body: 'json',
        handle: ({ body }) => {
          applyEmsCommand(sim, o.clock, parseEmsCommand(body, false));
          return sim.state();
        },
      }),
      route({
        method: 'DELETE',
        path: '/setpoint',
        handle: () => {
          sim.battery.release();
          return sim.state();
        },
      }),
      route({ method: 'GET', path: '/state', handle: () => sim.state() }),
    ],
  });
  // drop-connection comes before anything else: the request gets no answer at all
  const [handler] = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  const drops = sim.battery.faults('drop-connection');
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (drops.some((f) => faultSelected(f, o.random ?? Math.random))) {
      sim.battery.noteFault('drop-connection');
      req.socket.destroy();
      return;
    }
    handler!(req, res);
  });
  const url = await listen(server, o.port ?? 0, o.host ?? '127.0.0.1');
  return {
    url,
    port: Number(new URL(url).port),
    token,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
