/**
 * The one typed topic map of protocol v1 (MQTT). Every topic is `ln/v1/{deviceId}/{leaf}` with the device's
 * lowercase address. Payloads: `batch` = compact binary (see wire.ts); all others = UTF-8 JSON.
 *
 * | topic | direction | QoS | retained | payload |
 * |---|---|---|---|---|
 * | `ln/v1/{id}/batch` | device → cloud | 1 | no | `encodeBatchWire(SignedBatch)` |
 * | `ln/v1/{id}/gap` | device → cloud | 1 | no | `SignedGap` JSON |
 * | `ln/v1/{id}/status` | device → all | 1 | **yes**, last-will `{"state":"offline"}` | `StatusDocument` JSON |
 * | `ln/v1/{id}/setpoint` | operator → device | 1 | no | `SignedSetpoint` JSON |
 * | `ln/v1/{id}/ack` | device → operator | 1 | no | `SignedAck` JSON |
 * | `ln/v1/{id}/qos` | device → operator | 1 | no | `SignedQosReport` JSON |
 * | `ln/v1/{id}/config` | operator → device | 1 | yes | `SignedConfig` JSON |
 * | `ln/v1/{id}/report` | device → operator | 1 | no | `ReportDocument` JSON (`SignedConfigAck`, `SignedCommissioning`) |
 *
 * Route through this map: `topics[leaf](deviceId)` builds a topic, `parseTopic` reads one, and `topicCodecs[leaf]`
 * is the one codec of each leaf's payload, used by the device and the cloud alike.
 */
import type { SignedBatch } from './batch.js';
import type { SignedAck, SignedGap, SignedQosReport, SignedSetpoint } from './messages.js';
import type { SignedConfig } from './provisioning.js';
import type { Quality } from './sample.js';
import { decodeBatchWire, encodeBatchWire } from './wire.js';
import { LightNodeError, describeValue, invalidField } from '../errors.js';

export const TOPIC_PREFIX = 'ln/v1';

export interface TopicPayloads {
  batch: SignedBatch;
  gap: SignedGap;
  status: StatusDocument;
  setpoint: SignedSetpoint;
  ack: SignedAck;
  qos: SignedQosReport;
  config: SignedConfig;
  report: ReportDocument;
}
export type TopicLeaf = keyof TopicPayloads;
export const TOPIC_LEAVES: readonly TopicLeaf[] = [
  'batch',
  'gap',
  'status',
  'setpoint',
  'ack',
  'qos',
  'config',
  'report',
];
/** Leaves the device subscribes to (operator → device). */
export const INBOUND_LEAVES = ['setpoint', 'config'] as const satisfies readonly TopicLeaf[];
export type InboundLeaf = (typeof INBOUND_LEAVES)[number];
/** Leaves the device publishes (device → cloud / operator / all). */
export const OUTBOUND_LEAVES = [
  'batch',
  'gap',
  'status',
  'ack',
  'qos',
  'report',
] as const satisfies readonly TopicLeaf[];
export type OutboundLeaf = (typeof OUTBOUND_LEAVES)[number];

export const topics: { [K in TopicLeaf]: (deviceId: string) => string } & { all(leaf: TopicLeaf): string } = {
  batch: (d) => `${TOPIC_PREFIX}/${d.toLowerCase()}/batch`,
  gap: (d) => `${TOPIC_PREFIX}/${d.toLowerCase()}/gap`,
  status: (d) => `${TOPIC_PREFIX}/${d.toLowerCase()}/status`,
  setpoint: (d) => `${TOPIC_PREFIX}/${d.toLowerCase()}/setpoint`,
  ack: (d) => `${TOPIC_PREFIX}/${d.toLowerCase()}/ack`,
  qos: (d) => `${TOPIC_PREFIX}/${d.toLowerCase()}/qos`,
  config: (d) => `${TOPIC_PREFIX}/${d.toLowerCase()}/config`,
  report: (d) => `${TOPIC_PREFIX}/${d.toLowerCase()}/report`,
  /** Wildcard subscription for one leaf across devices, e.g. `ln/v1/+/batch`. */
  all: (leaf) => `${TOPIC_PREFIX}/+/${leaf}`,
};

/** Parses `ln/v1/{deviceId}/{leaf}`; null for anything else. */
export function parseTopic(topic: string): { deviceId: string; leaf: TopicLeaf } | null {
  const m = /^ln\/v1\/(0x[0-9a-f]{40})\/([a-z]+)$/.exec(topic);
  if (!m || !(TOPIC_LEAVES as readonly string[]).includes(m[2]!)) return null;
  return { deviceId: m[1]!, leaf: m[2] as TopicLeaf };
}

