/**
 * The setpoint audit log: `<stateDir>/audit.jsonl`, one JSON line per step (message, check, command, readback, ack,
 * QoS, fallback), hash-chained so that a modified, inserted, removed or reordered entry is found by
 * `verifyAuditFile` (and `lightnode audit verify`).
 *
 * Entry (one line, `\n`-terminated): `{i, atMs, event, …fields, prev, hash}` where
 * - `i` is the entry's index, 0 for the first line, +1 per line;
 * - `atMs` is `clock.now()` (UTC epoch ms) when it was appended; `event` a dotted name (`setpoint.received` …);
 * - `prev` is the previous entry's `hash` (genesis: 32 zero bytes, `0x00…00`);
 * - `hash` = keccak256 over the UTF-8 bytes of the canonical JSON of the entry without `hash`: keys sorted by UTF-16
 *   code units at every level, no whitespace, ECMAScript number and string serialisation (JSON.stringify) — i.e.
 *   RFC 8785 (JCS) for the values the log holds. As `0x` + 64 lower-case hex digits.
 * Field values are what JSON holds: a bigint is written as its decimal string, `undefined` members are dropped, a
 * non-finite number becomes `null` (JSON.stringify's rules); the line written is exactly what was hashed.
 *
 * Durability: `append` is synchronous; one `write` of the whole line on an O_APPEND descriptor, then `fsync`, before
 * it returns — the caller queues its ack only after. A failed write is rolled back (truncated to the last whole line).
 *
 * Torn tail: a power cut in the middle of a write leaves bytes after the last `\n` (a partial line, or the zeros some
 * file systems leave). `AuditLog.open` truncates them (fsync'd), logs a warning and appends an `audit.torn_tail`
 * entry naming the byte count, so the cut is itself on the chain; `verifyAuditFile` reports such bytes as
 * `tornTailBytes` without failing (they are not part of the chain). A complete last line that does not check is
 * not a torn write: `open` refuses to extend it (`AUDIT_CHAIN_BROKEN`).
 *
 * What the chain cannot prove on its own: a removal of the newest entries, or a whole rewritten file. Anchor
 * `lastHash` elsewhere (QoS reports, the operator) to cover those. One writer per file (the agent).
 */
import { closeSync, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { LightNodeError, keccak256, silentLogger, toHex, type Clock, type Logger } from '@lightnode/protocols';

/** `prev` of the first entry: 32 zero bytes. */
export const AUDIT_GENESIS = `0x${'00'.repeat(32)}`;
/** The members every entry has; `fields` may not use these names. */
export const AUDIT_RESERVED = ['i', 'atMs', 'event', 'prev', 'hash'] as const;

/** RFC 8785-style canonical JSON: sorted keys at every level, no whitespace, JSON.stringify's scalars. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => canonicalJson(x)).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** The hash of an entry (its `hash` member, if any, left out). */
export function auditEntryHash(entry: Record<string, unknown>): string {
  const { hash: _omit, ...rest } = entry;
  return toHex(keccak256(Buffer.from(canonicalJson(rest), 'utf8')));
}

const toJsonValue = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v);

const HASH_RE = /^0x[0-9a-f]{64}$/;

/** Checks one parsed line as entry `index` after `prev`; returns the reason it is bad, or undefined. */
function entryProblem(e: unknown, index: number, prev: string): string | undefined {
  if (e === null || typeof e !== 'object' || Array.isArray(e)) return 'not a JSON object';
  const o = e as Record<string, unknown>;
  if (!Number.isSafeInteger(o.i)) return 'i: expected an integer';
  if (o.i !== index) return `i: expected ${index}, received ${String(o.i)} (an entry inserted, removed or moved)`;
  if (!Number.isSafeInteger(o.atMs)) return 'atMs: expected an integer';
  if (typeof o.event !== 'string' || o.event === '') return 'event: expected a non-empty string';
  if (typeof o.prev !== 'string' || !HASH_RE.test(o.prev)) return 'prev: expected 0x + 64 hex digits';
  if (typeof o.hash !== 'string' || !HASH_RE.test(o.hash)) return 'hash: expected 0x + 64 hex digits';
  if (o.prev !== prev) return `prev: does not link to entry ${index - 1}'s hash`;
  if (auditEntryHash(o) !== o.hash) return 'hash: does not match the entry (modified)';
  return undefined;
}

function broken(path: string, index: number, reason: string): LightNodeError {
  return new LightNodeError('AUDIT_CHAIN_BROKEN', `${path}: entry ${index} (line ${index + 1}): ${reason}`, {
    path,
    index,
    reason,
  });
}

