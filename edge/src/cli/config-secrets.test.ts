// A config file that is not JSON: the error names the file, never quotes its text (V8 quotes the text around the
// error, which here holds `uplink.password`).
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLightNodeError } from '@lightnode/protocols';
import { loadAgentConfig } from '../agent/config-file.js';

const dir = mkdtempSync(join(tmpdir(), 'ln-cfg-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

test('not-JSON config errors do not echo uplink.password', (t) => {
  const file = join(dir, 'agent.json');
  writeFileSync(file, '{"uplink": {"url": "mqtt://127.0.0.1", "password": test-password-not-real}}');
  const e = t.throws(() => loadAgentConfig(file));
  t.true(isLightNodeError(e) && e.code === 'CONFIG_INVALID');
  t.true(e.message.includes(file), e.message);
  t.regex(e.message, /not JSON/);
  t.false(e.message.includes('test-password-not-real'), e.message);
});

test('schema errors in a config file do not echo uplink.password', (t) => {
  const file = join(dir, 'typed.json');
  writeFileSync(
    file,
    JSON.stringify({ uplink: { url: 'mqtt://127.0.0.1', password: 'test-password-not-real', x: 1 } }),
  );
  const e = t.throws(() => loadAgentConfig(file));
  t.true(isLightNodeError(e) && e.code === 'CONFIG_INVALID');
  t.false(e.message.includes('test-password-not-real'), e.message);
});
