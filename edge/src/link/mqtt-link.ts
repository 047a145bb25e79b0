/**
 * The device's MQTT link (mqtt.js), typed by the protocol's topic map. Our own connection policy, not mqtt.js's:
 * `reconnectPeriod: 0` and a fresh client per attempt, reconnecting with the one backoff policy (exponential, full
 * jitter, cap; MQTT.js reconnects at a fixed 1 s); a persistent session (clean = false; MQTT 5 session expiry 7 days);
 * QoS 1; keepalive 240 s by default (cellular NAT); a last-will `{"state":"offline"}` on the retained `status` topic;
 * MQTT 5 with topic aliases where the broker supports it, falling back to 3.1.1 (e.g. the embedded aedes broker).
 *
 * Inbound: on EVERY connection the device (re)subscribes to its subscribed leaves at QoS 1, whatever the CONNACK's
 * `sessionPresent` says — a broker restarted without persistence forgets the session, and a device that trusted the
 * flag would stay deaf. Payloads are decoded by `topicCodecs[leaf]`; what does not decode, and handlers that throw,
 * are counted (never fatal) and mqtt.js sends the PUBACK all the same.
 *
 * The durable queue is ours: what is in flight at a disconnect is simply published again from it (at least once).
 */
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import {
  Backoff,
  LightNodeError,
  isLightNodeError,
  parseTopic,
  silentLogger,
  topicCodecs,
  topics,
  type Clock,
  type InboundLeaf,
  type Logger,
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
} from './link.js';

export interface MqttLinkOptions {
  url: string;
  deviceId: string;
  clock: Clock;
  logger?: Logger;
  clientId?: string;
  username?: string;
  password?: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** Keepalive, s (default 240: below the idle timeout of most cellular NATs). */
  keepaliveS?: number;
  protocolVersion?: 4 | 5 | 'auto';
  /** Reconnect backoff base and cap, ms (default 1000 / 300000). */
  reconnectBaseMs?: number;
  reconnectMaxMs?: number;
  random?: () => number;
}

/**
 * The mqtt.js options the link connects with (MQTT `protocolVersion` 4 or 5): client id, persistent session, keepalive,
 * the retained last-will, TLS files, MQTT 5 session expiry and topic aliases. Exported so that measurements (the
 * cellular bench) send exactly the device's CONNECT.
 */
export function mqttLinkClientOptions(o: MqttLinkOptions, protocolVersion: 4 | 5): IClientOptions {
  const opts: IClientOptions = {
    clientId: o.clientId ?? `ln-${o.deviceId.slice(2, 14)}`,
    clean: false,
    keepalive: o.keepaliveS ?? 240,
    reconnectPeriod: 0,
    connectTimeout: 15_000,
    protocolVersion,
    will: {
      topic: topics.status(o.deviceId),
      payload: Buffer.from(JSON.stringify({ v: 1, deviceId: o.deviceId, state: 'offline' })),
      qos: 1,
      retain: true,
    },
    ...(o.username !== undefined ? { username: o.username } : {}),
    ...(o.password !== undefined ? { password: o.password } : {}),
    ...(o.caFile ? { ca: readFileSync(o.caFile) } : {}),
    ...(o.certFile ? { cert: readFileSync(o.certFile) } : {}),
    ...(o.keyFile ? { key: readFileSync(o.keyFile) } : {}),
  };
  if (protocolVersion === 5) {
    opts.properties = { sessionExpiryInterval: 7 * 24 * 3600 };
    opts.autoUseTopicAlias = true;
    opts.autoAssignTopicAlias = true;
  }
  return opts;
}

type AnyHandlers = InboundHandlers<InboundLeaf>;

/** The link's subscription options (`MqttLink.subOptions`): QoS 1, and retain handling 1 on MQTT 5. */
export function linkSubscribeOptions(protocolVersion: 4 | 5): { qos: 1; rh?: 1 } {
  return protocolVersion === 5 ? { qos: 1, rh: 1 } : { qos: 1 };
}

export class MqttLink implements Link {
  private client: MqttClient | null = null;
  private stopped = true;
  private readonly retry: Backoff;
  private cancelTimer: (() => void) | null = null;
  private useVersion: 4 | 5;
  private readonly handlers = new Map<InboundLeaf, Set<AnyHandlers>>();
  private readonly connectFns = new Set<() => void>();
  private readonly log: Logger;
  /** Socket byte counts of closed connections (live ones are read from the socket). */
  private closedOut = 0;
  private closedIn = 0;
  /**
   * The last TLS session (TLS 1.3 ticket) the broker gave, offered on the next connect: a resumed handshake sends no
   * certificates, about 2.8 KB less per reconnect on a metered link (bench/RESULTS.md § cellular).
   */
  private tlsSession: Buffer | undefined;
  private tlsResumes = 0;
  /** Whether the URL is a TLS one (mqtts:// or wss://). */
  private readonly tls: boolean;
  private readonly s: Omit<LinkStats, 'state' | 'since' | 'protocolVersion' | 'bytesOut' | 'bytesIn'> =
    newLinkCounters();
  state: LinkState = 'disconnected';
  since: number;

