/**
 * `lightnode image flash`: writes an image to a block device or a regular file with `bmaptool copy` (only the mapped
 * ranges of its bmap), then reads those ranges back against the bmap's sha256. Every refusal comes before the first
 * write: no usable bmap, the target (system disk, mounted, too small, not a device or file), no confirmation, an
 * image that does not match its bmap.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { LightNodeError } from '@lightnode/protocols';
import { mappedBytes, parseBmap, rangeBytes, type Bmap } from './bmap.js';
import { parseSwaps, decideTarget } from './target.js';
import { probeTarget, swapDevices } from './probe.js';

export interface FlashOptions {
  image: string;
  device: string;
  /** Default `IMAGE.bmap`. */
  bmap?: string | undefined;
  /** Skip typing the device name. */
  yes?: boolean | undefined;
  /**
   * Asks the person to type the device name; resolves to what they typed. Absent when there is no terminal: then
   * `yes` is required (`FLASH_CONFIRM_REQUIRED`).
   */
  confirm?: ((question: string) => Promise<string>) | undefined;
  /** One line of progress (stderr). */
  progress: (line: string) => void;
  signal?: AbortSignal | undefined;
  /** For tests: the system's text instead of /proc's. */
  procMountinfo?: string | undefined;
  procSwaps?: string | undefined;
  bmaptool?: string | undefined;
  now?: () => number;
}

export interface FlashResult {
  device: string;
  image: string;
  mappedBytes: number;
  seconds: number;
  verified: true;
}

const CHUNK = 4 << 20;

/** The first mapped range of `file` whose bytes do not match the bmap, or undefined when all match. */
export async function checkRanges(
  file: string,
  bmap: Bmap,
  signal?: AbortSignal,
): Promise<{ first: number; last: number; start: number; expected: string; actual: string } | undefined> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (const r of bmap.ranges) {
      signal?.throwIfAborted();
      const { start, end } = rangeBytes(bmap, r);
      const h = createHash('sha256');
      for (let pos = start; pos < end;) {
        const want = Math.min(CHUNK, end - pos);
        const { bytesRead } = await fh.read(buf, 0, want, pos);
        if (bytesRead === 0) break; // short: the hash will differ
        h.update(buf.subarray(0, bytesRead));
        pos += bytesRead;
      }
      const actual = h.digest('hex');
      if (actual !== r.sha256) return { first: r.first, last: r.last, start, expected: r.sha256, actual };
    }
    return undefined;
  } finally {
    await fh.close();
  }
}

function run(
  cmd: string,
  args: string[],
  progress: (line: string) => void,
  signal?: AbortSignal,
): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], signal });
    let stderr = '';
    const forward = (chunk: Buffer) => {
      const s = chunk.toString();
      stderr += s;
      for (const l of s.split(/[\r\n]+/)) if (l.trim()) progress(`  ${l.trim()}`);
    };
    child.stdout.on('data', forward);
    child.stderr.on('data', forward);
    child.on('error', (e) =>
      reject(
        (e as NodeJS.ErrnoException).code === 'ENOENT'
          ? new LightNodeError('NOT_FOUND', `${cmd} not found (Debian package bmap-tools)`, { cmd })
          : e,
      ),
    );
    child.on('close', (code, sig) => resolve({ code: code ?? (sig ? 128 : 1), stderr }));
  });
}

const MiB = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