function openExisting(path: string): number {
  try {
    return openSync(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new LightNodeError('NOT_FOUND', `${path}: no such audit file`, { path });
    throw new LightNodeError('IO_ERROR', `${path}: cannot open (${code ?? String(e)})`, { path }, { cause: e });
  }
}

const CHUNK = 64 * 1024;

/**
 * Reads `path` line by line in bounded memory (64 KiB chunks); calls `onLine` for each `\n`-terminated line and
 * returns the count of bytes after the last `\n`.
 */
function forEachLine(fd: number, onLine: (line: string) => void): number {
  const buf = Buffer.allocUnsafe(CHUNK);
  let carry: Buffer[] = [];
  let carryLen = 0;
  let pos = 0;
  for (;;) {
    const n = readSync(fd, buf, 0, CHUNK, pos);
    if (n === 0) break;
    pos += n;
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl !== -1 && nl < n; nl = buf.indexOf(10, start)) {
      const piece = buf.subarray(start, nl);
      const line = carryLen ? Buffer.concat([...carry, piece]) : piece;
      onLine(line.toString('utf8'));
      carry = [];
      carryLen = 0;
      start = nl + 1;
    }
    if (start < n) {
      carry.push(Buffer.from(buf.subarray(start, n)));
      carryLen += n - start;
    }
  }
  return carryLen;
}

/** Result of a verification: entry count and the hash of the last entry (genesis when empty). */
export interface AuditVerifyResult {
  entries: number;
  lastHash: string;
  /** Bytes after the last newline (a write cut short by a power cut; the agent truncates them at its next start). */
  tornTailBytes?: number;
}

/**
 * Verifies a whole audit file: every line parses, `i` runs 0, 1, 2 …, each `prev` is the previous `hash`, each
 * `hash` matches its entry. Throws `AUDIT_CHAIN_BROKEN` naming the first bad entry's index (`context.index`),
 * `NOT_FOUND` for a missing file. Read-only.
 */
export function verifyAuditFile(path: string): AuditVerifyResult {
  const fd = openExisting(path);
  let index = 0;
  let prev = AUDIT_GENESIS;
  try {
    const torn = forEachLine(fd, (line) => {
      let e: unknown;
      try {
        e = JSON.parse(line);
      } catch {
        throw broken(path, index, 'not JSON');
      }
      const problem = entryProblem(e, index, prev);
      if (problem) throw broken(path, index, problem);
      prev = (e as { hash: string }).hash;
      index++;
    });
    return torn ? { entries: index, lastHash: prev, tornTailBytes: torn } : { entries: index, lastHash: prev };
  } finally {
    closeSync(fd);
  }
}

/** Position of the last `\n` strictly before `end`, or -1. Reads backwards in chunks. */
function lastNewlineBefore(fd: number, end: number): number {
  const buf = Buffer.allocUnsafe(CHUNK);
  let hi = end;
  while (hi > 0) {
    const lo = Math.max(0, hi - CHUNK);
    const n = readSync(fd, buf, 0, hi - lo, lo);
    const at = buf.subarray(0, n).lastIndexOf(10);
    if (at !== -1) return lo + at;
    hi = lo;
  }
  return -1;
}

function readRange(fd: number, from: number, to: number): string {
  const buf = Buffer.allocUnsafe(to - from);
  let got = 0;
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, from + got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got).toString('utf8');
}

export interface AuditLogOptions {
  clock: Clock;
  /** Where the torn-tail recovery is reported (warn). Default: silent. */
  logger?: Logger;
}

/** The append side of the audit log (the agent's one writer). */
export class AuditLog {
  private closed = false;
  /** An entry was appended without fsync since the last sync. */
  private unsynced = false;

  private constructor(
    private readonly path: string,
    private readonly fd: number,
    private readonly clock: Clock,
    private next: number,
    private prev: string,
    private size: number,
  ) {}

