/**
 * `lightnode market clear`: the reference session (a file, or stdin) clears to the run's figures, as JSON and as a
 * table; bad JSON and bad sessions exit 1 naming the problem; usage errors exit 2.
 */
import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isLightNodeError, type Command } from '@lightnode/protocols';
import type { MarketOutcome } from '../market/clear.js';
import { TOR_DI_VALLE, torDiValleSession } from '../testing/market.js';
import group, { type MarketIo } from './market.js';

const BIN = fileURLToPath(new URL('../../../bin/lightnode.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ln-market-'));
const sessionFile = join(dir, 'tor-di-valle-session.json');
writeFileSync(sessionFile, JSON.stringify(torDiValleSession(), null, 2) + '\n');
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

const clear = group.subcommands.clear as Command;

/** Runs `market clear` in process; `stdin` feeds `--in -`. */
async function run(argv: string[], stdin?: string) {
  const out: string[] = [];
  const err: string[] = [];
  const io: MarketIo = {
    stdout: (s) => out.push(s),
    stderr: (s) => err.push(s),
    env: {},
    cwd: dir,
    signal: new AbortController().signal,
    ...(stdin === undefined ? {} : { stdin: () => Promise.resolve(stdin) }),
  };
  try {
    return { code: await clear.run(argv, io), out: out.join('\n'), error: undefined };
  } catch (e) {
    if (!isLightNodeError(e)) throw e;
    return { code: e.code === 'USAGE' ? 2 : 1, out: out.join('\n'), error: e };
  }
}

function checkReference(t: ExecutionContext, o: MarketOutcome) {
  const got = Object.fromEntries(o.flexibility.map((f) => [f.pod, f.power[0]!]));
  for (const [pod, want] of Object.entries(TOR_DI_VALLE.expected)) {
    t.true(Math.abs(got[pod]!.acceptedPValue - want.acceptedPValue) <= 1e-6, pod);
    t.is(got[pod]!.acceptedPPrice, want.acceptedPPrice, pod);
  }
  t.deepEqual(
    o.requests.map((r) => r.status),
    ['full', 'full'],
  );
}

test('--in FILE --json prints the market outcome of the reference session', async (t) => {
  const r = await run(['--in', 'tor-di-valle-session.json', '--json']);
  t.is(r.code, 0);
  checkReference(t, JSON.parse(r.out) as MarketOutcome);
});

test('--in - reads the session from stdin; without --json a table per request and per service', async (t) => {
  const r = await run(['--in', '-'], JSON.stringify(torDiValleSession()));
  t.is(r.code, 0);
  t.regex(r.out, /DSO:::dayAhead:::2021-06-23T12:30:00\.000Z\s+DSO\s+50\s+-1376\.741\s+-1376\.741\s+full\s+0\.03/);
  t.regex(r.out, /TSO\s+50\s+271\.748\s+271\.748\s+full\s+0\.07/);
  t.regex(r.out, /IT002E60974469\s+50\s+4180\.349\s+0\.03\s+DSO\s+ACEAE\s+ACEAE\/IT002E60974469\/dayAhead/);
  t.regex(r.out, /IT002E60550189\s+50\s+342\.128\s+0\.07\s+TSO/);
});

test('bad JSON, a bad session and an unreadable file exit 1 naming the problem', async (t) => {
  const bad = await run(['--in', '-'], '{"marketType": ');
  t.is(bad.code, 1);
  t.regex(bad.error!.message, /DECODE_ERROR: stdin: not JSON/);
  const s = torDiValleSession();
  s.offers[0]!.flexibility[0] = { pod: 'IT002E00000000', power: [] };
  const unknown = await run(['--in', '-'], JSON.stringify(s));
  t.is(unknown.code, 1);
  t.regex(unknown.error!.message, /MARKET_POD_UNKNOWN: PoD IT002E00000000 of ACEAE\/IT002E61899978/);
  const shape = await run(['--in', '-'], JSON.stringify({ ...torDiValleSession(), interval: 'x' }));
  t.regex(shape.error!.message, /SCHEMA_INVALID: interval/);
  const missing = await run(['--in', 'nope.json']);
  t.is(missing.code, 1);
  t.regex(missing.error!.message, /IO_ERROR: nope\.json/);
});

test('usage errors exit 2', async (t) => {
  for (const argv of [[], ['--in'], ['--in', 'x', 'extra'], ['--in', 'x', '--bogus']]) {
    const r = await run(argv);
    t.is(r.code, 2, argv.join(' '));
  }
});

test('the real bin: `lightnode market clear --in - --json` with the session piped in', async (t) => {
  const r = await new Promise<{ code: number; out: string; err: string }>((resolve) => {
    const child = execFile(process.execPath, [BIN, 'market', 'clear', '--in', '-', '--json'], (e, out, err) =>
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, out, err }),
    );
    child.stdin!.end(JSON.stringify(torDiValleSession()));
  });
  t.is(r.code, 0, r.err);
  checkReference(t, JSON.parse(r.out) as MarketOutcome);
  const bad = await new Promise<{ code: number; err: string }>((resolve) => {
    const child = execFile(process.execPath, [BIN, 'market', 'clear', '--in', sessionFile, '--nope'], (e, _o, err) =>
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, err }),
    );
    child.stdin!.end();
  });
  t.is(bad.code, 2, bad.err);
});

test('cloud/data/tor-di-valle/session.json (the ready file of the README) is torDiValleSession()', (t) => {
  const file = fileURLToPath(new URL('../../data/tor-di-valle/session.json', import.meta.url));
  t.deepEqual(JSON.parse(readFileSync(file, 'utf8')), torDiValleSession());
});
