/** `startCloud({runMarket})`: the market beside the SCD, on the generated credentials, calling the SCD itself. */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCloud } from '../stack.js';

test('startCloud({runMarket}) runs the market against its SCD with the market token', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ln-market-stack-'));
  const cloud = await startCloud({ dir, runBal: false, runMarket: { port: 0 } });
  t.teardown(async () => {
    await cloud.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  t.truthy(cloud.marketUrl);
  const call = (method: string, path: string, who: string, body?: unknown) =>
    fetch(`${cloud.marketUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${cloud.tokens[who]}`, 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
  const r = await call('POST', '/sessions', 'market', {
    marketType: 'dayAhead',
    day: '2021-06-23',
    gateClosure: '2021-06-22T12:00:00Z',
  });
  t.is(r.status, 201);
  t.like(await r.json(), { id: 'DA-2021-06-23', pods: [], skipped: [] });
  t.is((await call('POST', '/sessions', 'ACEAE', {})).status, 403);
  t.like(await (await fetch(`${cloud.marketUrl}/health`)).json(), { ok: true, sessions: 1 });
});
