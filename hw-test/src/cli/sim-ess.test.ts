// `lightnode sim ess --rest` as a child process: the listening line, PUT / GET / DELETE with the bearer token, an
// event line per battery change, bad requests named, and usage errors.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLightNodeError, type CommandIo } from '@lightnode/protocols';
import { spawnEssSim } from '../sim/ess/index.js';
import simEss from './sim-ess.js';

test('lightnode sim ess --rest: PUT commands, GET reports, DELETE releases, each change one stdout line', async (t) => {
  const sim = await spawnEssSim(['--rest', '127.0.0.1:0', '--load-w', '800', '--capacity-wh', '9600', '--soc', '600']);
  t.teardown(() => sim.stop());
  const { listening, token } = sim.ready;
  t.regex(listening, /^http:\/\/127\.0\.0\.1:\d+$/);
  t.like(sim.ready, { interface: 'rest', ratedVA: 3000, capacityWh: 9600, socPermille: 600 });
  t.true(typeof token === 'string' && token.length >= 16);
  const call = async (method: string, path: string, body?: unknown, auth = `Bearer ${token}`) => {
    const r = await fetch(`${listening}${path}`, {
      method,
      headers: { authorization: auth, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };

  // autonomous self-consumption: the battery covers the house's 800 W
  t.like((await call('GET', '/state')).body, { essPowerW: 800, socPermille: 600, mode: 'autonomous' });
  const put = await call('PUT', '/setpoint', { essPowerW: -2500, validUntilMs: Date.now() + 60_000 });
  t.is(put.status, 200);
  t.like(put.body, { essPowerW: -2500, mode: 'remote', setpointW: -2500 });
  t.like(await sim.waitEvent((e) => e.event === 'command'), { essPowerW: -2500, commandW: -2500 });
  t.like((await call('GET', '/state')).body, { essPowerW: -2500, mode: 'remote' });
  // beyond the rating: followed up to the limit
  await call('PUT', '/setpoint', { essPowerW: 5000, validUntilMs: Date.now() + 60_000 });
  t.like((await call('GET', '/state')).body, { essPowerW: 3000, setpointW: 5000 });
  const del = await call('DELETE', '/setpoint');
  t.is(del.status, 200);
  t.like(del.body, { essPowerW: 800, mode: 'autonomous' });
  t.like(await sim.waitEvent((e) => e.event === 'release'), { essPowerW: 800 });

  // the EMS drops a command at validUntilMs on its own
  await call('PUT', '/setpoint', { essPowerW: 1000, validUntilMs: Date.now() + 300 });
  t.like(await sim.waitEvent((e) => e.event === 'revert'), { essPowerW: 800 });
  t.is((await call('GET', '/state')).body.mode, 'autonomous');

  // refusals name the problem
  t.is((await call('GET', '/state', undefined, 'Bearer wrong-token-wrong-token')).status, 401);
  const bad = await call('PUT', '/setpoint', { essPowerW: 'lots', validUntilMs: Date.now() + 1000 });
  t.is(bad.status, 400);
  t.regex(JSON.stringify(bad.body), /essPowerW: expected an integer/);
  const late = await call('PUT', '/setpoint', { essPowerW: 100, validUntilMs: 1000 });
  t.regex(JSON.stringify(late.body), /validUntilMs: expected a time after now/);
  t.deepEqual(
    sim.events.map((e) => e.event),
    ['command', 'command', 'release', 'command', 'revert'],
  );
  t.is(await sim.stop(), 0);
});

test('fault refuse on REST: 503 DEVICE_UNAVAILABLE and a fault line', async (t) => {
  const sim = await spawnEssSim(['--rest', '127.0.0.1:0', '--fault', 'refuse', '--autonomous', 'idle']);
  t.teardown(() => sim.stop());
  const r = await fetch(`${sim.ready.listening}/setpoint`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${sim.ready.token}` },
    body: JSON.stringify({ essPowerW: 1000, validUntilMs: Date.now() + 60_000 }),
  });
  t.is(r.status, 503);
  t.like(((await r.json()) as { error: unknown }).error, { code: 'DEVICE_UNAVAILABLE' });
  t.like(await sim.waitEvent((e) => e.event === 'fault'), { fault: 'refuse', commandW: 1000, essPowerW: 0 });
});

function quietIo(signal: AbortSignal, stdout: (s: string) => void = () => undefined): CommandIo {
  return { stdout, stderr: () => undefined, env: {}, cwd: process.cwd(), signal };
}

test('--token-file: a missing file gets the generated token (0600), an existing one is used', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ln-sim-ess-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const run = async (file: string): Promise<Record<string, unknown>> => {
    const ac = new AbortController();
    let first: Record<string, unknown> = {};
    const code = await simEss.run(
      ['--rest', '127.0.0.1:0', '--token-file', file],
      quietIo(ac.signal, (s) => {
        first = JSON.parse(s) as Record<string, unknown>;
        ac.abort(); // listening: stop it
      }),
    );
    t.is(code, 0);
    return first;
  };
  const fresh = join(dir, 'fresh');
  const started = await run(fresh);
  t.is(readFileSync(fresh, 'utf8').trim(), started.token as string);
  t.is(statSync(fresh).mode & 0o777, 0o600);
  const given = join(dir, 'given');
  writeFileSync(given, 'TEST_EMS_TOKEN_not_a_secret\n');
  t.false('token' in (await run(given)), 'a token read from a file is not printed');
});

test('usage errors name the flag', async (t) => {
  const io = quietIo(new AbortController().signal);
  for (const [argv, re] of [
    [['--load-w', '100'], /give exactly one of --sunspec, --profile, --rest, --mqtt/],
    [['--rest', '127.0.0.1:0', '--soc', '1001'], /--soc: expected an integer 0\.\.1000/],
    [['--sunspec', '--models', '124,701'], /--models: expected model 1 \(common\) first/],
    [['--sunspec', '--fault', 'silent-revert'], /silent-revert:S with S > 0/],
    [['--mqtt', 'mqtt://127.0.0.1:1'], /missing --topic/],
  ] as const) {
    const e = await t.throwsAsync(simEss.run([...argv], io));
    t.true(isLightNodeError(e, 'USAGE'), e.message);
    t.regex(e.message, re);
  }
});
