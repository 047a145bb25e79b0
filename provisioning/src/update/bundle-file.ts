/**
 * Bundles read from disk without holding them in memory (a full release is ~150 MB): the outer tar's two headers and
 * the manifest are read directly; one chunked pass computes the signature's BLAKE2b-512 prehash of the whole file and
 * the payload's sha256; the payload is then streamed file → gunzip → `TarStreamReader` → a `TreeSink` (which writes
 * the files as they come, or only hashes them), and its sha256 is computed again on the way, so a file changed
 * between the check and the extraction is refused too. Same checks and messages as `parseBundle` / `payloadEntries`.
 */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { LightNodeError } from '@lightnode/protocols';
import { invalid, manifestProblem, type BundleManifest } from './bundle.js';
import { TarStreamReader, type TarSink } from './tar.js';

const BLOCK = 512;
/** A manifest larger than this is not ours (a delta's `removed` list of a whole tree is well below). */
const MANIFEST_MAX = 16 << 20;

export interface BundleHead {
  file: string;
  manifest: BundleManifest;
  /** Where the payload's bytes start in the file. */
  payloadOffset: number;
  fileBytes: number;
}

function readAt(fd: number, off: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  let got = 0;
  while (got < len) {
    const n = readSync(fd, b, got, len - got, off + got);
    if (n === 0) break;
    got += n;
  }
  return b.subarray(0, got);
}

interface Hdr {
  name: string;
  size: number;
  type: string;
}

function header(h: Buffer): Hdr | string {
  if (h.length < BLOCK) return 'truncated';
  if (h.every((b) => b === 0)) return 'end of archive';
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  const field = (off: number, len: number): string => {
    const end = h.indexOf(0, off);
    return h.toString('latin1', off, end < 0 || end > off + len ? off + len : end);
  };
  const oct = (off: number, len: number): number => {
    const s = field(off, len).trim();
    return /^[0-7]+$/.test(s) ? parseInt(s, 8) : NaN;
  };
  if (oct(148, 8) !== sum) return 'bad header checksum';
  const size = oct(124, 12);
  if (!Number.isSafeInteger(size)) return 'bad size field';
  return { name: field(0, 100), size, type: String.fromCharCode(h[156]!) };
}

const padded = (n: number): number => n + ((BLOCK - (n % BLOCK)) % BLOCK);

/** The manifest and where the payload lies; the structure checks of `parseBundle` except the payload's hash. */
export function readBundleHead(file: string): BundleHead {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw new LightNodeError('UPDATE_BUNDLE_INVALID', `${file}: cannot read (${(e as NodeJS.ErrnoException).code})`, {
      file,
    });
  }
  try {
    const fileBytes = fstatSync(fd).size;
    const incomplete = (at: number, why: string): LightNodeError =>
      invalid(file, `not a complete bundle (${why} at byte ${at})`);
    const m = header(readAt(fd, 0, BLOCK));
    if (typeof m === 'string') throw incomplete(0, m);
    if (m.type !== '0' || m.name !== 'manifest.json')
      throw invalid(file, 'expected exactly manifest.json then the payload');
    if (m.size > MANIFEST_MAX) throw invalid(file, `manifest.json is ${m.size} bytes, more than ${MANIFEST_MAX}`);
    if (BLOCK + m.size > fileBytes) throw incomplete(0, 'truncated inside the entry');
    let manifest: unknown;
    try {
      manifest = JSON.parse(readAt(fd, BLOCK, m.size).toString('utf8'));
    } catch (e) {
      throw invalid(file, `manifest.json is not JSON (${(e as Error).message})`);
    }
    const pOff = BLOCK + padded(m.size);
    const p = header(readAt(fd, pOff, BLOCK));
    if (typeof p === 'string')
      throw p === 'end of archive'
        ? invalid(file, 'expected exactly manifest.json then the payload')
        : incomplete(pOff, p);
    if (p.type !== '0') throw invalid(file, 'expected exactly manifest.json then the payload');
    const payloadOffset = pOff + BLOCK;
    if (payloadOffset + p.size > fileBytes) throw incomplete(pOff, 'truncated inside the entry');
    const endOff = payloadOffset + padded(p.size);
    const end = readAt(fd, endOff, 2 * BLOCK);
    if (!end.subarray(0, BLOCK).every((b) => b === 0))
      throw invalid(file, 'expected exactly manifest.json then the payload');
    if (end.length < 2 * BLOCK || !end.every((b) => b === 0))
      throw incomplete(endOff, 'one end-of-archive block, not two');
    const mp = manifestProblem(manifest);
    if (mp) throw invalid(file, `manifest.json: ${mp}`);
    const man = manifest as BundleManifest;
    if (p.name !== man.payload.name) throw invalid(file, `payload entry ${p.name} is not ${man.payload.name}`);
    if (p.size !== man.payload.bytes)
      throw invalid(file, `payload is ${p.size} bytes, the manifest says ${man.payload.bytes} (truncated?)`);
    return { file, manifest: man, payloadOffset, fileBytes };
  } finally {
    closeSync(fd);
  }
}

