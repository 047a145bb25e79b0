#!/usr/bin/env node
// Import-direction check (fails CI): protocols <- edge <- provisioning, protocols <- cloud, hw-test and bench on
// top of all; edge and cloud never import each other; across packages only the public surfaces
// (`@lightnode/x`, `@lightnode/x/testing`, `@lightnode/x/cli`), never a relative path into another package.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const allowed = {
  protocols: [],
  edge: ['protocols'],
  cloud: ['protocols'],
  provisioning: ['protocols', 'edge'],
  'hw-test': ['protocols', 'edge', 'cloud', 'provisioning'],
  bench: ['protocols', 'edge', 'cloud', 'provisioning', 'hw-test'],
};
const surfaces = new Set(['', '/testing', '/cli']);
const walk = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (name === 'node_modules' || name === 'dist') return [];
    return statSync(p).isDirectory() ? walk(p) : /\.(ts|mts|js|mjs)$/.test(name) ? [p] : [];
  });
const importRe = /(?:from\s+|import\s*\(\s*|import\s+)['"]([^'"]+)['"]/g;
const problems = [];
for (const [pkg, deps] of Object.entries(allowed)) {
  const srcDir = join(root, pkg, 'src');
  let files = [];
  try {
    files = walk(srcDir);
  } catch {
    continue;
  }
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(importRe)) {
      const spec = m[1];
      const line = text.slice(0, m.index).split('\n').length;
      const where = `${relative(root, file)}:${line}`;
      const scoped = /^@lightnode\/([^/]+)(\/.*)?$/.exec(spec);
      if (scoped) {
        const [, target, sub = ''] = scoped;
        if (target !== pkg && !deps.includes(target))
          problems.push(
            `${where}: ${pkg} must not import @lightnode/${target} (allowed: ${deps.join(', ') || 'none'})`,
          );
        else if (!surfaces.has(sub))
          problems.push(`${where}: '${spec}' reaches past @lightnode/${target}'s public surface`);
        continue;
      }
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec);
        const top = relative(root, target).split(sep)[0];
        if (top !== pkg) problems.push(`${where}: relative import '${spec}' leaves package ${pkg} (into ${top})`);
      }
      if (
        pkg === 'protocols' &&
        !/\.test\.ts$/.test(file) &&
        /^(node:)?(fs|net|child_process|dgram|http|https|tls|worker_threads)(\/|$)/.test(spec)
      )
        problems.push(`${where}: protocols has no I/O, but imports '${spec}'`);
    }
  }
}
if (problems.length) {
  process.stderr.write(
    `import-direction check failed (${problems.length}):\n${problems.map((p) => `  ${p}`).join('\n')}\n`,
  );
  process.exit(1);
}
process.stderr.write('import-direction check: ok\n');
