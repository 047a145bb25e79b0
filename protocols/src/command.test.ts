import test from 'ava';
import { LightNodeError, flagInt, isLightNodeError, parseFlags, parseHostPort } from './index.js';

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
