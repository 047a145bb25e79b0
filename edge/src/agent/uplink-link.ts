/**
 * TEMPORARY: the wave-1 `Uplink` behind the `Link` interface, until `MqttLink` (edge/src/link/mqtt-link.ts, same
 * constructor options) replaces it in wiring.ts. Publish only: inbound subscriptions are recorded, never served.
 */
import { topicCodecs, topics, type OutboundLeaf, type TopicPayloads, type InboundLeaf } from '@lightnode/protocols';
import { Uplink, type UplinkOptions } from '../uplink/index.js';
import type { InboundHandlers, Link, LinkState, LinkStats, PublishOptions } from '../link/link.js';

export class UplinkLink implements Link {
  private readonly uplink: Uplink;
  private readonly connectFns = new Set<() => void>();
  private connects = 0;
  private publishFailures = 0;

  constructor(private readonly o: UplinkOptions) {
    this.uplink = new Uplink({
      ...o,
      onConnect: () => {
        this.connects++;
        o.onConnect?.();
        for (const fn of this.connectFns) fn();
      },
    });
  }

  get state(): LinkState {
    return this.uplink.state;
  }
  get since(): number {
    return this.uplink.since;
  }
  start(): void {
    this.uplink.start();
  }
  stop(): Promise<void> {
    return this.uplink.stop();
  }

  publish<K extends OutboundLeaf>(
    leaf: K,
    payload: TopicPayloads[K] | Uint8Array,
    opts?: PublishOptions,
  ): Promise<void> {
    const bytes = payload instanceof Uint8Array ? payload : topicCodecs[leaf].encode(payload);
    return this.uplink.publish(topics[leaf](this.o.deviceId), Buffer.from(bytes), opts).catch((e: unknown) => {
      this.publishFailures++;
      throw e;
    });
  }

  subscribe<K extends InboundLeaf>(_leaf: K, _handlers: InboundHandlers<K>): () => void {
    return () => undefined;
  }

  onConnect(fn: () => void): () => void {
    this.connectFns.add(fn);
    return () => this.connectFns.delete(fn);
  }

  stats(): LinkStats {
    return {
      state: this.uplink.state,
      since: this.uplink.since,
      protocolVersion: this.uplink.protocolVersion,
      bytesOut: this.uplink.bytesOut,
      bytesIn: this.uplink.bytesIn,
      connects: this.connects,
      received: {},
      undecodable: 0,
      handlerErrors: 0,
      publishFailures: this.publishFailures,
      ...(this.uplink.lastError ? { lastError: this.uplink.lastError } : {}),
    };
  }
}
