#!/usr/bin/env node
// Writes protocols/lightnode/vectors/*.json from protocols' deterministic builder (run after `npm run build`).
// A test checks that the committed files equal what the builder produces.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildVectors } from '@lightnode/protocols/testing';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'protocols', 'lightnode', 'vectors');
mkdirSync(dir, { recursive: true });
for (const [name, v] of Object.entries(buildVectors())) {
  writeFileSync(join(dir, `${name}.json`), JSON.stringify(v, null, 2) + '\n');
  process.stderr.write(`wrote ${join('protocols/lightnode/vectors', name + '.json')}\n`);
}
