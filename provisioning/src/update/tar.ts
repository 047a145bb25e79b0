/**
 * A small deterministic ustar (POSIX.1-1988) writer and reader for update bundles: regular files, directories and
 * symlinks, mode bits kept, owner 0:0, mtime 0, entries in the order given. Paths or link targets longer than the
 * ustar fields (100 bytes) or not ASCII get a POSIX.1-2001 pax `x` header (`path=` / `linkpath=` records). Pure: a
 * Buffer in, entries out; the reader never throws on bad bytes, it returns the reason (truncated, bad checksum, an
 * entry type it does not carry).
 */

export type TarEntry =
  | { type: 'file'; path: string; mode: number; data: Buffer }
  | { type: 'dir'; path: string; mode: number }
  | { type: 'symlink'; path: string; target: string };

const BLOCK = 512;

function octal(buf: Buffer, off: number, len: number, n: number): void {
  buf.write(n.toString(8).padStart(len - 1, '0') + '\0', off, len, 'latin1');
}

function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  const bodyLen = Buffer.byteLength(body, 'utf8');
  // the length counts its own digits
  let digits = String(bodyLen).length;
  while (String(bodyLen + digits).length !== digits) digits++;
  return Buffer.from(`${bodyLen + digits}${body}`, 'utf8');
}

const fitsUstar = (s: string): boolean => /^[\x20-\x7e]*$/.test(s) && s.length < 100;

function header(o: { name: string; mode: number; size: number; type: string; link: string }): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(o.name, 0, 100, 'latin1');
  octal(h, 100, 8, o.mode & 0o7777);
  octal(h, 108, 8, 0);
  octal(h, 116, 8, 0);
  octal(h, 124, 12, o.size);
  octal(h, 136, 12, 0);
  h.write(o.type, 156, 1, 'latin1');
  h.write(o.link, 157, 100, 'latin1');
  h.write('ustar\x0000', 257, 8, 'latin1');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return h;
}

const pad = (n: number): Buffer => Buffer.alloc((BLOCK - (n % BLOCK)) % BLOCK);

/** Writes entries as one ustar archive (with the two zero blocks at the end). */
export function writeTar(entries: Iterable<TarEntry>): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const name = e.type === 'dir' && !e.path.endsWith('/') ? `${e.path}/` : e.path;
    const link = e.type === 'symlink' ? e.target : '';
    const pax: Buffer[] = [];
    if (!fitsUstar(name)) pax.push(paxRecord('path', name));
    if (!fitsUstar(link)) pax.push(paxRecord('linkpath', link));
    if (pax.length) {
      const body = Buffer.concat(pax);
      parts.push(header({ name: 'PaxHeader', mode: 0o644, size: body.length, type: 'x', link: '' }), body);
      parts.push(pad(body.length));
    }
    const short = (s: string): string => (fitsUstar(s) ? s : s.replace(/[^\x20-\x7e]/g, '_').slice(0, 99));
    const size = e.type === 'file' ? e.data.length : 0;
    const mode = e.type === 'symlink' ? 0o777 : e.mode;
    const type = e.type === 'file' ? '0' : e.type === 'dir' ? '5' : '2';
    parts.push(header({ name: short(name), mode, size, type, link: short(link) }));
    if (e.type === 'file') parts.push(e.data, pad(e.data.length));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

export type TarReadResult = { ok: true; entries: TarEntry[] } | { ok: false; reason: string };

function str(h: Buffer, off: number, len: number): string {
  const end = h.indexOf(0, off);
  return h.toString('latin1', off, end < 0 || end > off + len ? off + len : end);
}

function num(h: Buffer, off: number, len: number): number {
  const s = str(h, off, len).trim();
  return /^[0-7]+$/.test(s) ? parseInt(s, 8) : s === '' ? 0 : NaN;
}

