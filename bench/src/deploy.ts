/**
 * `npm run -s bench -- deploy [--json] [--no-image] [--arch amd64,arm64]`: what a release costs to build and to ship.
 * - the Debian package per arch (`npm run package:deb -- --arch A`): build time and size;
 * - the flashable image (`npm run image -- --board none`, amd64): build time, mapped and total size (from its bmap);
 * - update bundles (`lightnode update pack`), built from the amd64 package's factory release tree: the full bundle of
 *   a **patch release** (one source file and the version changed) against its delta from the base release, and the
 *   same for a **dependency bump** (mqtt 5.16.0 replaced by 5.15.2 from the npm registry):
 *   `ratios.fullOverDeltaPatch` (target ≥ 100) and `ratios.fullOverDeltaDeps`.
 * - from the last booted deploy test (`out/test/deploy-figures.json`, written by hw-test/src/deploy/booted.test.ts):
 *   time to READY and the agent's RSS on the package's Node 24, when present.
 * Not a timed test: the figures are recorded in bench/RESULTS.md.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { emit, type BenchResult } from './common.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const LIGHTNODE = join(ROOT, 'bin', 'lightnode.mjs');
const DEP = { name: 'mqtt', from: '5.16.0', to: '5.15.2' };

const say = (s: string): void => void process.stderr.write(`[bench deploy] ${s}\n`);
const mb = (bytes: number): number => Math.round((bytes / 1e6) * 100) / 100;
const kb = (bytes: number): number => Math.round((bytes / 1e3) * 10) / 10;

/** Runs a command with its output on stderr; returns the wall time in s. Throws naming the command on failure. */
function timed(cmd: string, args: string[], cwd = ROOT): number {
  say(`$ ${cmd} ${args.join(' ')}`);
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd, stdio: ['ignore', 2, 'inherit'] });
  if (r.status !== 0) throw new Error(`'${cmd} ${args.join(' ')}' failed (exit ${r.status ?? r.signal})`);
  return Math.round((performance.now() - t0) / 100) / 10;
}

