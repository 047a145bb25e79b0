/**
 * `lightnode image flash` for real, through the CLI, never on a real disk: a small GPT image (a few MB of files in
 * an ext4 by `mke2fs -d`, sparse, its bmap by `bmaptool create`) written to a regular file and to a loop device and
 * read back equal over the mapped ranges; refused, the target untouched, for a mounted loop device, one mounted at
 * /boot in a private mount namespace (`unshare -m`: the host's /boot is never touched), one too small, a corrupted
 * image, a missing bmap, a missing target, no terminal without --yes. Then the real `none` image to a file.
 * Needs root, sfdisk, mke2fs, losetup, unshare, bmaptool.
 */
import test, { type ExecutionContext } from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  closeSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseBmap, rangeBytes, type Bmap } from '@lightnode/provisioning';
import { ensureImage, repoRoot } from './artifacts.js';

const LIGHTNODE = join(repoRoot, 'bin', 'lightnode.mjs');
const sh = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8' });

const dir = mkdtempSync(join(tmpdir(), 'ln-flash-'));
const loops: string[] = [];
const mounts: string[] = [];
test.after.always(() => {
  for (const m of mounts.reverse()) spawnSync('umount', [m]);
  for (const l of loops) spawnSync('losetup', ['-d', l]);
  rmSync(dir, { recursive: true, force: true });
});

/** A 24 MiB GPT image: a 16 MiB ext4 partition at 1 MiB holding 4 MiB of random files; sparse; its bmap. */
function smallImage(): { img: string; bmap: Bmap } {
  const img = join(dir, 'small.img');
  const tree = join(dir, 'tree');
  mkdirSync(join(tree, 'data'), { recursive: true });
  for (let i = 0; i < 4; i++) writeFileSync(join(tree, 'data', `f${i}.bin`), randomBytes(1 << 20));
  writeFileSync(join(tree, 'hello.txt'), 'Light Node flash test\n');
  execFileSync('truncate', ['-s', '24M', img]);
  execFileSync('sfdisk', ['--quiet', img], {
    input: 'label: gpt\nstart=2048, size=32768, type=4f68bce3-e8cd-4db1-96e7-fbcaf984b709, name="lightnode-root"\n',
  });
  sh('mke2fs', ['-q', '-F', '-t', 'ext4', '-d', tree, '-E', `offset=${2048 * 512}`, img, '16384k']);
  sh('bmaptool', ['-q', 'create', '-o', `${img}.bmap`, img]);
  return { img, bmap: parseBmap(readFileSync(`${img}.bmap`, 'utf8')) };
}

