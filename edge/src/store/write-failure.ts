/**
 * Which failures are "the store could not write" (disk full, I/O error): better-sqlite3's SqliteError codes
 * SQLITE_FULL and SQLITE_IOERR* (SQLITE_IOERR_WRITE, _FSYNC …), and the errno codes of the seq high-water file
 * (ENOSPC, EDQUOT, EIO). They become `OUTBOX_WRITE_FAILED` with the original as cause; anything else is a bug or a
 * corrupt file and passes through unchanged.
 */
import { LightNodeError } from '@lightnode/protocols';

const ERRNO = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'SQLITE_FULL']);

export function isWriteFailure(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (ERRNO.has(code) || code.startsWith('SQLITE_IOERR'));
}

/** `OUTBOX_WRITE_FAILED` naming what was written and where, or `e` itself when it is not a write failure. */
export function asWriteFailure(e: unknown, what: string, path: string): unknown {
  if (!isWriteFailure(e)) return e;
  const code = (e as { code: string }).code;
  return new LightNodeError(
    'OUTBOX_WRITE_FAILED',
    `store ${path}: ${what} failed (${code}: ${(e as Error).message}); rolled back, nothing accepted before is lost`,
    { path, what, cause: code },
    { cause: e },
  );
}
