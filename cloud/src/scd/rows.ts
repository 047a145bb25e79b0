/**
 * The SCD's tables (the same SQL on SQLite and PostgreSQL) and one mapper per table from its database row to the
 * value the store returns.
 */
import type { AckState, SignedAck, SignedQosReport } from '@lightnode/protocols';
import type { ProofSource } from '../proof.js';

/** The columns every stored device message (ack, QoS report) has; (device_id, seq) is the device's message seq. */
const MESSAGE_COLUMNS = `device_id TEXT NOT NULL, seq BIGINT NOT NULL, setpoint_id TEXT NOT NULL, pod_id TEXT,
    at_ms BIGINT NOT NULL, message_json TEXT NOT NULL, signed_json TEXT NOT NULL, bal TEXT NOT NULL,
    received_ms BIGINT NOT NULL, stored_ms BIGINT NOT NULL`;

export const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS pods (
    pod_id TEXT PRIMARY KEY, aggregator TEXT NOT NULL, device_id TEXT, pom_id TEXT, pom_by TEXT,
    created_ms BIGINT NOT NULL, updated_ms BIGINT NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS pods_device ON pods (device_id)`,
  `CREATE TABLE IF NOT EXISTS baselines (
    pod_id TEXT NOT NULL, day TEXT NOT NULL, slots_json TEXT NOT NULL, updated_by TEXT NOT NULL,
    updated_ms BIGINT NOT NULL, PRIMARY KEY (pod_id, day))`,
  `CREATE TABLE IF NOT EXISTS setpoints (
    id TEXT PRIMARY KEY, pod_id TEXT NOT NULL, device_id TEXT, body_json TEXT NOT NULL, created_by TEXT NOT NULL,
    created_ms BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS market_outcomes (
    id TEXT PRIMARY KEY, day TEXT NOT NULL, slot INTEGER NOT NULL, pod_id TEXT NOT NULL, aggregator TEXT NOT NULL,
    kind TEXT NOT NULL, body_json TEXT NOT NULL, created_by TEXT NOT NULL, created_ms BIGINT NOT NULL,
    session TEXT NOT NULL DEFAULT '', player_request_id TEXT NOT NULL DEFAULT '')`,
  `CREATE TABLE IF NOT EXISTS batches (
    device_id TEXT NOT NULL, first_seq BIGINT NOT NULL, last_seq BIGINT NOT NULL, pod_id TEXT NOT NULL,
    digest TEXT NOT NULL, wire TEXT NOT NULL, window_root TEXT NOT NULL, window_index INTEGER NOT NULL,
    window_path TEXT NOT NULL, window_leaf_count INTEGER NOT NULL, window_start_ms BIGINT NOT NULL,
    tx_hash TEXT NOT NULL, block_number BIGINT NOT NULL, chain_id BIGINT NOT NULL, contract TEXT NOT NULL,
    key_register TEXT NOT NULL, bal TEXT NOT NULL, stored_ms BIGINT NOT NULL, PRIMARY KEY (device_id, first_seq))`,
  `CREATE TABLE IF NOT EXISTS anchors (
    tx_hash TEXT PRIMARY KEY, root TEXT NOT NULL, anchorer TEXT NOT NULL, block_number BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS measurements (
    device_id TEXT NOT NULL, seq BIGINT NOT NULL, pod_id TEXT NOT NULL, ts_ms BIGINT NOT NULL,
    batch_first_seq BIGINT NOT NULL, sample_json TEXT NOT NULL, PRIMARY KEY (device_id, seq))`,
  `CREATE INDEX IF NOT EXISTS measurements_pod_ts ON measurements (pod_id, ts_ms)`,
  `CREATE TABLE IF NOT EXISTS declared_gaps (
    device_id TEXT NOT NULL, first_seq BIGINT NOT NULL, last_seq BIGINT NOT NULL, reason TEXT NOT NULL,
    energy_import_wh BIGINT NOT NULL, energy_export_wh BIGINT NOT NULL, signed_json TEXT NOT NULL,
    received_ms BIGINT NOT NULL, PRIMARY KEY (device_id, first_seq))`,
  `CREATE TABLE IF NOT EXISTS acks (${MESSAGE_COLUMNS}, state TEXT NOT NULL, reason TEXT NOT NULL,
    applied_power_w BIGINT NOT NULL, PRIMARY KEY (device_id, seq))`,
  `CREATE INDEX IF NOT EXISTS acks_setpoint ON acks (setpoint_id)`,
  `CREATE INDEX IF NOT EXISTS acks_pod ON acks (pod_id, at_ms)`,
  `CREATE TABLE IF NOT EXISTS qos_reports (${MESSAGE_COLUMNS}, slot_index INTEGER NOT NULL,
    requested_energy_wh BIGINT NOT NULL, baseline_energy_wh BIGINT NOT NULL, delivered_energy_wh BIGINT NOT NULL,
    PRIMARY KEY (device_id, seq))`,
  `CREATE INDEX IF NOT EXISTS qos_setpoint ON qos_reports (setpoint_id)`,
  `CREATE INDEX IF NOT EXISTS qos_pod ON qos_reports (pod_id, at_ms)`,
];
/** The SCD's outcome-row columns added after its first release (issue 12), for a database created before them. */
export const OUTCOME_COLUMNS_MIGRATION = [
  `ALTER TABLE market_outcomes ADD COLUMN session TEXT NOT NULL DEFAULT ''`,
  `ALTER TABLE market_outcomes ADD COLUMN player_request_id TEXT NOT NULL DEFAULT ''`,
];
export const OUTCOME_SESSION_INDEX = `CREATE INDEX IF NOT EXISTS market_outcomes_session ON market_outcomes (session, kind)`;

export interface PodRow {
  podId: string;
  aggregator: string;
  deviceId?: string;
  pomId?: string;
  createdMs: number;
  updatedMs: number;
}
export interface PodDb {
  pod_id: string;
  aggregator: string;
  device_id: string | null;
  pom_id: string | null;
  created_ms: number;
  updated_ms: number;
}
export const podFromDb = (r: PodDb): PodRow => ({
  podId: r.pod_id,
  aggregator: r.aggregator,
  ...(r.device_id ? { deviceId: r.device_id } : {}),
  ...(r.pom_id ? { pomId: r.pom_id } : {}),
  createdMs: r.created_ms,
  updatedMs: r.updated_ms,
});

export interface BaselineRow {
  podId: string;
  day: string;
  slotsW: number[];
  updatedBy: string;
  updatedMs: number;
}
export interface BaselineDb {
  pod_id: string;
  day: string;
  slots_json: string;
  updated_by: string;
  updated_ms: number;
}
export const baselineFromDb = (r: BaselineDb): BaselineRow => ({
  podId: r.pod_id,
  day: r.day,
  slotsW: JSON.parse(r.slots_json) as number[],
  updatedBy: r.updated_by,
  updatedMs: r.updated_ms,
});

export interface SetpointRow {
  id: string;
  podId: string;
  body: unknown;
  createdBy: string;
  createdMs: number;
}
export interface SetpointDb {
  id: string;
  pod_id: string;
  body_json: string;
  created_by: string;
  created_ms: number;
}
export const setpointFromDb = (r: SetpointDb): SetpointRow => ({
  id: r.id,
  podId: r.pod_id,
  body: JSON.parse(r.body_json) as unknown,
  createdBy: r.created_by,
  createdMs: r.created_ms,
});

/** A stored market outcome row: the row as written (service.ts `Bodies.outcome`), who wrote it and when. */
export interface OutcomeRow {
  id: string;
  session: string;
  day: string;
  slot: number;
  podId: string;
  aggregator: string;
  kind: 'market' | 'technical' | 'validated' | 'settlement';
  acceptedPValue: number;
  acceptedPPrice?: number | null;
  acceptedQValue?: number | null;
  acceptedQPrice?: number | null;
  acceptedP?: 'OK' | 'REJECTED';
  rejectionTypeP?: string | null;
  playerServiceId: string;
  playerRequestId: string;
  playerOfferId: string;
  settledkW?: number | null;
  amountEur?: number | null;
  createdBy: string;
  createdMs: number;
}
export interface OutcomeDb {
  body_json: string;
  created_by: string;
  created_ms: number;
}
export const outcomeFromDb = (r: OutcomeDb): OutcomeRow => ({
  ...(JSON.parse(r.body_json) as Omit<OutcomeRow, 'createdBy' | 'createdMs'>),
  createdBy: r.created_by,
  createdMs: r.created_ms,
});

export interface MeasurementRow {
  deviceId: string;
  seq: number;
  podId: string;
  tsMs: number;
  sample: unknown;
}
export interface MeasurementDb {
  device_id: string;
  seq: number;
  pod_id: string;
  ts_ms: number;
  sample_json: string;
}
export const measurementFromDb = (r: MeasurementDb): MeasurementRow => ({
  deviceId: r.device_id,
  seq: r.seq,
  podId: r.pod_id,
  tsMs: r.ts_ms,
  sample: JSON.parse(r.sample_json) as unknown,
});

/** A stored batch: what its proofs need (proof.ts `ProofSource`) and its seq range, PoD and digest. */
export interface BatchRow extends ProofSource {
  lastSeq: number;
  podId: string;
  digest: string;
  bal: string;
}
export interface BatchDb {
  device_id: string;
  first_seq: number;
  last_seq: number;
  pod_id: string;
  digest: string;
  wire: string;
  window_root: string;
  window_index: number;
  window_path: string;
  window_leaf_count: number;
  window_start_ms: number;
  tx_hash: string;
  block_number: number;
  chain_id: number;
  contract: string;
  key_register: string;
  bal: string;
}
export const batchFromDb = (r: BatchDb): BatchRow => ({
  deviceId: r.device_id,
  firstSeq: r.first_seq,
  lastSeq: r.last_seq,
  podId: r.pod_id,
  digest: r.digest,
  wire: r.wire,
  windowRoot: r.window_root,
  windowIndex: r.window_index,
  windowPath: JSON.parse(r.window_path) as string[],
  windowLeafCount: r.window_leaf_count,
  windowStartMs: r.window_start_ms,
  txHash: r.tx_hash,
  blockNumber: r.block_number,
  chainId: r.chain_id,
  contract: r.contract,
  keyRegister: r.key_register,
  bal: r.bal,
});

/** A hole in a device's stored seqs, marked declared when the device declared it (signed gap). */
export interface GapView {
  firstSeq: number;
  lastSeq: number;
  declared: boolean;
  reason?: string;
  energyImportWh?: number;
  energyExportWh?: number;
}
export interface DeclaredGapDb {
  first_seq: number;
  last_seq: number;
  reason: string;
  energy_import_wh: number;
  energy_export_wh: number;
}

/** What every stored device message carries: who sent it, its seq, the setpoint, the device's PoD, the signed JSON. */
interface MessageRowBase<S> {
  deviceId: string;
  seq: number;
  setpointId: string;
  /** The PoD the device was registered for in the SCD when the message was stored (absent: none). */
  podId?: string;
  atMs: number;
  receivedMs: number;
  bal: string;
  /** The device's signed message as it arrived (verify with `verifySigned` under the key register's domain). */
  signed: S;
}
interface MessageDbBase {
  device_id: string;
  seq: number;
  setpoint_id: string;
  pod_id: string | null;
  at_ms: number;
  signed_json: string;
  bal: string;
  received_ms: number;
}
const messageFromDb = <S>(r: MessageDbBase): MessageRowBase<S> => ({
  deviceId: r.device_id,
  seq: r.seq,
  setpointId: r.setpoint_id,
  ...(r.pod_id ? { podId: r.pod_id } : {}),
  atMs: r.at_ms,
  receivedMs: r.received_ms,
  bal: r.bal,
  signed: JSON.parse(r.signed_json) as S,
});

export interface AckRow extends MessageRowBase<SignedAck> {
  state: AckState;
  reason: string;
  appliedPowerW: number;
}
export interface AckDb extends MessageDbBase {
  state: AckState;
  reason: string;
  applied_power_w: number;
}
export const ackFromDb = (r: AckDb): AckRow => ({
  ...messageFromDb<SignedAck>(r),
  state: r.state,
  reason: r.reason,
  appliedPowerW: r.applied_power_w,
});

export interface QosRow extends MessageRowBase<SignedQosReport> {
  slotIndex: number;
  requestedEnergyWh: number;
  baselineEnergyWh: number;
  deliveredEnergyWh: number;
}
export interface QosDb extends MessageDbBase {
  slot_index: number;
  requested_energy_wh: number;
  baseline_energy_wh: number;
  delivered_energy_wh: number;
}
export const qosFromDb = (r: QosDb): QosRow => ({
  ...messageFromDb<SignedQosReport>(r),
  slotIndex: r.slot_index,
  requestedEnergyWh: r.requested_energy_wh,
  baselineEnergyWh: r.baseline_energy_wh,
  deliveredEnergyWh: r.delivered_energy_wh,
});
