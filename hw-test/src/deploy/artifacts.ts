/**
 * Build artifacts shared by the deploy tests, each built once per source state: a key in `out/cache/` from
 * `git rev-parse HEAD` + `git status --porcelain` + what is built; rebuilt when it differs or an output is gone.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository (this file is hw-test/dist/deploy/artifacts.js once built). */
export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const CACHE = join(REPO, 'out', 'cache');

export type Arch = 'amd64' | 'arm64';
export type Board = 'none' | 'generic-efi';

function git(args: string[]): string {
  return execFileSync('git', args, { cwd: REPO, encoding: 'utf8' });
}

/** The source state plus `what`, hashed. */
function sourceKey(what: string): string {
  return createHash('sha256')
    .update(git(['rev-parse', 'HEAD']))
    .update(git(['status', '--porcelain']))
    .update(what)
    .digest('hex');
}

/** Runs `build` unless `name`'s key matches and its outputs exist; returns the outputs `build` reported. */
function cached(name: string, what: string, build: () => string[]): string[] {
  mkdirSync(CACHE, { recursive: true });
  const keyFile = join(CACHE, `${name}.key.json`);
  const key = sourceKey(what);
  if (existsSync(keyFile)) {
    const prev = JSON.parse(readFileSync(keyFile, 'utf8')) as { key: string; outputs: string[] };
    if (prev.key === key && prev.outputs.every((f) => existsSync(f))) return prev.outputs;
  }
  const outputs = build();
  writeFileSync(keyFile, JSON.stringify({ key, outputs }));
  return outputs;
}

function runLoud(cmd: string, args: string[], what: string): string {
  const r = spawnSync(cmd, args, { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.error) throw new Error(`${what}: cannot run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${what}: ${cmd} ${args.join(' ')} exited ${r.status}`);
  return r.stdout;
}

function version(): string {
  return (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * `out/deb/lightnode_<version>_<arch>.deb` by `npm run package:deb -- --arch ARCH`.
 * (Stub until the package helper's version of this file: the same contract.)
 */
export function ensureDeb(arch: Arch = 'amd64'): string {
  return cached(`deb-${arch}`, `deb ${arch}`, () => {
    runLoud('npm', ['run', '-s', 'package:deb', '--', '--arch', arch], `package ${arch}`);
    const deb = join(REPO, 'out', 'deb', `lightnode_${version()}_${arch}.deb`);
    if (!existsSync(deb)) throw new Error(`npm run package:deb -- --arch ${arch} made no ${deb}`);
    return [deb];
  })[0]!;
}

/**
 * `out/image/lightnode-<version>-<arch>.img` (another board's: `…-<arch>-<board>.img`) with its `.bmap` and
 * `.sha256`, by `deploy/image/build.sh` from `ensureDeb(arch)`. `LN_IMAGE_DEB=FILE` builds from that .deb instead
 * (a stand-in package, for working on the image alone).
 */
export function ensureImage(board: Board = 'none', arch: Arch = 'amd64'): string {
  const given = process.env.LN_IMAGE_DEB;
  const deb = given ?? ensureDeb(arch);
  return cached(`image-${board}-${arch}`, `image ${board} ${arch} ${given ?? ''}`, () => {
    const out = runLoud(
      'bash',
      [join(REPO, 'deploy', 'image', 'build.sh'), '--arch', arch, '--board', board, '--deb', deb],
      `image ${board} ${arch}`,
    );
    const img = out.trim().split('\n').at(-1)!;
    for (const f of [img, `${img}.bmap`, `${img}.sha256`])
      if (!existsSync(f)) throw new Error(`deploy/image/build.sh made no ${f}`);
    return [img, `${img}.bmap`, `${img}.sha256`];
  })[0]!;
}