/** One chunked pass: the minisign prehash (BLAKE2b-512) of the whole file and the payload's sha256 (hex). */
export function hashBundle(head: BundleHead): { prehash: Buffer; payloadSha256: string } {
  const whole = createHash('blake2b512');
  const payload = createHash('sha256');
  const from = head.payloadOffset;
  const to = from + head.manifest.payload.bytes;
  const fd = openSync(head.file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    let off = 0;
    for (let n; (n = readSync(fd, buf, 0, buf.length, off)) > 0; off += n) {
      const c = buf.subarray(0, n);
      whole.update(c);
      const a = Math.max(from, off);
      const b = Math.min(to, off + n);
      if (a < b) payload.update(c.subarray(a - off, b - off));
    }
  } finally {
    closeSync(fd);
  }
  return { prehash: whole.digest(), payloadSha256: payload.digest('hex') };
}

/** Checks the payload's sha256 against the manifest (after `hashBundle`). */
export function checkPayloadHash(head: BundleHead, sha256: string): void {
  if (sha256 !== head.manifest.payload.sha256)
    throw invalid(head.file, `payload sha256 ${sha256} does not match the manifest's ${head.manifest.payload.sha256}`);
}

/**
 * Streams the payload into `sink` (entries as they are decompressed). Throws `UPDATE_BUNDLE_INVALID` naming the
 * file: does not decompress, a bad tar, an entry count not the manifest's, or a sha256 of the bytes read that is
 * not the manifest's (checked at the end: the caller must not use what the sink wrote before this resolves).
 */
export async function streamPayload(head: BundleHead, sink: TarSink & { abort?(): void }): Promise<number> {
  const { payloadOffset: start, manifest } = head;
  const sha = createHash('sha256');
  let entries = 0;
  const counting: TarSink = {
    entry: (h) => {
      entries++;
      sink.entry(h);
    },
    data: (c) => sink.data(c),
    entryEnd: () => sink.entryEnd(),
  };
  const reader = new TarStreamReader(counting);
  let stage: 'gunzip' | 'tar' = 'gunzip';
  const src = createReadStream(head.file, {
    start,
    end: start + manifest.payload.bytes - 1,
    highWaterMark: 1 << 20,
  });
  src.on('data', (c) => sha.update(c as Buffer));
  try {
    await pipeline(
      src,
      createGunzip({ chunkSize: 1 << 16 }),
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          try {
            stage = 'tar';
            reader.push(chunk);
            stage = 'gunzip';
            cb();
          } catch (e) {
            cb(e as Error);
          }
        },
      }),
    );
    stage = 'tar';
    reader.end();
  } catch (e) {
    sink.abort?.();
    if (e instanceof LightNodeError) throw e;
    const errno = e as NodeJS.ErrnoException;
    if (errno.syscall)
      throw new LightNodeError('IO_ERROR', `${head.file}: extracting the payload: ${errno.message}`, {
        file: head.file,
        cause: errno.code,
      });
    const msg = (e as Error).message;
    throw invalid(head.file, stage === 'gunzip' ? `payload does not decompress (${msg})` : `payload: ${msg}`);
  }
  const got = sha.digest('hex');
  if (got !== manifest.payload.sha256)
    throw invalid(
      head.file,
      `payload sha256 ${got} (read while extracting) is not the manifest's ${manifest.payload.sha256}`,
    );
  if (entries !== manifest.files)
    throw invalid(head.file, `payload has ${entries} entries, the manifest says ${manifest.files}`);
  return entries;
}
