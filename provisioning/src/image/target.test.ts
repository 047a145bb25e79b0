import test, { type ExecutionContext } from 'ava';
import type { ErrorCode } from '@lightnode/protocols';
import { decideTarget, parseMountinfo, parseSwaps, type TargetFacts } from './target.js';

// /proc/self/mountinfo of a machine with its system on /dev/sda (8:0): / on sda2 (8:2), /boot/efi on sda1 (8:1),
// /var on an LVM volume dm-0 (254:0) held by sda3; an SD card /dev/sdb (8:16) with sdb1 (8:17) at "/media/SD CARD"
// (the space escaped as \040); a loop device loop0 (7:0) at /mnt/img; proc, tmpfs (major 0).
const MOUNTINFO = [
  '22 1 8:2 / / rw,relatime shared:1 - ext4 /dev/sda2 rw,errors=remount-ro',
  '23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:5 - proc proc rw',
  '24 22 8:1 / /boot/efi rw,relatime shared:2 - vfat /dev/sda1 rw,fmask=0077',
  '25 22 254:0 / /var rw,relatime shared:3 - ext4 /dev/mapper/vg-var rw',
  '26 22 0:25 / /run rw,nosuid,nodev shared:6 - tmpfs tmpfs rw,size=1600k',
  '27 22 8:17 / /media/SD\\040CARD rw,nosuid,nodev,relatime shared:7 - vfat /dev/sdb1 rw',
  '28 22 7:0 / /mnt/img ro,relatime shared:8 - ext4 /dev/loop0 ro',
  '',
].join('\n');
// /proc/swaps: a swap partition sdc2 (8:34) and a swap file on the root file system
const SWAPS = [
  'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority',
  '/dev/sdc2                               partition\t2097148\t\t0\t\t-2',
  '/swapfile                               file\t\t1048572\t\t0\t\t-3',
  '',
].join('\n');
const SWAP_DEVS = { '/dev/sdc2': '8:34', '/swapfile': '8:2' };

const sda: TargetFacts = {
  path: '/dev/sda',
  kind: 'block',
  sizeBytes: 256e9,
  devs: [
    { majMin: '8:0', path: '/dev/sda' },
    { majMin: '8:1', path: '/dev/sda1' },
    { majMin: '8:2', path: '/dev/sda2' },
    { majMin: '8:3', path: '/dev/sda3' },
    { majMin: '254:0', path: '/dev/dm-0' },
  ],
};
const sdb: TargetFacts = {
  path: '/dev/sdb',
  kind: 'block',
  sizeBytes: 16e9,
  devs: [
    { majMin: '8:16', path: '/dev/sdb' },
    { majMin: '8:17', path: '/dev/sdb1' },
  ],
};
const IMAGE = 700e6;

function refusal(t: ExecutionContext, facts: TargetFacts, code: ErrorCode, mountinfo = MOUNTINFO) {
  const d = decideTarget(facts, IMAGE, mountinfo, SWAPS, SWAP_DEVS);
  if (d.ok) return t.fail(`${facts.path} accepted`);
  t.is(d.error.code, code);
  t.true(d.error.message.includes(facts.path), d.error.message);
  return d.error;
}

test('parseMountinfo / parseSwaps: fields, octal escapes', (t) => {
  const m = parseMountinfo(MOUNTINFO);
  t.is(m.length, 7);
  t.deepEqual(m[5], { majMin: '8:17', mountPoint: '/media/SD CARD', fsType: 'vfat', source: '/dev/sdb1' });
  t.deepEqual(
    parseSwaps(SWAPS).map((s) => s.path),
    ['/dev/sdc2', '/swapfile'],
  );
});

test('the system disk is refused first, naming what it holds (a partition, an LVM volume on one, swap)', (t) => {
  const e = refusal(t, sda, 'FLASH_TARGET_SYSTEM');
  t.deepEqual(e.context.mountPoints, ['/', '/boot/efi', '/var']);
  // only the LVM volume (a holder of sda3) holds /var
  const var3 = refusal(
    t,
    { ...sda, path: '/dev/sda3', devs: sda.devs.filter((d) => ['8:3', '254:0'].includes(d.majMin)) },
    'FLASH_TARGET_SYSTEM',
  );
  t.deepEqual(var3.context.mountPoints, ['/var']);
  // a disk with an active swap partition
  const sdc: TargetFacts = {
    path: '/dev/sdc',
    kind: 'block',
    sizeBytes: 1e6, // too small too: the system check comes first
    devs: [
      { majMin: '8:32', path: '/dev/sdc' },
      { majMin: '8:34', path: '/dev/sdc2' },
    ],
  };
  t.regex(refusal(t, sdc, 'FLASH_TARGET_SYSTEM').message, /swap \/dev\/sdc2/);
  // /boot mounted from a loop device (a private mount namespace in the deploy test)
  const boot = MOUNTINFO + '40 22 7:3 / /boot rw - ext4 /dev/loop3 rw\n';
  const loop3: TargetFacts = {
    path: '/dev/loop3',
    kind: 'block',
    sizeBytes: 1e9,
    devs: [{ majMin: '7:3', path: '/dev/loop3' }],
  };
  t.regex(refusal(t, loop3, 'FLASH_TARGET_SYSTEM', boot).message, /\/boot/);
});

test('a mounted card is refused naming its mount points; unmounted it is accepted', (t) => {
  const e = refusal(t, sdb, 'FLASH_TARGET_MOUNTED');
  t.deepEqual(e.context.mountPoints, ['/media/SD CARD']);
  t.regex(e.message, /\/media\/SD CARD/);
  // matched by source path too (file systems whose st_dev is not the device's, e.g. btrfs)
  const bySource = MOUNTINFO.replace('8:17', '0:44');
  t.deepEqual(refusal(t, sdb, 'FLASH_TARGET_MOUNTED', bySource).context.mountPoints, ['/media/SD CARD']);
  const unmounted = MOUNTINFO.split('\n')
    .filter((l) => !l.includes('8:17'))
    .join('\n');
  t.deepEqual(decideTarget(sdb, IMAGE, unmounted, SWAPS, SWAP_DEVS), { ok: true, mountPoints: [] });
});

test('a regular file backing a mounted loop device is refused as mounted', (t) => {
  const file: TargetFacts = { path: '/srv/x.img', kind: 'file', devs: [{ majMin: '7:0', path: '/dev/loop0' }] };
  t.deepEqual(refusal(t, file, 'FLASH_TARGET_MOUNTED').context.mountPoints, ['/mnt/img']);
  const free: TargetFacts = { path: '/srv/y.img', kind: 'file', devs: [] };
  t.true(decideTarget(free, IMAGE, MOUNTINFO, SWAPS, SWAP_DEVS).ok);
});

test('too small, then invalid (missing; neither a block device nor a regular file)', (t) => {
  const e = refusal(
    t,
    { ...sdb, sizeBytes: 512e6, devs: [{ majMin: '8:16', path: '/dev/sdb' }] },
    'FLASH_TARGET_TOO_SMALL',
  );
  t.like(e.context, { sizeBytes: 512e6, imageBytes: IMAGE });
  t.regex(
    refusal(t, { path: '/dev/sdz', kind: 'missing', devs: [] }, 'FLASH_TARGET_INVALID').message,
    /does not exist/,
  );
  t.regex(refusal(t, { path: '/dev/ttyS0', kind: 'other', devs: [] }, 'FLASH_TARGET_INVALID').message, /neither/);
});