function lightnode(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [LIGHTNODE, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function loopOf(file: string): string {
  const l = sh('losetup', ['--find', '--show', file]).trim();
  loops.push(l);
  return l;
}

function sparseFile(name: string, size: string): string {
  const f = join(dir, name);
  execFileSync('truncate', ['-s', size, f]);
  return f;
}

const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Asserts `target` holds `img`'s bytes over every mapped range. */
function sameMapped(t: ExecutionContext, img: string, target: string, bmap: Bmap): void {
  const a = readFileSync(img);
  const b = readFileSync(target);
  for (const r of bmap.ranges) {
    const { start, end } = rangeBytes(bmap, r);
    t.true(a.subarray(start, end).equals(b.subarray(start, end)), `blocks ${r.first}-${r.last} equal`);
  }
}

function refused(t: ExecutionContext, args: string[], code: string, device: string): string {
  const r = lightnode(['image', 'flash', ...args]);
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, new RegExp(`${code}: .*${device.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
  t.notRegex(r.stderr, /bmaptool: info: copying/, 'nothing written');
  return r.stderr;
}

const small = smallImage();

test('flash the small image to a regular file and to a loop device: read back equal over the mapped ranges', (t) => {
  const { img, bmap } = small;
  const file = sparseFile('to-file.img', '0');
  const r = lightnode(['image', 'flash', img, '--device', file, '--yes', '--json']);
  t.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as {
    device: string;
    image: string;
    mappedBytes: number;
    seconds: number;
    verified: boolean;
  };
  t.like(out, { device: file, image: img, verified: true });
  t.true(out.mappedBytes > 4 << 20 && out.mappedBytes < 24 << 20);
  t.log(`file: ${out.mappedBytes} mapped bytes in ${out.seconds} s`);
  sameMapped(t, img, file, bmap);

  const loop = loopOf(sparseFile('loop-backing.img', '32M'));
  const l = lightnode(['image', 'flash', img, '--device', loop, '--yes', '--json']);
  t.is(l.code, 0, l.stderr);
  const lo = JSON.parse(l.stdout) as { seconds: number; verified: boolean };
  t.true(lo.verified);
  t.log(`loop device: ${lo.seconds} s`);
  sameMapped(t, img, loop, bmap);
  t.deepEqual(
    (
      JSON.parse(sh('sfdisk', ['--json', loop])) as { partitiontable: { partitions: { name: string }[] } }
    ).partitiontable.partitions.map((p) => p.name),
    ['lightnode-root'],
  );
});

test('refused before any write: a mounted loop device (naming the mount point), one too small', (t) => {
  const { img } = small;
  const backing = sparseFile('mounted.img', '32M');
  sh('mke2fs', ['-q', '-F', '-t', 'ext4', backing]);
  const loop = loopOf(backing);
  const mnt = join(dir, 'mnt');
  mkdirSync(mnt);
  sh('mount', [loop, mnt]);
  mounts.push(mnt);
  writeFileSync(join(mnt, 'keep.txt'), 'still here');
  const msg = refused(t, [img, '--device', loop, '--yes'], 'FLASH_TARGET_MOUNTED', loop);
  t.true(msg.includes(mnt), msg);
  // the regular file behind a mounted loop device is refused too
  const m2 = refused(t, [img, '--device', backing, '--yes'], 'FLASH_TARGET_MOUNTED', backing);
  t.true(m2.includes(mnt));
  t.is(readFileSync(join(mnt, 'keep.txt'), 'utf8'), 'still here');

  const tiny = sparseFile('tiny-target.img', '8M');
  const tinyLoop = loopOf(tiny);
  const before = sha(tiny);
  refused(t, [img, '--device', tinyLoop, '--yes'], 'FLASH_TARGET_TOO_SMALL', tinyLoop);
  t.is(sha(tiny), before);
});

test('refused: a loop device mounted at /boot in a private mount namespace (FLASH_TARGET_SYSTEM)', (t) => {
  const { img } = small;
  const backing = sparseFile('boot.img', '32M');
  sh('mke2fs', ['-q', '-F', '-t', 'ext4', backing]);
  const loop = loopOf(backing);
  const before = sha(backing);
  // unshare(1) makes the new namespace's mounts private: the mount on /boot exists only inside it
  const r = spawnSync(
    'unshare',
    [
      '-m',
      '--propagation',
      'private',
      'sh',
      '-c',
      'mount -o ro,noload "$1" /boot && exec "$2" "$3" image flash "$4" --device "$1" --yes',
      'sh',
      loop,
      process.execPath,
      LIGHTNODE,
      img,
    ],
    { encoding: 'utf8' },
  );
  t.is(r.status, 1, r.stderr);
  t.regex(r.stderr, new RegExp(`FLASH_TARGET_SYSTEM: ${loop} holds this system's /boot`));
  t.is(sha(backing), before);
  const host = spawnSync('findmnt', ['-rn', '-o', 'SOURCE', '/boot'], { encoding: 'utf8' }).stdout;
  t.false(host.includes(loop), "the host's /boot untouched");
});

test('refused: a corrupted image, a missing bmap, a missing or non-file target, no terminal without --yes', (t) => {
  const { img, bmap } = small;
  const target = sparseFile('target.img', '0');
  // flip a byte in a mapped range past the partition table: in the ext4's data
  const bad = join(dir, 'bad.img');
  execFileSync('cp', ['--sparse=always', img, bad]);
  copyFileSync(`${img}.bmap`, `${bad}.bmap`);
  const r = bmap.ranges.at(-2) ?? bmap.ranges[0]!;
  const at = rangeBytes(bmap, r).start + 100;
  const fd = openSync(bad, 'r+');
  const byte = Buffer.alloc(1);
  byte[0] = readFileSync(bad)[at]! ^ 0x5a;
  writeSync(fd, byte, 0, 1, at);
  closeSync(fd);
  refused(t, [bad, '--device', target, '--yes'], 'FLASH_IMAGE_CORRUPT', bad);
  t.is(readFileSync(target).length, 0, 'the target untouched');

  const nobmap = join(dir, 'nobmap.img');
  execFileSync('cp', ['--sparse=always', img, nobmap]);
  refused(t, [nobmap, '--device', target, '--yes'], 'FLASH_BMAP_MISSING', `${nobmap}.bmap`);
  refused(t, [img, '--device', join(dir, 'absent.img'), '--yes'], 'FLASH_TARGET_INVALID', join(dir, 'absent.img'));
  refused(t, [img, '--device', '/dev/null', '--yes'], 'FLASH_TARGET_INVALID', '/dev/null');
  refused(t, [img, '--device', target], 'FLASH_CONFIRM_REQUIRED', target);
  t.is(readFileSync(target).length, 0);
});

test('flash the real none image to a file', (t) => {
  const img = ensureImage('none');
  const file = sparseFile('real.img', '0');
  const r = lightnode(['image', 'flash', img, '--device', file, '--yes', '--json']);
  t.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { mappedBytes: number; seconds: number; verified: boolean };
  t.true(out.verified);
  t.log(`real image to a file: ${(out.mappedBytes / 2 ** 20).toFixed(1)} MiB mapped in ${out.seconds} s`);
  rmSync(file);
});
