// `bench/run.mjs --help` lists exactly the benchmarks (modules exporting `main`), never helper modules.
import test from 'ava';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const src = dirname(fileURLToPath(import.meta.url)).replace(/dist$/, 'src');
const runner = join(src, '..', 'run.mjs');

test('run.mjs lists only the benchmarks', async (t) => {
  const benches = readdirSync(src)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .filter((f) => /^export async function main\(/m.test(readFileSync(join(src, f), 'utf8')))
    .map((f) => f.slice(0, -3))
    .sort();
  t.true(
    ['uplink', 'protocol', 'cellular'].every((b) => benches.includes(b)),
    benches.join(', '),
  );
  const err = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, [runner, '--help'], (e, _out, stderr) =>
      e ? reject(new Error(e.message)) : resolve(stderr),
    ),
  );
  const listed = /Benchmarks: (.*)/.exec(err)?.[1]?.split(', ').sort();
  t.deepEqual(listed, benches);
  for (const helper of ['common', 'mqtt-size', 'gzip-json', 'cellular-model', 'cellular-docs'])
    t.false(listed!.includes(helper), helper);
});