export async function flashImage(o: FlashOptions): Promise<FlashResult> {
  const now = o.now ?? Date.now;
  const t0 = now();
  const { image, device } = o;
  const bmapFile = o.bmap ?? `${image}.bmap`;
  if (!existsSync(image)) throw new LightNodeError('NOT_FOUND', `image ${image} does not exist`, { image });
  if (!existsSync(bmapFile))
    throw new LightNodeError(
      'FLASH_BMAP_MISSING',
      `${bmapFile} does not exist: an image is flashed with its bmap (bmaptool create -o ${basename(image)}.bmap ${basename(image)}, or --bmap FILE)`,
      { image, bmap: bmapFile },
    );
  const bmap = parseBmap(readFileSync(bmapFile, 'utf8'), bmapFile);
  const mapped = mappedBytes(bmap);
  o.progress(
    `image flash: ${image}: ${MiB(mapped)} mapped of ${MiB(bmap.imageBytes)} in ${bmap.ranges.length} ranges (${bmapFile})`,
  );
  const mountinfo = o.procMountinfo ?? readFileSync('/proc/self/mountinfo', 'utf8');
  const swaps = o.procSwaps ?? readFileSync('/proc/swaps', 'utf8');
  const facts = probeTarget(device);
  const decision = decideTarget(
    facts,
    bmap.imageBytes,
    mountinfo,
    swaps,
    swapDevices(parseSwaps(swaps).map((s) => s.path)),
  );
  if (!decision.ok) throw decision.error;
  const imageSize = statSync(image).size;
  if (imageSize !== bmap.imageBytes)
    throw new LightNodeError(
      'FLASH_IMAGE_CORRUPT',
      `${image} has ${imageSize} bytes, its bmap ${bmapFile} says ${bmap.imageBytes}: not the image the bmap was made for (or truncated)`,
      { image, bmap: bmapFile, sizeBytes: imageSize, expectedBytes: bmap.imageBytes },
    );

  if (!o.yes) {
    if (!o.confirm)
      throw new LightNodeError(
        'FLASH_CONFIRM_REQUIRED',
        `${device}: no terminal to type the device name on; pass --yes to write ${device} without asking`,
        { device },
      );
    const typed = (
      await o.confirm(`Everything on ${device} will be overwritten. Type its name (${device}) to go on: `)
    ).trim();
    if (typed !== device && typed !== basename(device))
      throw new LightNodeError(
        'FLASH_CONFIRM_REQUIRED',
        `${device}: the name typed (${JSON.stringify(typed)}) is not the device's: nothing written`,
        { device, typed },
      );
  }

  o.progress(`image flash: checking ${image}'s mapped ranges against ${bmapFile}`);
  const bad = await checkRanges(image, bmap, o.signal);
  if (bad)
    throw new LightNodeError(
      'FLASH_IMAGE_CORRUPT',
      `${image}: blocks ${bad.first}-${bad.last} (from byte ${bad.start}) do not match ${bmapFile} (sha256 ${bad.actual}, expected ${bad.expected}): nothing written`,
      { image, bmap: bmapFile, ...bad },
    );

  o.progress(`image flash: writing ${device} (bmaptool copy)`);
  const tool = o.bmaptool ?? 'bmaptool';
  const w = await run(tool, ['copy', '--bmap', bmapFile, image, device], o.progress, o.signal);
  if (w.code !== 0) {
    if (/checksum mismatch/i.test(w.stderr))
      throw new LightNodeError(
        'FLASH_IMAGE_CORRUPT',
        `${image}: bmaptool copy found a checksum mismatch against ${bmapFile} while writing ${device}`,
        { image, bmap: bmapFile, device },
      );
    throw new LightNodeError('IO_ERROR', `bmaptool copy ${image} ${device} failed (exit ${w.code})`, {
      image,
      device,
      code: w.code,
      stderr: w.stderr.slice(-2000),
    });
  }

  // read what is on the device, not what the page cache kept of the write
  if (facts.kind === 'block') await run('blockdev', ['--flushbufs', device], o.progress, o.signal);
  o.progress(`image flash: reading ${MiB(mapped)} back from ${device}`);
  const back = await checkRanges(device, bmap, o.signal);
  if (back)
    throw new LightNodeError(
      'FLASH_VERIFY_FAILED',
      `${device}: blocks ${back.first}-${back.last} (from byte ${back.start}) read back differ from ${image} (sha256 ${back.actual}, expected ${back.expected})`,
      { device, image, ...back },
    );
  const seconds = Math.round((now() - t0) / 100) / 10;
  o.progress(`image flash: ${device} written and verified in ${seconds} s`);
  return { device, image, mappedBytes: mapped, seconds, verified: true };
}