/** The retained status document (also what `lightnode status --json` prints). */
export interface StatusDocument {
  v: number;
  deviceId: string;
  state: 'online' | 'offline' | 'degraded';
  atMs: number;
  meters?: {
    id: string;
    quality: Quality;
    lastGoodMs?: number;
    errors: number;
    latencyMs?: number;
  }[];
  outbox?: {
    depthSamples: number;
    depthBatches: number;
    oldestUndeliveredMs?: number;
    bytes: number;
    quotaBytes: number;
  };
  link?: { state: 'connected' | 'connecting' | 'disconnected'; since: number; protocolVersion?: 4 | 5 };
  timeSync?: { synchronized: boolean; source?: string };
  /** Active alarms, each an error code with a message, e.g. `OUTBOX_FULL`. */
  alarms?: { code: string; message: string; sinceMs: number }[];
  /** The configuration in force: `base` (the local file), or a remote revision `applied` or `pending` its health check. */
  config?: { revision: number; configHash: string; state: 'applied' | 'pending' | 'base' };
}

/**
 * A device → operator report (JSON object with a `kind`): config acks, commissioning reports. The kinds and their
 * signed envelopes are defined by the provisioning messages; this leaf only fixes the outer shape.
 */
export interface ReportDocument {
  kind: string;
  [field: string]: unknown;
}

/** The codec of one leaf's payload. `decode` throws `DECODE_ERROR` (bad bytes / JSON) or `SCHEMA_INVALID` (shape). */
export interface TopicCodec<T> {
  encode(payload: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

function parseJson(
  leaf: TopicLeaf,
  bytes: Uint8Array,
  notObject: 'SCHEMA_INVALID' | 'DECODE_ERROR' = 'SCHEMA_INVALID',
): Record<string, unknown> {
  let x: unknown;
  try {
    x = JSON.parse(utf8.decode(bytes));
  } catch (e) {
    throw new LightNodeError('DECODE_ERROR', `${leaf}: payload is not UTF-8 JSON (${(e as Error).message})`, {
      leaf,
      bytes: bytes.length,
    });
  }
  if (!isObj(x)) throw invalidField(notObject, leaf, 'a JSON object', x, { leaf });
  return x;
}

/**
 * A signed message envelope `{kind, message, signature}` (plus the signed-by-hash `objects`, e.g. `config`). Anything that is not that envelope is `DECODE_ERROR`;
 * the message's fields (`SCHEMA_INVALID`) and the signature are checked at verify.
 */
function signedCodec<T extends { kind: string }>(
  leaf: TopicLeaf & T['kind'],
  objects: readonly string[] = [],
): TopicCodec<T> {
  const notEnvelope = (why: string): LightNodeError =>
    new LightNodeError('DECODE_ERROR', `${leaf}: not a {kind, message, signature} envelope: ${why}`, { leaf });
  return {
    encode: (p) => Buffer.from(JSON.stringify(p)),
    decode: (bytes) => {
      const x = parseJson(leaf, bytes, 'DECODE_ERROR');
      if (x.kind !== leaf) throw notEnvelope(`kind is ${describeValue(x.kind)}, expected ${JSON.stringify(leaf)}`);
      if (!isObj(x.message)) throw notEnvelope(`message is ${describeValue(x.message)}, expected an object`);
      if (typeof x.signature !== 'string') throw notEnvelope(`signature is ${describeValue(x.signature)}`);
      for (const k of objects)
        if (!isObj(x[k])) throw notEnvelope(`${k} is ${describeValue(x[k])}, expected an object`);
      const known = new Set(['kind', 'message', 'signature', ...objects]);
      const extra = Object.keys(x).filter((k) => !known.has(k));
      if (extra.length) throw notEnvelope(`unknown field ${extra.map((k) => JSON.stringify(k)).join(', ')}`);
      return x as unknown as T;
    },
  };
}

function jsonCodec<T>(leaf: TopicLeaf, check: (x: Record<string, unknown>) => void): TopicCodec<T> {
  return {
    encode: (p) => Buffer.from(JSON.stringify(p)),
    decode: (bytes) => {
      const x = parseJson(leaf, bytes);
      check(x);
      return x as T;
    },
  };
}

const need = (leaf: string, x: Record<string, unknown>, k: string, type: 'string' | 'number' | 'object'): void => {
  const v = x[k];
  const ok = type === 'object' ? isObj(v) : typeof v === type;
  if (!ok) throw invalidField('SCHEMA_INVALID', `${leaf}.${k}`, `a ${type}`, v);
};

/** The one codec per leaf, shared by the device and the cloud. */
export const topicCodecs: { [K in TopicLeaf]: TopicCodec<TopicPayloads[K]> } = {
  batch: {
    encode: (b) => encodeBatchWire(b),
    decode: (bytes) => decodeBatchWire(bytes),
  },
  gap: signedCodec<SignedGap>('gap'),
  setpoint: signedCodec<SignedSetpoint>('setpoint'),
  ack: signedCodec<SignedAck>('ack'),
  qos: signedCodec<SignedQosReport>('qos'),
  status: jsonCodec<StatusDocument>('status', (x) => {
    need('status', x, 'deviceId', 'string');
    if (!['online', 'offline', 'degraded'].includes(x.state as string))
      throw invalidField('SCHEMA_INVALID', 'status.state', 'online | offline | degraded', x.state);
  }),
  config: signedCodec<SignedConfig>('config', ['config']),
  report: jsonCodec<ReportDocument>('report', (x) => need('report', x, 'kind', 'string')),
};
