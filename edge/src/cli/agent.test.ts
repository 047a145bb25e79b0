// `lightnode agent --config FILE` as a process: a bad podId exits 1 naming the field, before anything starts.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../../bin/lightnode.mjs', import.meta.url));

test('lightnode agent --config FILE with podId IT002X1234 exits 1 naming podId', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ln-agent-cli-'));
  const file = join(dir, 'agent.json');
  writeFileSync(file, JSON.stringify({ podId: 'IT002X1234', stateDir: dir, uplink: { url: 'mqtt://127.0.0.1:1' } }));
  const r = spawnSync(process.execPath, [bin, 'agent', '--config', file], { encoding: 'utf8', timeout: 30_000 });
  rmSync(dir, { recursive: true, force: true });
  t.is(r.status, 1, r.stderr);
  t.regex(r.stderr, /CONFIG_INVALID: .*agent\.json\.podId: .*\(received "IT002X1234"\)/);
});
