/**
 * The `--board none` image (`ensureImage('none')`, deploy/image/build.sh): a GPT with one root partition labelled
 * lightnode-root of the x86-64 Discoverable Partitions root type; its ext4 mounted read-only through `losetup
 * --offset --sizelimit` holds the installed package (a factory release, its units enabled) and no per-device
 * identity (empty machine-id, no device key, no SSH host keys); the bmap is valid for the image and the .sha256
 * matches. Needs root, sfdisk, losetup, bmaptool (and what the image build needs).
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readlinkSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { checkRanges, mappedBytes, parseBmap } from '@lightnode/provisioning';
import { ensureImage } from './artifacts.js';

const X86_64_ROOT = '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709'; // UAPI Discoverable Partitions: Root Partition (x86-64)

interface SfdiskJson {
  partitiontable: {
    label: string;
    sectorsize?: number;
    partitions: { start: number; size: number; type: string; uuid: string; name?: string }[];
  };
}

const sh = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8' });

test('the none image: GPT root partition, the package installed, no device identity, a valid bmap', async (t) => {
  const t0 = Date.now();
  const img = ensureImage('none');
  t.log(`image ready in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${img}`);
  t.regex(basename(img), /^lightnode-.+-amd64\.img$/);

  const table = (JSON.parse(sh('sfdisk', ['--json', img])) as SfdiskJson).partitiontable;
  t.is(table.label, 'gpt');
  const roots = table.partitions.filter((p) => p.name === 'lightnode-root');
  t.is(roots.length, 1);
  const root = roots[0]!;
  t.is(root.type.toUpperCase(), X86_64_ROOT);
  t.is(root.start % 2048, 0, 'aligned to 1 MiB');
  const sector = table.sectorsize ?? 512;

  const bmap = parseBmap(readFileSync(`${img}.bmap`, 'utf8'), `${img}.bmap`);
  t.is(bmap.imageBytes, statSync(img).size);
  t.is(await checkRanges(img, bmap), undefined, 'every mapped range matches its sha256');
  const sparseBytes = statSync(img).blocks * 512;
  t.log(
    `size: ${(mappedBytes(bmap) / 2 ** 20).toFixed(1)} MiB mapped of ${(bmap.imageBytes / 2 ** 20).toFixed(1)} MiB`,
  );
  t.true(sparseBytes < bmap.imageBytes, 'a sparse file');
  t.notThrows(
    () => execFileSync('sha256sum', ['--check', '--status', basename(`${img}.sha256`)], { cwd: dirname(img) }),
    'the .sha256 matches',
  );

  const mnt = mkdtempSync(join(tmpdir(), 'ln-image-root-'));
  const loop = sh('losetup', [
    '--find',
    '--show',
    '--read-only',
    '--offset',
    String(root.start * sector),
    '--sizelimit',
    String(root.size * sector),
    img,
  ]).trim();
  let mounted = false;
  t.teardown(() => {
    if (mounted) execFileSync('umount', [mnt]);
    execFileSync('losetup', ['-d', loop]);
    rmSync(mnt, { recursive: true, force: true });
  });
  sh('mount', ['-o', 'ro,noload', '-t', 'ext4', loop, mnt]);
  mounted = true;

  const releases = readdirSync(join(mnt, 'usr/lib/lightnode/releases'));
  t.true(releases.length >= 1, 'a factory release');
  for (const v of releases) {
    const rel = JSON.parse(readFileSync(join(mnt, 'usr/lib/lightnode/releases', v, 'release.json'), 'utf8')) as {
      name: string;
      version: string;
      arch: string;
    };
    t.like(rel, { name: 'lightnode', version: v, arch: 'amd64' });
  }
  // every shipped unit with an [Install] WantedBy= is enabled (postinst ran in the image build)
  const unitDir = join(mnt, 'lib/systemd/system');
  const units = readdirSync(unitDir).filter((u) => u.startsWith('lightnode'));
  t.true(units.includes('lightnode-agent.service'));
  let enabled = 0;
  for (const u of units) {
    const wanted = /^\s*WantedBy\s*=\s*(.+)$/m.exec(readFileSync(join(unitDir, u), 'utf8'));
    if (!wanted) continue;
    for (const target of wanted[1]!.trim().split(/\s+/)) {
      // a link to /lib/systemd/system/UNIT: absolute inside the image, so read it, do not follow it
      const link = join(mnt, 'etc/systemd/system', `${target}.wants`, u);
      t.is(
        lstatSync(link, { throwIfNoEntry: false })?.isSymbolicLink() && readlinkSync(link),
        `/lib/systemd/system/${u}`,
        `${u} enabled in ${target}`,
      );
      enabled++;
    }
  }
  t.true(enabled >= 1);
  t.is(readFileSync(join(mnt, 'etc/machine-id'), 'utf8'), '', 'empty machine-id');
  t.false(existsSync(join(mnt, 'var/lib/lightnode/device.key')), 'no device key');
  const ssh = existsSync(join(mnt, 'etc/ssh')) ? readdirSync(join(mnt, 'etc/ssh')) : [];
  t.deepEqual(
    ssh.filter((f) => f.startsWith('ssh_host_')),
    [],
    'no SSH host keys',
  );
  for (const tool of ['bin/systemd', 'lib/systemd/systemd-timesyncd', 'usr/bin/dbus-daemon', 'bin/udevadm'])
    t.true(existsSync(join(mnt, tool)), tool);
  t.true(existsSync(join(mnt, 'etc/ssl/certs/ca-certificates.crt')));
});
