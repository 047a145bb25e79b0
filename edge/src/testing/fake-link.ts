/**
 * An in-memory `Link` for agent tests: records what was published, lets the test acknowledge (PUBACK), fail or hold
 * each publish, deliver inbound messages through the real codecs, and connect / disconnect at will.
 */
import {
  LightNodeError,
  isLightNodeError,
  topicCodecs,
  type InboundLeaf,
  type OutboundLeaf,
  type TopicPayloads,
} from '@lightnode/protocols';
import {
  newLinkCounters,
  type InboundHandlers,
  type Link,
  type LinkState,
  type LinkStats,
  type PublishOptions,
} from '../link/link.js';

export interface FakePublish {
  leaf: OutboundLeaf;
  payload: Uint8Array;
  opts: PublishOptions;
  /** Completes the publish as a PUBACK would. */
  ack(): void;
  /** Fails it as a dropped connection would. */
  fail(message?: string): void;
  settled: boolean;
}

export class FakeLink implements Link {
  state: LinkState = 'disconnected';
  since = 0;
  /** Every publish, in order (settled ones stay). */
  readonly published: FakePublish[] = [];
  /** When true (default), publishes are acknowledged at once. */
  autoAck = true;
  private readonly handlers = new Map<InboundLeaf, Set<InboundHandlers<InboundLeaf>>>();
  private readonly connectFns = new Set<() => void>();
  private readonly s: LinkStats = {
    state: 'disconnected',
    since: 0,
    protocolVersion: 5,
    bytesOut: 0,
    bytesIn: 0,
    ...newLinkCounters(),
  };

  constructor(private readonly now: () => number = () => 0) {}

  start(): void {
    this.connect();
  }

  async stop(): Promise<void> {
    this.disconnect();
    return Promise.resolve();
  }

  /** Brings the link up and calls the onConnect listeners. */
  connect(): void {
    this.setState('connected');
    this.s.connects++;
    for (const fn of this.connectFns) fn();
  }

  /** Drops the link: publishes not yet acknowledged fail. */
  disconnect(): void {
    this.setState('disconnected');
    for (const p of this.published) if (!p.settled) p.fail('connection lost');
  }

  private setState(s: LinkState): void {
    if (s === this.state) return;
    this.state = s;
    this.since = this.now();
    this.s.state = s;
    this.s.since = this.since;
  }

  publish<K extends OutboundLeaf>(
    leaf: K,
    payload: TopicPayloads[K] | Uint8Array,
    opts: PublishOptions = {},
  ): Promise<void> {
    if (this.state !== 'connected') {
      this.s.publishFailures++;
      return Promise.reject(new LightNodeError('UPLINK_CONNECT', 'FakeLink: not connected', {}));
    }
    const bytes = payload instanceof Uint8Array ? payload : topicCodecs[leaf].encode(payload);
    this.s.bytesOut += bytes.length;
    return new Promise<void>((resolve, reject) => {
      const p: FakePublish = {
        leaf,
        payload: bytes,
        opts,
        settled: false,
        ack: () => {
          if (p.settled) return;
          p.settled = true;
          resolve();
        },
        fail: (message = 'publish failed') => {
          if (p.settled) return;
          p.settled = true;
          this.s.publishFailures++;
          reject(new LightNodeError('UPLINK_CONNECT', `FakeLink: ${message}`, {}));
        },
      };
      this.published.push(p);
      if (this.autoAck) p.ack();
    });
  }

  subscribe<K extends InboundLeaf>(leaf: K, handlers: InboundHandlers<K>): () => void {
    const set = this.handlers.get(leaf) ?? new Set();
    this.handlers.set(leaf, set);
    set.add(handlers);
    return () => set.delete(handlers);
  }

  onConnect(fn: () => void): () => void {
    this.connectFns.add(fn);
    return () => this.connectFns.delete(fn);
  }

  /** Delivers an inbound payload (bytes or a typed value) to the leaf's handlers, decoding it like the real link. */
  async deliver<K extends InboundLeaf>(leaf: K, payload: TopicPayloads[K] | Uint8Array | string): Promise<void> {
    const raw =
      typeof payload === 'string'
        ? Buffer.from(payload)
        : payload instanceof Uint8Array
          ? payload
          : topicCodecs[leaf].encode(payload as never);
    this.s.received[leaf] = (this.s.received[leaf] ?? 0) + 1;
    this.s.bytesIn += raw.length;
    let value: TopicPayloads[K];
    try {
      value = topicCodecs[leaf].decode(raw);
    } catch (e) {
      this.s.undecodable++;
      if (isLightNodeError(e)) for (const h of this.handlers.get(leaf) ?? []) h.onInvalid?.(e, raw);
      return;
    }
    for (const h of this.handlers.get(leaf) ?? [])
      try {
        await h.onMessage(value, raw);
      } catch {
        this.s.handlerErrors++;
      }
  }

  /** Publishes of one leaf, decoded. */
  sent<K extends OutboundLeaf>(leaf: K): TopicPayloads[K][] {
    return this.published.filter((p) => p.leaf === leaf).map((p) => topicCodecs[leaf].decode(p.payload));
  }

  stats(): LinkStats {
    return { ...this.s, received: { ...this.s.received } };
  }
}
