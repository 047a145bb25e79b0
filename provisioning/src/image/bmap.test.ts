import test from 'ava';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isLightNodeError } from '@lightnode/protocols';
import { mappedBytes, parseBmap, rangeBytes } from './bmap.js';
import { checkRanges } from './flash.js';

// provisioning/fixtures/image (README there): tiny.img, 41 060 bytes, data in blocks 0, 4-5 and the short block 10
const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'image');
const IMG = join(FIXTURES, 'tiny.img');
const XML = readFileSync(join(FIXTURES, 'tiny.img.bmap'), 'utf8');

test('parseBmap: sizes, ranges with their sha256, the short last block clipped', (t) => {
  const b = parseBmap(XML, 'tiny.img.bmap');
  t.is(b.version, '2.0');
  t.is(b.imageBytes, 41060);
  t.is(b.blockBytes, 4096);
  t.is(b.blocksCount, 11);
  t.is(b.mappedBlocksCount, 4);
  t.deepEqual(
    b.ranges.map((r) => [r.first, r.last]),
    [
      [0, 0],
      [4, 5],
      [10, 10],
    ],
  );
  t.is(b.ranges[0]!.sha256, '0b3e376354d392aae41b8a2bad3c43360b1e08718ae880c54e75be5bbc2ae1bf');
  t.deepEqual(rangeBytes(b, b.ranges[2]!), { start: 40960, end: 41060 });
  t.is(mappedBytes(b), 4096 + 8192 + 100);
});

test('checkRanges: the fixture image matches its bmap; one flipped byte in a mapped range is found', async (t) => {
  const b = parseBmap(XML);
  t.is(await checkRanges(IMG, b), undefined);
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'ln-bmap-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bytes = readFileSync(IMG);
  bytes[4096 * 5 + 7] = bytes[4096 * 5 + 7]! ^ 0xff;
  writeFileSync(join(dir, 'bad.img'), bytes);
  const bad = await checkRanges(join(dir, 'bad.img'), b);
  t.like(bad, { first: 4, last: 5, start: 16384 });
  // a byte outside every mapped range is not the bmap's business
  const other = readFileSync(IMG);
  other[4096 * 2] = 1;
  writeFileSync(join(dir, 'hole.img'), other);
  t.is(await checkRanges(join(dir, 'hole.img'), b), undefined);
});

test('parseBmap refuses what is not a usable bmap (FLASH_BMAP_MISSING naming the file)', (t) => {
  const refuse = (xml: string, what: RegExp) => {
    const e = t.throws(() => parseBmap(xml, 'x.bmap'));
    t.true(isLightNodeError(e, 'FLASH_BMAP_MISSING'), String(e));
    t.regex(e.message, /x\.bmap/);
    t.regex(e.message, what);
  };
  refuse('<html></html>', /not a bmap/);
  refuse(XML.replace('version="2.0"', 'version="1.4"'), /version 1\.4/);
  // edited: the file's own checksum no longer matches
  refuse(XML.replace('> 4-5 <', '> 4-6 <'), /BmapFileChecksum/);
  const noSum = XML.replace(/<BmapFileChecksum>[^<]*<\/BmapFileChecksum>/, '');
  t.is(parseBmap(noSum).ranges.length, 3);
  refuse(noSum.replace('> 4-5 <', '> 5-4 <'), /out of order/);
  refuse(noSum.replace('> 10 <', '> 11 <'), /beyond the 11 blocks/);
  refuse(noSum.replace(/<MappedBlocksCount> 4\s*</, '<MappedBlocksCount> 5 <'), /map 4 blocks/);
  refuse(noSum.replace(/chksum="0b3e[0-9a-f]*"/, 'chksum="abc"'), /without a sha256/);
  refuse(noSum.replace('sha256 </ChecksumType>', 'sha1 </ChecksumType>'), /checksum type sha1/);
});
