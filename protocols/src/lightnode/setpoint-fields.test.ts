// checkSetpointFields: the strict shape of a received setpoint (the device's SCHEMA_INVALID step).
import test from 'ava';
import { isLightNodeError } from '../errors.js';
import { testSetpoint } from './testkit.js';
import { checkSetpointFields } from './messages.js';

const good = () => ({ ...testSetpoint(1, { baselineW: -250 }).message }) as Record<string, unknown>;

test('a well-formed setpoint passes, returned as is', (t) => {
  const m = good();
  t.is(checkSetpointFields(m), m as never);
});

const cases: [string, (m: Record<string, unknown>) => void, RegExp][] = [
  ['missing', (m) => delete m.baselineW, /setpoint\.baselineW: expected an integer/],
  ['unknown', (m) => (m.priority = 1), /setpoint\.priority: expected no such field/],
  ['numeric string', (m) => (m.nonce = '1'), /setpoint\.nonce: expected an integer/],
  ['float', (m) => (m.activePowerW = 1.5), /setpoint\.activePowerW/],
  ['unsafe integer', (m) => (m.validFromMs = 2 ** 60), /setpoint\.validFromMs/],
  ['negative uint', (m) => (m.slotIndex = -1), /setpoint\.slotIndex: expected an integer 0\.\.65535/],
  ['uint16 overflow', (m) => (m.slotIndex = 65536), /setpoint\.slotIndex/],
  ['id not bytes32', (m) => (m.id = '0x12'), /setpoint\.id: expected 0x \+ 64 hex digits/],
  ['issuer not an address', (m) => (m.issuer = 'bob'), /setpoint\.issuer: expected a 0x address/],
  ['string mistyped', (m) => (m.podId = 42), /setpoint\.podId: expected a string/],
  ['version', (m) => (m.version = 2), /setpoint\.version: expected 1/],
];

for (const [name, mutate, re] of cases)
  test(`SCHEMA_INVALID naming the field: ${name}`, (t) => {
    const m = good();
    mutate(m);
    const e = t.throws(() => checkSetpointFields(m));
    t.true(isLightNodeError(e, 'SCHEMA_INVALID'));
    t.regex(e.message, re);
  });

test('not an object → SCHEMA_INVALID', (t) => {
  for (const v of [null, [], 'x', 3]) t.throws(() => checkSetpointFields(v), { message: /SCHEMA_INVALID/ });
});