function parsePax(body: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < body.length) {
    const sp = body.indexOf(0x20, i);
    if (sp < 0) break;
    const len = Number(body.toString('latin1', i, sp));
    if (!Number.isInteger(len) || len <= 0 || i + len > body.length) break;
    const rec = body.toString('utf8', sp + 1, i + len - 1);
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

/** Reads a ustar archive; a truncated one, a bad header checksum or an unsupported entry type is refused. */
export function readTar(buf: Buffer): TarReadResult {
  const entries: TarEntry[] = [];
  let off = 0;
  let pax: Record<string, string> = {};
  while (true) {
    if (off + BLOCK > buf.length) return { ok: false, reason: `truncated at byte ${off} (no end-of-archive blocks)` };
    const h = buf.subarray(off, off + BLOCK);
    if (h.every((b) => b === 0)) {
      // the end of the archive is two zero blocks: one alone means a truncated file
      const end = buf.subarray(off + BLOCK, off + 2 * BLOCK);
      if (end.length < BLOCK || !end.every((b) => b === 0))
        return { ok: false, reason: `truncated at byte ${off} (one end-of-archive block, not two)` };
      return { ok: true, entries };
    }
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    if (num(h, 148, 8) !== sum) return { ok: false, reason: `bad header checksum at byte ${off}` };
    const size = num(h, 124, 12);
    if (!Number.isSafeInteger(size)) return { ok: false, reason: `bad size field at byte ${off}` };
    const type = String.fromCharCode(h[156]!);
    const dataStart = off + BLOCK;
    if (dataStart + size > buf.length) return { ok: false, reason: `truncated inside the entry at byte ${off}` };
    const data = buf.subarray(dataStart, dataStart + size);
    off = dataStart + size + ((BLOCK - (size % BLOCK)) % BLOCK);
    if (type === 'x') {
      pax = parsePax(data);
      continue;
    }
    const prefix = str(h, 345, 155);
    const name = pax.path ?? (prefix ? `${prefix}/${str(h, 0, 100)}` : str(h, 0, 100));
    const link = pax.linkpath ?? str(h, 157, 100);
    pax = {};
    const mode = num(h, 100, 8);
    if (type === '0' || type === '\0') entries.push({ type: 'file', path: name, mode, data });
    else if (type === '5') entries.push({ type: 'dir', path: name.replace(/\/+$/, ''), mode });
    else if (type === '2') entries.push({ type: 'symlink', path: name, target: link });
    else return { ok: false, reason: `entry ${JSON.stringify(name)}: unsupported type ${JSON.stringify(type)}` };
  }
}

/** A header the incremental reader met: the entry's data (`size` bytes, files only) follows through `data`. */
export type TarHeader =
  | { type: 'file'; path: string; mode: number; size: number }
  | { type: 'dir'; path: string; mode: number }
  | { type: 'symlink'; path: string; target: string };

export interface TarSink {
  entry(h: TarHeader): void;
  data(chunk: Buffer): void;
  /** The end of a file entry's data (called for files only). */
  entryEnd(): void;
}

/**
 * The incremental form of `readTar`: `push` chunks as they come (any sizes), the sink gets each header, its data in
 * pieces and its end; only headers (and pax bodies) are buffered, never a file's data. Throws an `Error` naming the
 * problem (bad checksum, unsupported type, bytes after the end); `end()` throws when the archive is incomplete.
 */
export class TarStreamReader {
  private buf = Buffer.alloc(0);
  private off = 0;
  private remaining = 0;
  private padding = 0;
  private mode: 'header' | 'data' | 'pax' | 'zero' | 'done' = 'header';
  private pax: Record<string, string> = {};
  private paxParts: Buffer[] = [];
  private isFile = false;

  constructor(private readonly sink: TarSink) {}

  push(chunk: Buffer): void {
    let c = chunk;
    while (c.length) {
      if (this.mode === 'data' || this.mode === 'pax') {
        if (this.remaining > 0) {
          const n = Math.min(this.remaining, c.length);
          const piece = c.subarray(0, n);
          if (this.mode === 'data') {
            if (this.isFile) this.sink.data(piece);
          } else this.paxParts.push(Buffer.from(piece));
          this.remaining -= n;
          this.off += n;
          c = c.subarray(n);
          if (this.remaining === 0 && this.mode === 'data' && this.isFile) this.sink.entryEnd();
          continue;
        }
        const n = Math.min(this.padding, c.length);
        this.padding -= n;
        this.off += n;
        c = c.subarray(n);
        if (this.padding === 0) {
          if (this.mode === 'pax') this.pax = parsePax(Buffer.concat(this.paxParts));
          this.paxParts = [];
          this.mode = 'header';
        }
        continue;
      }
      if (this.mode === 'done') {
        // GNU tar pads archives to its record size with zeros; anything else after the end is refused
        if (!c.every((b) => b === 0)) throw new Error(`bytes after the end-of-archive blocks at byte ${this.off}`);
        this.off += c.length;
        return;
      }
      const need = BLOCK - this.buf.length;
      const take = c.subarray(0, need);
      this.buf = this.buf.length ? Buffer.concat([this.buf, take]) : Buffer.from(take);
      c = c.subarray(take.length);
      if (this.buf.length < BLOCK) return;
      const h = this.buf;
      this.buf = Buffer.alloc(0);
      this.block(h);
      this.off += BLOCK;
    }
  }

  private block(h: Buffer): void {
    const zero = h.every((b) => b === 0);
    if (this.mode === 'zero') {
      if (!zero) throw new Error(`truncated at byte ${this.off - BLOCK} (one end-of-archive block, not two)`);
      this.mode = 'done';
      return;
    }
    if (zero) {
      this.mode = 'zero';
      return;
    }
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    if (num(h, 148, 8) !== sum) throw new Error(`bad header checksum at byte ${this.off}`);
    const size = num(h, 124, 12);
    if (!Number.isSafeInteger(size)) throw new Error(`bad size field at byte ${this.off}`);
    const type = String.fromCharCode(h[156]!);
    this.remaining = size;
    this.padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if (type === 'x') {
      this.mode = 'pax';
      this.paxParts = [];
      if (size === 0) this.pax = {};
      if (size === 0) this.mode = 'header';
      return;
    }
    const prefix = str(h, 345, 155);
    const name = this.pax.path ?? (prefix ? `${prefix}/${str(h, 0, 100)}` : str(h, 0, 100));
    const link = this.pax.linkpath ?? str(h, 157, 100);
    this.pax = {};
    const mode = num(h, 100, 8);
    this.isFile = type === '0' || type === '\0';
    if (this.isFile) this.sink.entry({ type: 'file', path: name, mode, size });
    else if (type === '5') this.sink.entry({ type: 'dir', path: name.replace(/\/+$/, ''), mode });
    else if (type === '2') this.sink.entry({ type: 'symlink', path: name, target: link });
    else throw new Error(`entry ${JSON.stringify(name)}: unsupported type ${JSON.stringify(type)}`);
    this.mode = 'data';
    if (this.isFile && size === 0) this.sink.entryEnd();
    if (size === 0) this.mode = 'header';
  }

  /** Throws unless the archive ended with its two zero blocks. */
  end(): void {
    if (this.mode !== 'done') throw new Error(`truncated at byte ${this.off} (no end-of-archive blocks)`);
  }
}
