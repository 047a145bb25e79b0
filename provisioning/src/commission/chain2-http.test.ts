// The chain2 check over a gateway's HTTP API (a node:http server on 127.0.0.1 playing the gateway): a CF20 is
// published once, so `/lastcf.json` shows it only until the next frame; the check asks the kept one
// (`/getcf.json?type=cf20`) before polling, and still finds the POD by polling when that request is refused.
// Real sockets: the system clock.
import test from 'ava';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemClock } from '@lightnode/protocols';
import { POD } from '../testing/index.js';
import { chain2Pod, defaultChain2Transport } from './net.js';

const cf20 = (pod: string): string =>
  JSON.stringify({
    Chain2Data: { Id: 'c2g-1', Ts: '2026/12/02 13:00:00', Meter: 'M1', Type: 'CF20', Payload: { POD: pod.padEnd(16) } },
  });

/** A gateway answering `routes` (path with query → body), 404 elsewhere; records the paths asked, in order. */
async function gateway(
  t: { teardown(fn: () => unknown): void },
  routes: Record<string, string>,
): Promise<{ url: string; asked: string[] }> {
  const asked: string[] = [];
  const server = createServer((req, res) => {
    asked.push(req.url ?? '');
    const body = routes[req.url ?? ''];
    if (body === undefined) res.writeHead(404).end();
    else res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, asked };
}

test('over HTTP the gateway’s kept CF20 is asked first: its POD found though /lastcf.json shows another frame', async (t) => {
  const other = JSON.stringify({ Chain2Info: { Id: 'c2g-1', Ip: '127.0.0.1', ProgId: 'x', CFcountFromBoot: 3 } });
  const gw = await gateway(t, { '/getcf.json?type=cf20': cf20(POD), '/lastcf.json': other, '/info.json': other });
  const r = await chain2Pod(defaultChain2Transport(gw.url, systemClock), systemClock, new AbortController().signal);
  t.like(r, { pod: POD, meter: 'M1', undecodable: 0 });
  t.is(gw.asked[0], '/getcf.json?type=cf20');
});

test('a gateway that keeps no CF20 (404): the polling still finds the POD in /lastcf.json', async (t) => {
  const gw = await gateway(t, { '/lastcf.json': cf20('IT001E99999999') });
  const r = await chain2Pod(defaultChain2Transport(gw.url, systemClock), systemClock, new AbortController().signal);
  t.is(r.pod, 'IT001E99999999');
  t.deepEqual(gw.asked.slice(0, 2), ['/getcf.json?type=cf20', '/info.json']);
  t.true(gw.asked.includes('/lastcf.json'));
});
