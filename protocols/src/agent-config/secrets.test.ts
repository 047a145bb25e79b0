// Config errors name the path and what was received, but never echo `uplink.password`.
import test from 'ava';
import { isLightNodeError } from '../errors.js';
import { parseAgentConfig } from './schema.js';

const SECRET = 'test-password-not-real-42';
const base = (uplink: Record<string, unknown>, extra: Record<string, unknown> = {}): unknown => ({
  podId: 'IT002E61899978',
  stateDir: '/tmp/ln-test',
  uplink: { url: 'mqtt://127.0.0.1:1883', username: 'dev', ...uplink },
  ...extra,
});

function message(doc: unknown): string {
  try {
    parseAgentConfig(doc, 'agent.json');
  } catch (e) {
    if (isLightNodeError(e) && e.code === 'CONFIG_INVALID') return `${e.message} ${JSON.stringify(e.context)}`;
    throw e;
  }
  throw new Error('expected CONFIG_INVALID');
}

test('a wrongly typed uplink.password is named, its value not shown', (t) => {
  const m = message(base({ password: 987654321 }));
  t.regex(m, /agent\.json\.uplink\.password/);
  t.false(m.includes('987654321'), m);
  t.regex(m, /not shown/);
});

test('an error on the uplink object (unknown key) redacts the password inside the received value', (t) => {
  const m = message(base({ password: SECRET, colour: 'blue' }));
  t.regex(m, /agent\.json\.uplink/);
  t.false(m.includes(SECRET), m);
  t.regex(m, /\[secret\]/);
});

test('an error on the whole document (unknown top-level key) redacts the password too', (t) => {
  const m = message(base({ password: SECRET }, { colour: 'blue' }));
  t.false(m.includes(SECRET), m);
});

test('an error elsewhere still shows its received value', (t) => {
  const m = message(base({ password: SECRET, url: 'http://nope' }));
  t.regex(m, /uplink\.url/);
  t.regex(m, /http:\/\/nope/);
  t.false(m.includes(SECRET), m);
});
