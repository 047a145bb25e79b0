import test from 'ava';
import { lineFramer } from './more-transports.js';

test('the line framer cuts frames on newlines, keeps partial ones, drops runaway garbage', (t) => {
  const carry = { rest: '' };
  t.deepEqual(lineFramer('{"a":1}\n{"b"', carry), ['{"a":1}']);
  t.deepEqual(lineFramer(':2}\r\n\n', carry), ['{"b":2}']);
  t.deepEqual(lineFramer('x'.repeat(70_000), carry), []);
  t.is(carry.rest, '');
});
