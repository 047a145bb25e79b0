/**
 * The device's MQTT link, typed by the protocol's topic map: `publish(leaf, payload)` for what the device sends
 * (`OUTBOUND_LEAVES`), `subscribe(leaf, handler)` for what it receives (`INBOUND_LEAVES`: setpoint, config).
 * Topics are always `topics[leaf](deviceId)`; payloads go through `topicCodecs[leaf]` — no topic strings in callers.
 *
 * Inbound: a payload that does not decode is counted and handed to `onInvalid` (the setpoint controller acks it
 * with the reason); a handler that throws is counted and logged; neither is fatal, and the PUBACK still goes.
 */
import type { InboundLeaf, LightNodeError, OutboundLeaf, TopicPayloads } from '@lightnode/protocols';

export type LinkState = 'connected' | 'connecting' | 'disconnected';

export interface PublishOptions {
  /** Default 1. */
  qos?: 0 | 1;
  /** Default false. */
  retain?: boolean;
}

export interface InboundHandlers<K extends InboundLeaf> {
  onMessage(message: TopicPayloads[K], raw: Uint8Array): void | Promise<void>;
  /** A payload on the leaf's topic that did not decode (`DECODE_ERROR` / `SCHEMA_INVALID`). */
  onInvalid?(error: LightNodeError, raw: Uint8Array): void;
}

export interface LinkStats {
  state: LinkState;
  /** Epoch ms of the last state change. */
  since: number;
  protocolVersion: 4 | 5;
  /** Bytes written to / read from the socket, all MQTT framing included. */
  bytesOut: number;
  bytesIn: number;
  connects: number;
  /** Subscriptions the broker acknowledged (SUBACK), all connections together. */
  subscribeAcks: number;
  /** Inbound messages by leaf, decoded or not. */
  received: Partial<Record<InboundLeaf, number>>;
  undecodable: number;
  handlerErrors: number;
  publishFailures: number;
  /** TLS connects that resumed the previous connection's session (a ticket: no certificates on the wire). */
  tlsResumes?: number;
  lastError?: { code: string; message: string };
}

export interface Link {
  readonly state: LinkState;
  readonly since: number;
  start(): void;
  stop(): Promise<void>;
  /**
   * Publishes on `topics[leaf](deviceId)`; resolves on PUBACK (QoS 1), rejects `UPLINK_CONNECT` when not connected or
   * when the connection drops first. `payload` is either the typed value (encoded by the leaf's codec) or bytes
   * already encoded by it (the durable queue stores items encoded once).
   */
  publish<K extends OutboundLeaf>(
    leaf: K,
    payload: TopicPayloads[K] | Uint8Array,
    opts?: PublishOptions,
  ): Promise<void>;
  /**
   * Subscribes to the device's own `leaf` topic at QoS 1 (persistent session), on this and every later connection
   * whatever the broker's `sessionPresent` says. Returns an unsubscribe function.
   */
  subscribe<K extends InboundLeaf>(leaf: K, handlers: InboundHandlers<K>): () => void;
  /** Called on every (re)connection, after the subscriptions were renewed. Returns an unsubscribe function. */
  onConnect(fn: () => void): () => void;
  stats(): LinkStats;
}

/** Counters of a link that has not connected yet (shared by the real link and the fake). */
export function newLinkCounters(): Pick<
  LinkStats,
  'connects' | 'subscribeAcks' | 'received' | 'undecodable' | 'handlerErrors' | 'publishFailures'
> {
  return { connects: 0, subscribeAcks: 0, received: {}, undecodable: 0, handlerErrors: 0, publishFailures: 0 };
}
