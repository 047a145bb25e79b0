#!/usr/bin/env node
// Installs what a fresh clone lacks, then builds: run before `npm start`, `npm test`, `npm run bench`.
// - `npm ci` when node_modules is missing or package-lock.json changed since the last install
//   (hash kept in node_modules/.lightnode-lock.sha256);
// - `tsc -b` (incremental: a no-op when nothing changed).
// Native addons (better-sqlite3) compile against the system Node headers: npm_config_nodedir=/usr
// (see ../shared/reference/platform.md: node-gyp cannot download headers here).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const quiet = process.argv.includes('--quiet');
const say = (msg) => {
  if (!quiet) process.stderr.write(`[ensure] ${msg}\n`);
};
const run = (cmd, args, env = {}) => {
  const r = spawnSync(cmd, args, {
    cwd: root,
    stdio: ['ignore', quiet ? 'ignore' : 'inherit', 'inherit'],
    env: { ...process.env, ...env },
  });
  if (r.status !== 0) {
    process.stderr.write(`[ensure] '${cmd} ${args.join(' ')}' failed (exit ${r.status ?? r.signal})\n`);
    process.exit(1);
  }
};

const lock = join(root, 'package-lock.json');
const stamp = join(root, 'node_modules', '.lightnode-lock.sha256');
const want = createHash('sha256').update(readFileSync(lock)).digest('hex');
const have = existsSync(stamp) ? readFileSync(stamp, 'utf8').trim() : '';
if (process.argv.includes('--stamp')) {
  // after an explicit `npm ci` (CI): record the lockfile hash so that pretest does not install again
  writeFileSync(stamp, want + '\n');
} else if (want !== have) {
  say(have ? 'package-lock.json changed: npm ci' : 'first run: npm ci (compiles better-sqlite3, ~1 min)');
  const nodedir = process.env.npm_config_nodedir ?? (existsSync('/usr/include/node/node.h') ? '/usr' : undefined);
  run('npm', ['ci', '--no-audit', '--no-fund'], nodedir ? { npm_config_nodedir: nodedir } : {});
  writeFileSync(stamp, want + '\n');
}
const t0 = Date.now();
run(join(root, 'node_modules', '.bin', 'tsc'), ['-b']);
say(`build ok (${Date.now() - t0} ms)`);
