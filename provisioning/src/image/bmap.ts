/**
 * The bmap file (`bmaptool create`, format 2.0): which blocks of an image carry data and the sha256 of each range.
 * Parsed by hand (the format is a flat XML document with a handful of elements): `<ImageSize>`, `<BlockSize>`,
 * `<BlocksCount>`, `<MappedBlocksCount>`, `<ChecksumType>`, `<BmapFileChecksum>` and `<BlockMap>` with
 * `<Range chksum="HEX"> FIRST-LAST </Range>` (or a single block number), blocks counted from 0, ranges inclusive.
 * The last block of an image whose size is not a multiple of the block size is short: its checksum covers only the
 * bytes up to `ImageSize`.
 */
import { createHash } from 'node:crypto';
import { LightNodeError } from '@lightnode/protocols';

export interface BmapRange {
  /** First block, inclusive. */
  first: number;
  /** Last block, inclusive. */
  last: number;
  /** Lower-case hex sha256 of the range's bytes (clipped to the image size). */
  sha256: string;
}

export interface Bmap {
  version: string;
  imageBytes: number;
  blockBytes: number;
  blocksCount: number;
  mappedBlocksCount: number;
  ranges: BmapRange[];
}

function element(xml: string, name: string, file: string): string {
  const m = new RegExp(`<${name}>\\s*([^<]*?)\\s*</${name}>`).exec(xml);
  if (!m) throw new LightNodeError('FLASH_BMAP_MISSING', `${file}: not a bmap file (no <${name}>)`, { file, name });
  return m[1]!;
}

function count(xml: string, name: string, file: string): number {
  const s = element(xml, name, file);
  const n = Number(s);
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(n))
    throw new LightNodeError('FLASH_BMAP_MISSING', `${file}: <${name}> is ${JSON.stringify(s)}, not a count`, {
      file,
      name,
    });
  return n;
}

/**
 * Parses and checks a bmap document: version 2.x, sha256 checksums, ranges in order within the image, the mapped
 * count equal to the ranges' sum, and the file's own checksum (`BmapFileChecksum`: the sha256 of the file with that
 * value replaced by 64 zeros) when present. A document that fails is `FLASH_BMAP_MISSING` (no usable bmap), naming
 * `file` and what was wrong.
 */
export function parseBmap(raw: string, file = 'bmap'): Bmap {
  const bad = (what: string, context: Record<string, unknown> = {}) =>
    new LightNodeError('FLASH_BMAP_MISSING', `${file}: ${what}`, { file, ...context });
  // comments (bmaptool writes long ones, naming the elements) are not content
  const xml = raw.replace(/<!--[\s\S]*?-->/g, '');
  const v = /<bmap\s+version="(\d+)\.(\d+)"\s*>/.exec(xml);
  if (!v) throw bad('not a bmap file (no <bmap version="…">)');
  if (v[1] !== '2') throw bad(`bmap format version ${v[1]}.${v[2]} (this reads 2.x)`, { version: `${v[1]}.${v[2]}` });
  const checksumType = element(xml, 'ChecksumType', file);
  if (checksumType !== 'sha256') throw bad(`checksum type ${checksumType} (this reads sha256)`, { checksumType });
  const imageBytes = count(xml, 'ImageSize', file);
  const blockBytes = count(xml, 'BlockSize', file);
  const blocksCount = count(xml, 'BlocksCount', file);
  const mappedBlocksCount = count(xml, 'MappedBlocksCount', file);
  if (blockBytes === 0) throw bad('<BlockSize> is 0');
  if (blocksCount !== Math.ceil(imageBytes / blockBytes))
    throw bad(`<BlocksCount> ${blocksCount} does not match ${imageBytes} bytes in ${blockBytes}-byte blocks`);

  const fileSum = /<BmapFileChecksum>\s*([0-9a-fA-F]{64})\s*<\/BmapFileChecksum>/.exec(xml);
  if (fileSum) {
    const zeroed = raw.replace(fileSum[1]!, '0'.repeat(64));
    const actual = createHash('sha256').update(zeroed).digest('hex');
    if (actual !== fileSum[1]!.toLowerCase())
      throw bad(`its BmapFileChecksum does not match its content (edited or truncated)`, {
        expected: fileSum[1],
        actual,
      });
  }

  const map = /<BlockMap>([\s\S]*)<\/BlockMap>/.exec(xml);
  if (!map) throw bad('no <BlockMap>');
  const ranges: BmapRange[] = [];
  const re = /<Range\s+chksum="([0-9a-fA-F]{64})"\s*>\s*(\d+)(?:\s*-\s*(\d+))?\s*<\/Range>/g;
  let mapped = 0;
  let rest = map[1]!;
  for (const m of map[1]!.matchAll(re)) {
    const first = Number(m[2]);
    const last = m[3] === undefined ? first : Number(m[3]);
    const prev = ranges.at(-1);
    if (last < first || last >= blocksCount || (prev && first <= prev.last))
      throw bad(`range ${m[2]}${m[3] ? `-${m[3]}` : ''} is out of order or beyond the ${blocksCount} blocks`);
    ranges.push({ first, last, sha256: m[1]!.toLowerCase() });
    mapped += last - first + 1;
    rest = rest.replace(m[0], '');
  }
  if (/<Range/.test(rest)) throw bad('a <Range> without a sha256 chksum or with a malformed block range');
  if (mapped !== mappedBlocksCount)
    throw bad(`its ranges map ${mapped} blocks, <MappedBlocksCount> says ${mappedBlocksCount}`);
  return { version: `${v[1]}.${v[2]}`, imageBytes, blockBytes, blocksCount, mappedBlocksCount, ranges };
}

/** The byte span of a range in the image: [start, end), the last block clipped to the image size. */
export function rangeBytes(bmap: Bmap, r: BmapRange): { start: number; end: number } {
  return { start: r.first * bmap.blockBytes, end: Math.min((r.last + 1) * bmap.blockBytes, bmap.imageBytes) };
}

/** Bytes covered by the mapped ranges (what a flash writes and reads back). */
export function mappedBytes(bmap: Bmap): number {
  return bmap.ranges.reduce((n, r) => {
    const { start, end } = rangeBytes(bmap, r);
    return n + end - start;
  }, 0);
}
