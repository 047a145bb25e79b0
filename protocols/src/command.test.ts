import test from 'ava';
import {
  LightNodeError,
  exactlyOneFlag,
  flagChoice,
  flagPodId,
  flagInt,
  flagNumber,
  flagProbability,
  flagSpec,
  isLightNodeError,
  parseFlags,
  parseHostPort,
  untilAborted,
} from './index.js';

test('parseFlags turns an unknown flag into a USAGE error naming it', (t) => {
  const e = t.throws(() => parseFlags(['--bogus'], { json: { type: 'boolean' } }, 'Usage: x'));
  t.true(isLightNodeError(e, 'USAGE'));
  t.regex(e.message, /bogus/);
});

test('flagInt names the flag, the range and the received value', (t) => {
  const p = parseFlags(['--baud', 'fast'], { baud: { type: 'string' } }, 'Usage: x');
  const e = t.throws<LightNodeError>(() => flagInt(p, 'baud', 'Usage: x', 300, 921600));
  t.is(e.code, 'USAGE');
  t.regex(e.message, /--baud: expected an integer 300\.\.921600, received "fast"/);
  t.is(flagInt(parseFlags(['--baud', '9600'], { baud: { type: 'string' } }, ''), 'baud', '', 300, 921600), 9600);
});

test('parseFlags takes a negative number after a flag that takes a value as its value', (t) => {
  const spec = flagSpec({ string: ['target-w', 'slot'], boolean: ['json'] });
  const p = parseFlags(['--target-w', '-2500', '--slot', '3', '--json'], spec, 'Usage: x');
  t.deepEqual(p.values, { 'target-w': '-2500', slot: '3', json: true });
  t.is(flagInt(p, 'target-w', '', -10_000, 10_000), -2500);
  t.is(parseFlags(['--target-w', '-1.5e3'], spec, '').values['target-w'], '-1.5e3');
  // not after a boolean flag, nor a non-number
  t.true(
    isLightNodeError(
      t.throws(() => parseFlags(['--json', '-5'], spec, '', false)),
      'USAGE',
    ),
  );
  t.true(
    isLightNodeError(
      t.throws(() => parseFlags(['--target-w', '-x'], spec, '')),
      'USAGE',
    ),
  );
});

test('parseHostPort accepts host:port and [v6]:port, rejects garbage', (t) => {
  t.deepEqual(parseHostPort('127.0.0.1:502', 'tcp'), { host: '127.0.0.1', port: 502 });
  t.deepEqual(parseHostPort('[::1]:1502', 'tcp'), { host: '::1', port: 1502 });
  t.deepEqual(parseHostPort('localhost', 'tcp', 502), { host: 'localhost', port: 502 });
  t.throws(() => parseHostPort('host:99999', 'tcp'), { message: /expected HOST:PORT/ });
});

test('LightNodeError carries its code in the message and in JSON', (t) => {
  const e = new LightNodeError('CONFIG_INVALID', 'meters[0].unit: expected 1..247, received 0', {
    field: 'meters[0].unit',
  });
  t.regex(e.message, /^CONFIG_INVALID: /);
  t.deepEqual(e.toJSON().context, { field: 'meters[0].unit' });
});

test('flagSpec declares string, boolean and repeated flags in one line', (t) => {
  const spec = flagSpec({ string: ['ws'], boolean: ['raw'], multiple: ['fault'] });
  const p = parseFlags(['--ws', 'h:1', '--raw', '--fault', 'a', '--fault', 'b'], spec, 'Usage: x');
  t.deepEqual(p.values, { ws: 'h:1', raw: true, fault: ['a', 'b'] });
});

test('flagNumber and flagProbability name the flag, the range and the value', (t) => {
  const spec = flagSpec({ string: ['late', 'every'] });
  t.is(flagProbability(parseFlags(['--late', '0.25'], spec, ''), 'late', ''), 0.25);
  t.is(flagProbability(parseFlags([], spec, ''), 'late', ''), undefined);
  const e = t.throws<LightNodeError>(() => flagProbability(parseFlags(['--late', '2'], spec, ''), 'late', ''));
  t.is(e.code, 'USAGE');
  t.regex(e.message, /--late: expected a probability 0\.\.1, received "2"/);
  t.is(flagNumber(parseFlags(['--every', '1.5'], spec, ''), 'every', '', 0.1, 86400), 1.5);
  t.throws(() => flagNumber(parseFlags(['--every', ''], spec, ''), 'every', '', 0.1, 86400), { message: /--every/ });
});

test('exactlyOneFlag returns the one given, refuses none or several', (t) => {
  const spec = flagSpec({ string: ['ws', 'http'] });
  t.is(exactlyOneFlag(parseFlags(['--http', 'h:1'], spec, ''), ['ws', 'http'], ''), 'http');
  t.throws(() => exactlyOneFlag(parseFlags([], spec, ''), ['ws', 'http'], ''), {
    message: /exactly one of --ws, --http/,
  });
  t.throws(() => exactlyOneFlag(parseFlags(['--ws', 'a', '--http', 'b'], spec, ''), ['ws', 'http'], ''), {
    message: /received --ws, --http/,
  });
});

test('untilAborted resolves on abort, and at once when already aborted', async (t) => {
  const ac = new AbortController();
  let done = false;
  const p = untilAborted(ac.signal).then(() => (done = true));
  await Promise.resolve();
  t.false(done);
  ac.abort();
  await p;
  t.true(done);
  await untilAborted(ac.signal);
  t.pass();
});

test('flagChoice accepts one of its choices and names them otherwise', (t) => {
  const spec = flagSpec({ string: ['parity'] });
  t.is(flagChoice(parseFlags(['--parity', 'even'], spec, ''), 'parity', '', ['none', 'even', 'odd']), 'even');
  t.throws(() => flagChoice(parseFlags(['--parity', 'mark'], spec, ''), 'parity', '', ['none', 'even', 'odd']), {
    message: /--parity: expected none\|even\|odd, received "mark"/,
  });
});

test('flagPodId checks the PoD rule and names the flag', (t) => {
  const spec = flagSpec({ string: ['pod'] });
  t.is(flagPodId(parseFlags(['--pod', 'IT002E61899978'], spec, ''), 'pod', ''), 'IT002E61899978');
  t.is(flagPodId(parseFlags([], spec, ''), 'pod', ''), undefined);
  const e = t.throws(() => flagPodId(parseFlags(['--pod', 'IT002X1234'], spec, ''), 'pod', ''));
  t.is((e as { code?: string }).code, 'USAGE');
  t.regex(e.message, /--pod: expected IT \+ 3-digit distributor code.*received "IT002X1234"/);
});
