/**
 * The BAL ledger's tables (SQLite) and rows: accepted batches, anchor windows, per-device high seqs, observed and
 * declared gaps, verified device messages (acks, QoS reports) waiting for the SCD, the dead-letter log; one mapper
 * per table, and seq-range arithmetic.
 */
import { LightNodeError } from '@lightnode/protocols';

/** Storage failures (disk full, closed file) become IO_ERROR: the caller must not acknowledge the message. */
export function ledgerIo<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof LightNodeError) throw e;
    throw new LightNodeError('IO_ERROR', `BAL ledger: ${what} failed (${(e as Error).message})`, {}, { cause: e });
  }
}
export interface LedgerBatch {
  deviceId: string;
  firstSeq: number;
  lastSeq: number;
  /** 0x hex EIP-712 digest of the batch header. */
  digest: string;
  wire: Uint8Array;
  receivedMs: number;
}

export interface SeqRange {
  firstSeq: number;
  lastSeq: number;
}

export interface WindowRow {
  id: number;
  startMs: number;
  endMs: number;
  root: string;
  leafCount: number;
  state: 'sealed' | 'anchored' | 'forwarded';
  txHash?: string;
  blockNumber?: number;
  contract?: string;
  chainId?: number;
  anchorer?: string;
  anchoredAtS?: number;
  attempts: number;
}

export interface WindowBatch {
  deviceId: string;
  firstSeq: number;
  digest: string;
  wire: Uint8Array;
  index: number;
  path: string[];
}

export interface GapRow extends SeqRange {
  deviceId: string;
  kind: 'observed' | 'declared';
  reason: string;
  energyImportWh: number;
  energyExportWh: number;
  atMs: number;
  /** The device's signed declaration (JSON), for declared gaps. */
  signed?: string;
}

export interface DeadLetter {
  id: number;
  atMs: number;
  topic: string;
  deviceId?: string;
  code: string;
  message: string;
  bytes: number;
}

export const LEDGER_SCHEMA = `
CREATE TABLE IF NOT EXISTS batches (
  device_id TEXT NOT NULL, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL, digest TEXT NOT NULL,
  wire BLOB, received_ms INTEGER NOT NULL, window_id INTEGER, window_index INTEGER,
  PRIMARY KEY (device_id, first_seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS batches_unassigned ON batches (window_id) WHERE window_id IS NULL;
CREATE INDEX IF NOT EXISTS batches_window ON batches (window_id, window_index);
CREATE TABLE IF NOT EXISTS windows (
  id INTEGER PRIMARY KEY, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, root TEXT NOT NULL,
  leaf_count INTEGER NOT NULL, state TEXT NOT NULL, tx_hash TEXT, block_number INTEGER, contract TEXT,
  chain_id INTEGER, anchorer TEXT, anchored_at_s INTEGER, attempts INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS devices (device_id TEXT PRIMARY KEY, high_seq INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS gaps (
  device_id TEXT NOT NULL, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL, kind TEXT NOT NULL,
  reason TEXT NOT NULL, energy_import_wh INTEGER NOT NULL, energy_export_wh INTEGER NOT NULL, at_ms INTEGER NOT NULL,
  signed TEXT, forwarded INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (device_id, first_seq, kind)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS messages (
  device_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, canonical TEXT NOT NULL, signed TEXT NOT NULL,
  received_ms INTEGER NOT NULL, forwarded INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (device_id, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS messages_unforwarded ON messages (received_ms) WHERE forwarded = 0;
CREATE TABLE IF NOT EXISTS dead_letters (
  id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, topic TEXT NOT NULL, device_id TEXT, code TEXT NOT NULL,
  message TEXT NOT NULL, payload BLOB
);
`;

export interface GapDbRow {
  device_id: string;
  first_seq: number;
  last_seq: number;
  kind: 'observed' | 'declared';
  reason: string;
  energy_import_wh: number;
  energy_export_wh: number;
  at_ms: number;
  signed: string | null;
}

export function gapFromDb(r: GapDbRow): GapRow {
  return {
    deviceId: r.device_id,
    firstSeq: r.first_seq,
    lastSeq: r.last_seq,
    kind: r.kind,
    reason: r.reason,
    energyImportWh: r.energy_import_wh,
    energyExportWh: r.energy_export_wh,
    atMs: r.at_ms,
    ...(r.signed ? { signed: r.signed } : {}),
  };
}

export interface WindowDbRow {
  id: number;
  start_ms: number;
  end_ms: number;
  root: string;
  leaf_count: number;
  state: WindowRow['state'];
  tx_hash: string | null;
  block_number: number | null;
  contract: string | null;
  chain_id: number | null;
  anchorer: string | null;
  anchored_at_s: number | null;
  attempts: number;
}

export function windowFromDb(r: WindowDbRow): WindowRow {
  return {
    id: r.id,
    startMs: r.start_ms,
    endMs: r.end_ms,
    root: r.root,
    leafCount: r.leaf_count,
    state: r.state,
    attempts: r.attempts,
    ...(r.tx_hash ? { txHash: r.tx_hash } : {}),
    ...(r.block_number !== null ? { blockNumber: r.block_number } : {}),
    ...(r.contract ? { contract: r.contract } : {}),
    ...(r.chain_id !== null ? { chainId: r.chain_id } : {}),
    ...(r.anchorer ? { anchorer: r.anchorer } : {}),
    ...(r.anchored_at_s !== null ? { anchoredAtS: r.anchored_at_s } : {}),
  };
}

/** a − b as 0, 1 or 2 ranges. */
export function minus(a: SeqRange, b: SeqRange): SeqRange[] {
  if (b.lastSeq < a.firstSeq || b.firstSeq > a.lastSeq) return [a];
  const out: SeqRange[] = [];
  if (b.firstSeq > a.firstSeq) out.push({ firstSeq: a.firstSeq, lastSeq: b.firstSeq - 1 });
  if (b.lastSeq < a.lastSeq) out.push({ firstSeq: b.lastSeq + 1, lastSeq: a.lastSeq });
  return out;
}

/** A verified ack or QoS report in the ledger (kept after forwarding, for dedupe on (deviceId, seq)). */
export interface MessageRow {
  deviceId: string;
  seq: number;
  kind: 'ack' | 'qos';
  /** ingest/schema.ts `canonicalMessage`: the message's identity. */
  canonical: string;
  /** `{kind, message, signature}` JSON as it arrived. */
  signed: string;
  receivedMs: number;
}
export interface MessageDbRow {
  device_id: string;
  seq: number;
  kind: 'ack' | 'qos';
  canonical: string;
  signed: string;
  received_ms: number;
}
export const messageFromDb = (r: MessageDbRow): MessageRow => ({
  deviceId: r.device_id,
  seq: r.seq,
  kind: r.kind,
  canonical: r.canonical,
  signed: r.signed,
  receivedMs: r.received_ms,
});
