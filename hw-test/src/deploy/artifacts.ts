/**
 * Build artifacts shared by the deploy tests (hw-test/src/deploy), each built once per source state: a key made of
 * `git rev-parse HEAD`, `git status --porcelain`, `git diff HEAD` and the target is kept in out/cache/; the artifact
 * is rebuilt when the key differs or the file is gone. Builds print their progress on the test's stderr.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (hw-test/dist/deploy → ../../..). */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** out/cache/ of the repository: downloads, staged trees, build keys. */
export const cacheDir = join(repoRoot, 'out', 'cache');

export type DebArch = 'amd64' | 'arm64';

function git(args: string[]): string {
  const r = spawnSync('git', args, { cwd: repoRoot, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** A key for the current source state plus `extra` (the target): equal keys, equal inputs. */
export function sourceKey(extra: string): string {
  const h = createHash('sha256');
  for (const part of [git(['rev-parse', 'HEAD']), git(['status', '--porcelain']), git(['diff', 'HEAD']), extra]) {
    h.update(part).update('\0');
  }
  return h.digest('hex');
}

/** The repository's version (root package.json), as in the artifact names. */
export function lightnodeVersion(): string {
  return (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * Runs `build` unless `out` exists and was built from the same source state (key file `out/cache/<name>.key`);
 * records the key after a successful build.
 */
export function ensureBuilt(name: string, out: string, extra: string, build: () => void): string {
  const keyFile = join(cacheDir, `${name}.key`);
  const key = sourceKey(extra);
  if (existsSync(out) && existsSync(keyFile) && readFileSync(keyFile, 'utf8').trim() === key) return out;
  build();
  if (!existsSync(out)) throw new Error(`${name}: the build succeeded but ${out} is missing`);
  mkdirSync(cacheDir, { recursive: true });
  writeFileSync(keyFile, key + '\n');
  return out;
}

/** `out/deb/lightnode_<version>_<arch>.deb`, built by `deploy/package/build-deb.mjs` when the sources changed. */
export function ensureDeb(arch: DebArch): string {
  const deb = join(repoRoot, 'out', 'deb', `lightnode_${lightnodeVersion()}_${arch}.deb`);
  return ensureBuilt(`deb-${arch}`, deb, arch, () => {
    const r = spawnSync(process.execPath, [join(repoRoot, 'deploy', 'package', 'build-deb.mjs'), '--arch', arch], {
      cwd: repoRoot,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (r.status !== 0) throw new Error(`building the ${arch} package failed (exit ${r.status ?? r.signal})`);
  });
}

export type ImageBoard = 'none' | 'generic-efi';

/**
 * `out/image/lightnode-<version>-<arch>.img` (another board's: `…-<arch>-<board>.img`) with its `.img.bmap` and
 * `.img.sha256`, built by `deploy/image/build.sh` from `ensureDeb(arch)` when the sources changed; returns the
 * image's path. `LN_IMAGE_DEB=FILE` builds from that .deb instead (a stand-in package, to work on the image alone).
 * Tests that boot or write the image work on a copy: the bmap and sha256 describe it as built.
 */
export function ensureImage(board: ImageBoard = 'none', arch: DebArch = 'amd64'): string {
  const given = process.env.LN_IMAGE_DEB;
  const deb = given ?? ensureDeb(arch);
  const name = `image-${board}-${arch}`;
  const img = join(
    repoRoot,
    'out',
    'image',
    `lightnode-${lightnodeVersion()}-${arch}${board === 'none' ? '' : `-${board}`}.img`,
  );
  // the key stands for all three files
  if (!existsSync(`${img}.bmap`) || !existsSync(`${img}.sha256`))
    rmSync(join(cacheDir, `${name}.key`), { force: true });
  const debKey = given ? `${given} ${statSync(given).mtimeMs}` : '';
  return ensureBuilt(name, img, `${board} ${arch} ${debKey}`, () => {
    const r = spawnSync(
      'bash',
      [join(repoRoot, 'deploy', 'image', 'build.sh'), '--arch', arch, '--board', board, '--deb', deb],
      {
        cwd: repoRoot,
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    if (r.status !== 0) throw new Error(`building the ${board} ${arch} image failed (exit ${r.status ?? r.signal})`);
  });
}
