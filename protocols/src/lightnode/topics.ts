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
 * | `ln/v1/{id}/config` | operator → device | 1 | yes | `ConfigDocument` JSON |
 */
import type { SignedBatch } from './batch.js';
import type { SignedAck, SignedGap, SignedQosReport, SignedSetpoint } from './messages.js';
import type { Quality } from './sample.js';

export const TOPIC_PREFIX = 'ln/v1';

export interface TopicPayloads {
  batch: SignedBatch;
  gap: SignedGap;
  status: StatusDocument;
  setpoint: SignedSetpoint;
  ack: SignedAck;
  qos: SignedQosReport;
  config: ConfigDocument;
}
export type TopicLeaf = keyof TopicPayloads;
export const TOPIC_LEAVES: readonly TopicLeaf[] = ['batch', 'gap', 'status', 'setpoint', 'ack', 'qos', 'config'];

export const topics: { [K in TopicLeaf]: (deviceId: string) => string } & { all(leaf: TopicLeaf): string } = {
  batch: (d) => `${TOPIC_PREFIX}/${d.toLowerCase()}/batch`,
  gap: (d) => `${TOPIC_PREFIX}/${d.toLowerCase()}/gap`,
  status: (d) => `${TOPIC_PREFIX}/${d.toLowerCase()}/status`,
  setpoint: (d) => `${TOPIC_PREFIX}/${d.toLowerCase()}/setpoint`,
  ack: (d) => `${TOPIC_PREFIX}/${d.toLowerCase()}/ack`,
  qos: (d) => `${TOPIC_PREFIX}/${d.toLowerCase()}/qos`,
  config: (d) => `${TOPIC_PREFIX}/${d.toLowerCase()}/config`,
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
}

/** A signed configuration document (operator → device). */
export interface ConfigDocument {
  v: number;
  deviceId: string;
  /** Monotonic config revision. */
  revision: number;
  /** The agent configuration (schema owned by the agent). */
  config: Record<string, unknown>;
  issuer: string;
  signature: string;
}