  /**
   * Opens (creates, mode 0640) `path` and continues its chain from the last line; a torn tail is truncated, logged
   * and recorded as an `audit.torn_tail` entry. Throws `AUDIT_CHAIN_BROKEN` when the last whole line does not check,
   * `IO_ERROR` when the file cannot be opened.
   */
  static open(path: string, opts: AuditLogOptions): AuditLog {
    const logger = opts.logger ?? silentLogger;
    let fd: number;
    let created = false;
    try {
      try {
        fd = openSync(path, 'ax+', 0o640);
        created = true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        fd = openSync(path, 'a+', 0o640);
      }
    } catch (e) {
      throw new LightNodeError(
        'IO_ERROR',
        `${path}: cannot open the audit log (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
        { path },
        { cause: e },
      );
    }
    try {
      if (created) fsyncDir(dirname(path));
      let size = fstatSync(fd).size;
      const lastNl = lastNewlineBefore(fd, size);
      const torn = size - (lastNl + 1);
      if (torn > 0) {
        ftruncateSync(fd, lastNl + 1);
        fsyncSync(fd);
        size = lastNl + 1;
        logger.warn('audit log: torn last line truncated (a write cut short)', { path, bytes: torn });
      }
      let next = 0;
      let prev = AUDIT_GENESIS;
      if (size > 0) {
        const start = lastNewlineBefore(fd, size - 1) + 1;
        const line = readRange(fd, start, size - 1);
        let e: unknown;
        try {
          e = JSON.parse(line);
        } catch {
          e = undefined;
        }
        const o = e as { i?: unknown } | undefined;
        const index = Number.isSafeInteger(o?.i) && (o?.i as number) >= 0 ? (o?.i as number) : -1;
        const problem = index < 0 ? 'not an entry' : entryProblem(e, index, (e as { prev: string }).prev);
        if (problem) throw broken(path, index < 0 ? 0 : index, `last line: ${problem}; not extending it`);
        next = index + 1;
        prev = (e as { hash: string }).hash;
      }
      const log = new AuditLog(path, fd, opts.clock, next, prev, size);
      if (torn > 0) log.append('audit.torn_tail', { truncatedBytes: torn });
      return log;
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /** Index the next entry gets. */
  get nextIndex(): number {
    return this.next;
  }

  /** Hash of the last entry (genesis when empty). */
  get lastHash(): string {
    return this.prev;
  }

  /**
   * Appends one entry and (unless `{sync: false}`) fsyncs the file before returning — which makes every earlier
   * entry durable too (group commit: the controller writes the steps before an ack unsynced and the ack's entry
   * synced, so one fsync covers them all and an ack is never queued before its steps are on disk). `fields` may not
   * use the reserved names (`i`, `atMs`, `event`, `prev`, `hash`): `INPUT_INVALID` naming the field. `IO_ERROR` when
   * the write or fsync fails (the file is cut back to its last whole line; the chain does not advance).
   */
  append(event: string, fields: Record<string, unknown>, opts: { sync?: boolean } = {}): { i: number; hash: string } {
    if (this.closed) throw new LightNodeError('INTERNAL', `${this.path}: audit log is closed`, { path: this.path });
    if (typeof event !== 'string' || event === '')
      throw new LightNodeError('INPUT_INVALID', 'event: expected a non-empty string', { field: 'event' });
    for (const k of AUDIT_RESERVED)
      if (Object.hasOwn(fields, k))
        throw new LightNodeError('INPUT_INVALID', `fields.${k}: reserved audit member, rename it`, {
          field: `fields.${k}`,
        });
    const i = this.next;
    const body = JSON.parse(
      JSON.stringify({ i, atMs: this.clock.now(), event, ...fields, prev: this.prev }, toJsonValue),
    ) as Record<string, unknown>;
    const hash = auditEntryHash(body);
    const bytes = Buffer.from(`${JSON.stringify({ ...body, hash })}\n`, 'utf8');
    try {
      let off = 0;
      while (off < bytes.length) off += writeSync(this.fd, bytes, off, bytes.length - off);
      if (opts.sync !== false) fsyncSync(this.fd);
      this.unsynced = opts.sync === false;
    } catch (e) {
      try {
        ftruncateSync(this.fd, this.size);
      } catch {
        // the next open finds and truncates the torn tail
      }
      throw new LightNodeError(
        'IO_ERROR',
        `${this.path}: audit append failed (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
        { path: this.path, event },
        { cause: e },
      );
    }
    this.size += bytes.length;
    this.next = i + 1;
    this.prev = hash;
    return { i, hash };
  }

  /** Makes every entry appended so far durable (a no-op when the last append was synced). */
  sync(): void {
    if (this.closed || !this.unsynced) return;
    fsyncSync(this.fd);
    this.unsynced = false;
  }

  close(): void {
    if (this.closed) return;
    this.sync();
    this.closed = true;
    closeSync(this.fd);
  }
}

/** Makes a new file's directory entry durable (best effort: some file systems refuse fsync on a directory). */
function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // not fatal: the entries themselves are fsync'd
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