  constructor(private readonly o: MqttLinkOptions) {
    this.useVersion = o.protocolVersion === 4 ? 4 : 5;
    this.tls = /^(mqtts|wss):/i.test(o.url);
    this.since = o.clock.now();
    this.log = (o.logger ?? silentLogger).child({ component: 'link' });
    this.retry = new Backoff(
      { baseMs: o.reconnectBaseMs ?? 1000, maxMs: o.reconnectMaxMs ?? 300_000, jitter: 'full' },
      o.random,
    );
  }

  get protocolVersion(): 4 | 5 {
    return this.useVersion;
  }

  get lastError(): { code: string; message: string } | undefined {
    return this.s.lastError;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  private setState(s: LinkState): void {
    if (this.state !== s) {
      this.state = s;
      this.since = this.o.clock.now();
    }
  }

  private options(): IClientOptions {
    return mqttLinkClientOptions(this.o, this.useVersion);
  }

  private connect(): void {
    if (this.stopped) return;
    this.setState('connecting');
    let connacked = false;
    const tls = this.tls;
    const opts: IClientOptions & { session?: Buffer } = this.options();
    if (tls && this.tlsSession) opts.session = this.tlsSession;
    const client = mqtt.connect(this.o.url, opts);
    this.client = client;
    const stream = client.stream as (Socket & { isSessionReused?: () => boolean }) | undefined;
    if (tls) stream?.on('session', (ticket: Buffer) => (this.tlsSession = ticket));
    // no Nagle: an ack or a PUBACK (a few bytes) must not wait up to a delayed-ACK period (40 ms) behind the last one
    if (typeof stream?.setNoDelay === 'function') stream.setNoDelay(true);
    client.on('connect', (ack) => {
      connacked = true;
      this.retry.reset();
      delete this.s.lastError;
      this.s.connects++;
      const tlsResumed = tls && stream?.isSessionReused?.() === true;
      if (tlsResumed) this.tlsResumes++;
      this.setState('connected');
      this.log.info('connected', {
        url: this.o.url,
        protocolVersion: this.useVersion,
        sessionPresent: ack.sessionPresent,
        ...(tls ? { tlsResumed } : {}),
      });
      this.resubscribe(client);
      for (const fn of this.connectFns) fn();
    });
    client.on('message', (topic, payload) => this.dispatch(topic, payload));
    client.on('error', (e: Error & { code?: number | string }) => {
      const auth = e.code === 4 || e.code === 5 || e.code === 134 || e.code === 135;
      this.s.lastError = { code: auth ? 'UPLINK_AUTH' : 'UPLINK_CONNECT', message: e.message };
      this.log.warn(auth ? 'broker refused the credentials' : 'connection error', {
        url: this.o.url,
        error: e.message,
        code: e.code,
      });
      // a broker that does not speak MQTT 5 answers CONNACK "unacceptable protocol version" (1 / 132)
      if (!connacked && this.o.protocolVersion !== 5 && this.useVersion === 5 && (e.code === 1 || e.code === 132))
        this.useVersion = 4;
    });
    client.on('close', () => {
      if (this.client !== client) return;
      if (!connacked && (this.o.protocolVersion ?? 'auto') === 'auto' && this.useVersion === 5 && !this.s.lastError)
        this.useVersion = 4;
      this.closedOut += stream?.bytesWritten ?? 0;
      this.closedIn += stream?.bytesRead ?? 0;
      this.client = null;
      client.removeAllListeners();
      client.on('error', () => undefined);
      client.end(true);
      this.setState('disconnected');
      this.schedule();
    });
  }

  /**
   * QoS 1; on MQTT 5 also "retain handling 1": retained messages (the signed config) only for a subscription the
   * broker did not have — a resumed session already got them, and what was published meanwhile is queued for it.
   * Saves the retained config on every reconnect of a metered link (bench/RESULTS.md § cellular).
   */
  private subOptions(): { qos: 1; rh?: 1 } {
    return linkSubscribeOptions(this.useVersion);
  }

  private resubscribe(client: MqttClient): void {
    const wanted = [...this.handlers].filter(([, set]) => set.size > 0).map(([leaf]) => leaf);
    if (!wanted.length) return;
    const subs = Object.fromEntries(wanted.map((leaf) => [topics[leaf](this.o.deviceId), this.subOptions()]));
    client.subscribe(subs, (err) => {
      if (err) this.log.warn('subscribe failed', { error: err.message, topics: Object.keys(subs) });
      else this.s.subscribeAcks++;
    });
  }

  private dispatch(topic: string, payload: Buffer): void {
    const parsed = parseTopic(topic);
    const leaf = parsed?.leaf as InboundLeaf | undefined;
    const set = leaf ? this.handlers.get(leaf) : undefined;
    if (!parsed || !leaf || !set || parsed.deviceId !== this.o.deviceId.toLowerCase()) {
      this.s.undecodable++;
      this.log.warn('message on an unexpected topic', { topic, bytes: payload.length });
      return;
    }
    this.s.received[leaf] = (this.s.received[leaf] ?? 0) + 1;
    let message: TopicPayloads[InboundLeaf];
    try {
      message = topicCodecs[leaf].decode(payload);
    } catch (e) {
      this.s.undecodable++;
      const err = isLightNodeError(e) ? e : new LightNodeError('DECODE_ERROR', String(e), { leaf }, { cause: e });
      this.log.warn('undecodable message', { leaf, bytes: payload.length, error: err.message });
      for (const h of set) this.guard(leaf, () => h.onInvalid?.(err, payload));
      return;
    }
    for (const h of set) this.guard(leaf, () => h.onMessage(message, payload));
  }

  /** Runs a handler: a throw or a rejection is counted and logged, never propagated. */
  private guard(leaf: InboundLeaf, fn: () => void | Promise<void>): void {
    const fail = (e: unknown): void => {
      this.s.handlerErrors++;
      this.log.error('inbound handler failed', { leaf, error: (e as Error)?.message ?? String(e) });
    };
    try {
      const r = fn();
      if (r && typeof r.then === 'function') r.catch(fail);
    } catch (e) {
      fail(e);
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    const delay = this.retry.next();
    this.cancelTimer = this.o.clock.setTimer(delay, () => this.connect());
  }

  publish<K extends OutboundLeaf>(
    leaf: K,
    payload: TopicPayloads[K] | Uint8Array,
    opts: PublishOptions = {},
  ): Promise<void> {
    const c = this.client;
    const topic = topics[leaf](this.o.deviceId);
    if (!c || this.state !== 'connected') {
      this.s.publishFailures++;
      return Promise.reject(new LightNodeError('UPLINK_CONNECT', `not connected to ${this.o.url}`, { topic }));
    }
    const bytes = payload instanceof Uint8Array ? payload : topicCodecs[leaf].encode(payload);
    const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return new Promise((resolve, reject) => {
      // A PUBACK that never comes on a live connection (a broker that dropped the PUBLISH; a middlebox that broke
      // the stream) would hold the in-flight window forever: MQTT resends only on a new connection. Past
      // max(60 s, 2 × keepalive) the connection is dropped, and the shipper sends again after the reconnect.
      const ackMs = Math.max(60_000, 2 * (this.o.keepaliveS ?? 240) * 1000);
      let settled = false;
      const cancel =
        (opts.qos ?? 1) > 0
          ? this.o.clock.setTimer(ackMs, () => {
              if (settled || this.client !== c) return;
              this.log.warn('no PUBACK in time: dropping the connection so that the publishes go again', {
                topic,
                ackMs,
              });
              c.stream?.destroy();
            })
          : () => undefined;
      c.publish(topic, buf, { qos: opts.qos ?? 1, retain: opts.retain ?? false }, (err) => {
        settled = true;
        cancel();
        if (!err) return resolve();
        this.s.publishFailures++;
        reject(
          new LightNodeError('UPLINK_CONNECT', `publish to ${topic} failed: ${err.message}`, { topic }, { cause: err }),
        );
      });
    });
  }

  subscribe<K extends InboundLeaf>(leaf: K, handlers: InboundHandlers<K>): () => void {
    const h = handlers as unknown as AnyHandlers;
    const set = this.handlers.get(leaf) ?? new Set<AnyHandlers>();
    this.handlers.set(leaf, set);
    const first = set.size === 0;
    set.add(h);
    if (first && this.client && this.state === 'connected')
      this.client.subscribe(topics[leaf](this.o.deviceId), this.subOptions(), (err) => {
        if (!err) this.s.subscribeAcks++;
      });
    return () => {
      set.delete(h);
      if (set.size === 0 && this.client && this.state === 'connected')
        this.client.unsubscribe(topics[leaf](this.o.deviceId));
    };
  }

  onConnect(fn: () => void): () => void {
    this.connectFns.add(fn);
    return () => this.connectFns.delete(fn);
  }

  stats(): LinkStats {
    const live = this.client?.stream as Socket | undefined;
    return {
      ...this.s,
      received: { ...this.s.received },
      ...(this.tls ? { tlsResumes: this.tlsResumes } : {}),
      state: this.state,
      since: this.since,
      protocolVersion: this.useVersion,
      bytesOut: this.closedOut + (live?.bytesWritten ?? 0),
      bytesIn: this.closedIn + (live?.bytesRead ?? 0),
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTimer?.();
    const c = this.client;
    this.client = null;
    if (c) {
      const stream = c.stream as Socket | undefined;
      await new Promise<void>((resolve) => c.end(false, {}, () => resolve()));
      this.closedOut += stream?.bytesWritten ?? 0;
      this.closedIn += stream?.bytesRead ?? 0;
    }
    this.setState('disconnected');
  }
}
