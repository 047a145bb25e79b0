// The REST EMS in process: a given token, drop-connection (no answer at all, one fault line), unknown routes.
import test from 'ava';
import { startEssSim } from './start.js';

const TOKEN = 'TEST_EMS_TOKEN_not_a_secret';

test('REST EMS with a given token; drop-connection closes the socket unanswered', async (t) => {
  const ok = await startEssSim({
    interface: { kind: 'rest', token: TOKEN },
    loadW: 0,
    battery: { autonomous: 'idle' },
  });
  const dropping = await startEssSim({ interface: { kind: 'rest', token: TOKEN }, faults: ['drop-connection'] });
  t.teardown(async () => {
    await ok.stop();
    await dropping.stop();
  });
  const get = (url: string, path = '/state') =>
    fetch(`${url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const r = await get(ok.listening);
  t.is(r.status, 200);
  t.like(await r.json(), { essPowerW: 0, socPermille: 500, mode: 'autonomous' });
  t.is((await get(ok.listening, '/nowhere')).status, 404);
  const events: string[] = [];
  dropping.sim.onEvent((e) => events.push(`${e.event} ${e.fault}`));
  await t.throwsAsync(get(dropping.listening));
  t.deepEqual(events, ['fault drop-connection']);
});
