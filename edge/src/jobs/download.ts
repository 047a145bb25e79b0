/**
 * Downloads for the update check: a daily byte budget (per UTC day, in a small JSON state file) and a resumable
 * download into a `.part` file with an HTTP Range request (RFC 9110 §14: `Range: bytes=N-` → `206` with
 * `Content-Range: bytes N-…`; a server that ignores it answers `200` with the whole body, and the part starts over).
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { LightNodeError } from '@lightnode/protocols';

/** Bytes downloaded per UTC day, within `maxBytes`; kept in `file` (`{day: "YYYY-MM-DD", bytes}`). */
export class DailyBudget {
  private day: string;
  private used: number;

  constructor(
    readonly file: string,
    readonly maxBytes: number,
    private readonly now: () => number,
  ) {
    this.day = this.today();
    this.used = 0;
    try {
      const s = JSON.parse(readFileSync(file, 'utf8')) as { day?: unknown; bytes?: unknown };
      if (s.day === this.day && typeof s.bytes === 'number' && s.bytes >= 0) this.used = s.bytes;
    } catch {
      /* no state yet (or unreadable): a fresh day */
    }
  }

  private today(): string {
    return new Date(this.now()).toISOString().slice(0, 10);
  }

  private roll(): void {
    const d = this.today();
    if (d !== this.day) [this.day, this.used] = [d, 0];
  }

  /** Bytes still allowed today. */
  remaining(): number {
    this.roll();
    return Math.max(0, this.maxBytes - this.used);
  }

  usedToday(): number {
    this.roll();
    return this.used;
  }

  spend(n: number): void {
    this.roll();
    this.used += n;
  }

  /** Writes the state file (temp file + rename). */
  save(): void {
    writeFileSync(`${this.file}.tmp`, JSON.stringify({ day: this.day, bytes: this.used }) + '\n');
    renameSync(`${this.file}.tmp`, this.file);
  }
}

export interface DownloadResult {
  /** The whole resource is in the part file. */
  complete: boolean;
  /** Bytes received in this run. */
  bytes: number;
  /** Bytes in the part file now. */
  partBytes: number;
}

function httpError(url: string, res: Response): LightNodeError {
  return new LightNodeError('JOB_FAILED', `GET ${url}: HTTP ${res.status} ${res.statusText}`.trim(), {
    url,
    status: res.status,
  });
}

/**
 * Appends `url`'s body to `part` from the part's current size (Range), within `budget`; stops when the budget runs
 * out (not an error: `complete: false`). A broken connection throws, the part keeps what arrived.
 */
export async function downloadResumable(o: {
  url: string;
  part: string;
  budget: DailyBudget;
  signal?: AbortSignal;
}): Promise<DownloadResult> {
  let offset = existsSync(o.part) ? statSync(o.part).size : 0;
  if (o.budget.remaining() <= 0) return { complete: false, bytes: 0, partBytes: offset };
  const res = await fetch(o.url, {
    headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
    ...(o.signal ? { signal: o.signal } : {}),
  });
  if (res.status === 416 && offset > 0) {
    await res.body?.cancel();
    return { complete: true, bytes: 0, partBytes: offset }; // the part already holds it all: the sha256 tells
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw httpError(o.url, res);
  }
  if (offset > 0 && res.status === 206) {
    const range = res.headers.get('content-range') ?? '';
    if (!range.startsWith(`bytes ${offset}-`)) {
      await res.body?.cancel();
      throw new LightNodeError(
        'JOB_FAILED',
        `GET ${o.url}: asked for bytes ${offset}- and received Content-Range ${JSON.stringify(range)}`,
        { url: o.url },
      );
    }
  } else offset = 0; // 200: the whole body, from the start
  const fd = openSync(o.part, offset > 0 ? 'a' : 'w');
  let bytes = 0;
  try {
    // leaving the loop early (budget) cancels the body stream
    for await (const value of (res.body ?? []) as AsyncIterable<Uint8Array>) {
      const allowed = o.budget.remaining();
      const chunk = value.length > allowed ? value.subarray(0, allowed) : value;
      writeSync(fd, chunk);
      o.budget.spend(chunk.length);
      bytes += chunk.length;
      if (chunk.length < value.length || o.budget.remaining() <= 0) {
        fsyncSync(fd);
        return { complete: false, bytes, partBytes: offset + bytes };
      }
    }
    fsyncSync(fd);
    return { complete: true, bytes, partBytes: offset + bytes };
  } finally {
    closeSync(fd);
    o.budget.save();
  }
}

/** sha256 of a file, hex. */
export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}
