/**
 * The sequence high-water file: `{v, deviceId, from, upTo}` written atomically and fsynced whenever the agent
 * reserves a new block of sequence numbers. Every seq ever used is < upTo. On start, an outbox whose next seq is
 * below `from` was restored from an older backup: the agent then jumps to `upTo` (and declares the skipped range),
 * so no seq is ever reused. Kept outside the database precisely so that restoring the database cannot rewind it.
 * The store keeps one for the sample seq (`seq.hwm`) and one for the message seq (`message-seq.hwm`).
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { LightNodeError } from '@lightnode/protocols';
import type { HighWaterMark, SeqReservation } from './backend.js';

export type { SeqReservation } from './backend.js';

/** A high-water file as the store's `HighWaterMark` (one per sequence: samples, messages). */
export function fileHighWater(path: string): HighWaterMark {
  return { read: () => readSeqFile(path), write: (r) => writeSeqFile(path, r) };
}

export function readSeqFile(path: string): SeqReservation | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new LightNodeError('IO_ERROR', `seq file ${path}: ${(e as Error).message}`, { path }, { cause: e });
  }
  try {
    const d = JSON.parse(text) as Partial<SeqReservation> & { v?: number };
    if (d.v !== 1 || typeof d.deviceId !== 'string' || !Number.isSafeInteger(d.from) || !Number.isSafeInteger(d.upTo))
      throw new Error('bad shape');
    return { deviceId: d.deviceId, from: d.from!, upTo: d.upTo! };
  } catch (e) {
    throw new LightNodeError(
      'IO_ERROR',
      `seq file ${path} is unreadable (${(e as Error).message}); refusing to guess a sequence number — restore it or remove it knowingly`,
      { path },
    );
  }
}

export function writeSeqFile(path: string, r: SeqReservation): void {
  writeFileDurably(path, JSON.stringify({ v: 1, ...r }) + '\n');
}

/** Writes `text` to `path` atomically and durably: a temporary file, fsync, rename over `path`, fsync of the directory. */
export function writeFileDurably(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dfd = openSync(dirname(path), 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}
