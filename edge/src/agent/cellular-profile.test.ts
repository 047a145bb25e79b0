// edge/README.md § Cellular profile: the JSON block there is a valid agent config with the profile's keys.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAgentConfig } from '@lightnode/protocols';

/** The first ```json block after the heading `### Cellular profile`. */
function cellularProfileBlock(readme: string): unknown {
  const at = readme.indexOf('### Cellular profile');
  const m = /```json\n([\s\S]*?)\n```/.exec(readme.slice(at));
  if (at < 0 || !m) throw new Error('edge/README.md: no ```json block under "### Cellular profile"');
  return JSON.parse(m[1]!);
}

test('the README cellular profile parses: 60-min batches, 1-min polls, keepalive 240 s, hourly status', (t) => {
  const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
  const c = parseAgentConfig(cellularProfileBlock(readme), 'edge/README.md');
  t.is(c.batch.windowMs, 3_600_000);
  t.is(c.uplink.keepaliveS, 240);
  t.is(c.status.publishEveryMs, 3_600_000);
  t.deepEqual(
    c.lines.flatMap((l) => l.meters.map((m) => m.pollMs)),
    [60_000],
  );
});
