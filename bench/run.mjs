#!/usr/bin/env node
// `npm run -s bench -- NAME [--json] [flags]`: runs bench/src/NAME.ts (compiled to bench/dist/NAME.js).
// Convention: human-readable figures on stderr/stdout; with --json exactly one JSON document on stdout:
// {bench, command, dataset, results: [{name, value, unit}], ratios: {NAME: value}}.
// A benchmark is a module that exports `main(args)`; helper modules (common.ts, mqtt-size.ts, …) are not listed.
import { readdirSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
const available = existsSync(dist)
  ? readdirSync(dist)
      .filter((f) => f.endsWith('.js') && !f.includes('.test.'))
      .filter((f) => /^export async function main\(/m.test(readFileSync(join(dist, f), 'utf8')))
      .map((f) => f.slice(0, -3))
  : [];
const [name, ...args] = process.argv.slice(2);
if (!name || name === '--help') {
  process.stderr.write(
    `Usage: npm run -s bench -- NAME [--json]\nBenchmarks: ${available.join(', ') || '(none built)'}\n`,
  );
  process.exit(name ? 0 : 2);
}
if (!available.includes(name)) {
  process.stderr.write(`bench: unknown benchmark '${name}' (have: ${available.join(', ')})\n`);
  process.exit(2);
}
const mod = await import(pathToFileURL(join(dist, `${name}.js`)).href);
process.exitCode = await mod.main(args);