function version(): string {
  return (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

/** `<ImageSize>` and mapped bytes (`<MappedBlocksCount>` × `<BlockSize>`) of a bmap file. */
function bmapSizes(file: string): { total: number; mapped: number } {
  const x = readFileSync(file, 'utf8');
  const num = (tag: string): number => Number(new RegExp(`<${tag}>\\s*(\\d+)\\s*</${tag}>`).exec(x)?.[1] ?? NaN);
  return { total: num('ImageSize'), mapped: num('MappedBlocksCount') * num('BlockSize') };
}

function setRelease(tree: string, v: string, seq: number): void {
  const f = join(tree, 'release.json');
  const r = JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown>;
  writeFileSync(f, JSON.stringify({ ...r, version: v, seq }, null, 2) + '\n');
}

function pack(tree: string, out: string, base?: string): number {
  timed(process.execPath, [
    LIGHTNODE,
    'update',
    'pack',
    '--release',
    tree,
    '--out',
    out,
    ...(base ? ['--base', base] : []),
  ]);
  return statSync(out).size;
}

export async function main(args: string[]): Promise<number> {
  const archArg = args.find((a) => a.startsWith('--arch='))?.slice(7) ?? 'amd64,arm64';
  const arches = archArg.split(',');
  const results: BenchResult[] = [];
  const ratios: Record<string, number> = {};
  const v = version();
  for (const arch of arches) {
    const s = timed('npm', ['run', '-s', 'package:deb', '--', '--arch', arch]);
    const deb = join(ROOT, 'out', 'deb', `lightnode_${v}_${arch}.deb`);
    results.push({ name: `package build ${arch}`, value: s, unit: 's' });
    results.push({ name: `package size ${arch}`, value: mb(statSync(deb).size), unit: 'MB' });
  }
  if (!args.includes('--no-image')) {
    const s = timed('npm', ['run', '-s', 'image', '--', '--arch', 'amd64', '--board', 'none']);
    const img = join(ROOT, 'out', 'image', `lightnode-${v}-amd64.img`);
    const b = bmapSizes(`${img}.bmap`);
    results.push({ name: 'image build amd64 (board none)', value: s, unit: 's' });
    results.push({ name: 'image size total', value: mb(b.total), unit: 'MB' });
    results.push({ name: 'image size mapped', value: mb(b.mapped), unit: 'MB' });
  }

  // bundles from the amd64 factory release
  const work = mkdtempSync(join(tmpdir(), 'ln-bench-deploy-'));
  try {
    const deb = join(ROOT, 'out', 'deb', `lightnode_${v}_amd64.deb`);
    if (!existsSync(deb)) timed('npm', ['run', '-s', 'package:deb', '--', '--arch', 'amd64']);
    execFileSync('dpkg-deb', ['-x', deb, join(work, 'x')]);
    const rels = join(work, 'x', 'usr', 'lib', 'lightnode', 'releases');
    const base = join(work, 'base');
    cpSync(join(rels, readdirSync(rels)[0]!), base, { recursive: true, verbatimSymlinks: true });
    setRelease(base, '1.0.0', 100);
    const baseBundle = join(work, 'base.bundle');
    const tBase = performance.now();
    const fullBase = pack(base, baseBundle);
    results.push({ name: 'full bundle (base release)', value: mb(fullBase), unit: 'MB' });
    results.push({ name: 'pack full bundle', value: Math.round(performance.now() - tBase) / 1000, unit: 's' });

    // a patch release: one source file and the version changed
    const patch = join(work, 'patch');
    cpSync(base, patch, { recursive: true, verbatimSymlinks: true });
    setRelease(patch, '1.0.1', 101);
    const src = join(patch, 'app', 'node_modules', '@lightnode', 'edge', 'dist', 'agent', 'status.js');
    writeFileSync(src, readFileSync(src, 'utf8') + '\n// patch release 1.0.1: one changed line\n');
    const fullPatch = pack(patch, join(work, 'patch.bundle'));
    const deltaPatch = pack(patch, join(work, 'patch.delta'), baseBundle);
    results.push({ name: 'patch release: full bundle', value: mb(fullPatch), unit: 'MB' });
    results.push({ name: 'patch release: delta bundle', value: kb(deltaPatch), unit: 'kB' });
    ratios.fullOverDeltaPatch = Math.round(fullPatch / deltaPatch);

    // a dependency bump: mqtt replaced by another release from the npm registry
    const deps = join(work, 'deps');
    cpSync(base, deps, { recursive: true, verbatimSymlinks: true });
    setRelease(deps, '1.1.0', 110);
    const cache = join(ROOT, 'out', 'cache', 'bench');
    mkdirSync(cache, { recursive: true });
    const tgz = join(cache, `${DEP.name}-${DEP.to}.tgz`);
    if (!existsSync(tgz)) execFileSync('npm', ['pack', `${DEP.name}@${DEP.to}`, '--pack-destination', cache, '-q']);
    const depDir = join(deps, 'app', 'node_modules', DEP.name);
    rmSync(depDir, { recursive: true, force: true });
    mkdirSync(depDir, { recursive: true });
    execFileSync('tar', ['-xzf', tgz, '-C', depDir, '--strip-components=1']);
    const fullDeps = pack(deps, join(work, 'deps.bundle'));
    const deltaDeps = pack(deps, join(work, 'deps.delta'), baseBundle);
    results.push({
      name: `dependency bump (${DEP.name} ${DEP.from}→${DEP.to}): full`,
      value: mb(fullDeps),
      unit: 'MB',
    });
    results.push({
      name: `dependency bump (${DEP.name} ${DEP.from}→${DEP.to}): delta`,
      value: kb(deltaDeps),
      unit: 'kB',
    });
    ratios.fullOverDeltaDeps = Math.round((fullDeps / deltaDeps) * 10) / 10;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  const figures = join(ROOT, 'out', 'test', 'deploy-figures.json');
  if (existsSync(figures)) {
    const f = JSON.parse(readFileSync(figures, 'utf8')) as { booted?: Record<string, unknown> };
    const at = typeof f.booted?.atMs === 'number' ? new Date(f.booted.atMs).toISOString() : 'unknown time';
    say(`booted figures from ${figures} (the booted test run of ${at})`);
    const flat = (prefix: string, o: Record<string, unknown>): void => {
      for (const [k, val] of Object.entries(o)) {
        if (k === 'atMs') continue;
        if (val && typeof val === 'object') flat(`${prefix}${k}.`, val as Record<string, unknown>);
        else if (typeof val === 'number') {
          const unit = /Ms$/.test(k) ? 'ms' : /Kb$/.test(k) ? 'kB' : '';
          results.push({ name: `booted ${prefix}${k}`, value: val, unit });
        }
      }
    };
    flat('', f.booted ?? {});
  } else say(`no ${figures}: run npm run test:deploy for the booted figures (time to READY, RSS)`);

  emit(
    {
      bench: 'deploy',
      command: `npm run -s bench -- deploy --json${args.includes('--no-image') ? ' --no-image' : ''}`,
      dataset: `lightnode ${v}: packages for ${arches.join(', ')}, image amd64 board none, bundles from the amd64 factory release`,
      results,
      ratios,
    },
    args,
  );
  return 0;
}
