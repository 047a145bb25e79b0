import test from 'ava';
import fc from 'fast-check';
import { isLightNodeError } from '../errors.js';
import { checkMessageFields, verifySigned } from './messages.js';
import { checkConfigHash, jcs, jsonHash, signConfig, signEnrollment, tokenHash } from './provisioning.js';
import { testDomain, testSigner } from './testkit.js';
import { privateKeySigner } from './signer.js';
import { TEST_OPERATOR_KEY } from './testkit.js';

const text = (v: unknown) => Buffer.from(jcs(v)).toString('utf8');

test('jcs: RFC 8785 — sorted keys by UTF-16 code units, no whitespace, ECMAScript numbers', (t) => {
  t.is(
    text({ b: 1, a: [true, null, 'x'], c: { z: 1e21, y: 0.5 } }),
    '{"a":[true,null,"x"],"b":1,"c":{"y":0.5,"z":1e+21}}',
  );
  // RFC 8785 §3.2.3: keys sorted by UTF-16 code units ("\u20ac" € after "\r", before "דּ" U+FB33)
  t.is(text({ '\u20ac': 1, '\r': 2, '\ufb33': 3, '1': 4 }), '{"\\r":2,"1":4,"\u20ac":1,"\ufb33":3}');
  t.is(text(-0), '0');
  t.throws(() => jcs({ a: Number.NaN }), { message: /ENCODE_ERROR: \$\.a/ });
  t.throws(() => jcs({ a: { b: undefined } }), { message: /ENCODE_ERROR: \$\.a\.b/ });
});

test('jsonHash ignores key order and whitespace, changes with any value (property)', (t) => {
  fc.assert(
    fc.property(fc.dictionary(fc.string(), fc.oneof(fc.integer(), fc.string(), fc.boolean())), (o) => {
      const reversed = Object.fromEntries(Object.entries(o).reverse());
      return jsonHash(o) === jsonHash(reversed) && jsonHash(o) !== jsonHash({ ...o, ['\u0000extra']: 1 });
    }),
  );
  t.regex(tokenHash('abc'), /^0x[0-9a-f]{64}$/);
});

test('a config is signed by its issuer; another key, another body or a bad field is refused with its code', (t) => {
  const op = privateKeySigner(TEST_OPERATOR_KEY);
  const dev = testSigner();
  const d = testDomain();
  const c = signConfig({ meters: [] }, { deviceId: dev.address, revision: 3, atMs: 10 }, op, d);
  t.is(verifySigned(c, d).signer, op.address.toLowerCase());
  checkConfigHash(c);
  const forged = signConfig(
    { meters: [] },
    { deviceId: dev.address, revision: 3, atMs: 10, issuer: op.address },
    dev,
    d,
  );
  const e = t.throws(() => verifySigned(forged, d));
  t.true(isLightNodeError(e, 'SIGNER_MISMATCH'));
  t.throws(() => checkConfigHash({ ...c, config: { meters: [1] } }), { message: /CONFIG_HASH_MISMATCH/ });
  t.throws(() => checkMessageFields('Config', { ...c.message, revision: '3' }, 'config'), {
    message: /SCHEMA_INVALID: config\.revision/,
  });
  t.throws(() => checkMessageFields('Config', { ...c.message, extra: 1 }, 'config'), {
    message: /config\.extra: expected no such field/,
  });
});

test('an enrollment is signed by the device it names', (t) => {
  const dev = testSigner();
  const d = testDomain();
  const m = {
    version: 1,
    deviceId: dev.address,
    serial: 'S1',
    podId: 'IT002E61899978',
    tokenHash: tokenHash('t'),
    atMs: 1,
  };
  t.is(verifySigned(signEnrollment(m, dev, d), d).signer, dev.address.toLowerCase());
  const other = privateKeySigner(TEST_OPERATOR_KEY);
  t.throws(() => verifySigned(signEnrollment(m, other, d), d), { message: /SIGNER_MISMATCH/ });
});
