/**
 * The BAL on MQTT: subscribes to `ln/v1/+/batch`, `…/gap`, `…/ack` and `…/qos` (`BAL_LEAVES`) at QoS 1 with a persistent session, and
 * acknowledges a message only after the ledger committed it (mqtt.js `handleMessage`), so a crash between
 * receipt and commit means a redelivery, never a loss. With `shared`, it joins the MQTT 5 shared subscription
 * `$share/{group}/…` (Mosquitto, EMQX) so that several instances split the load; aedes (MQTT 3.1.1) gets a plain
 * subscription.
 *
 * It subscribes again on every CONNACK, whatever `sessionPresent` says: a broker that lost the session (restarted
 * without persistence, expired it) would otherwise leave the BAL deaf. Reconnects follow our backoff (full jitter,
 * a cap) on the injected clock, not mqtt.js's fixed period.
 */
import mqtt, { type MqttClient } from 'mqtt';
import {
  Backoff,
  LightNodeError,
  parseTopic,
  silentLogger,
  systemClock,
  topics,
  type BackoffPolicy,
  type Clock,
  type Logger,
  type TopicLeaf,
} from '@lightnode/protocols';
import type { Bal } from './service.js';

export interface BalMqttOptions {
  url: string;
  clientId: string;
  shared?: { group: string };
  username?: string;
  password?: string;
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  log?: Logger;
  /** Reconnect policy (default 500 ms doubling to 30 s, full jitter). */
  reconnect?: BackoffPolicy;
  clock?: Clock;
  random?: () => number;
}

/** Default reconnect policy of the BAL. */
export const BAL_RECONNECT: BackoffPolicy = { baseMs: 500, maxMs: 30_000, jitter: 'full' };

/** The topic leaves the BAL takes (device → cloud). */
export const BAL_LEAVES = ['batch', 'gap', 'ack', 'qos'] as const satisfies readonly TopicLeaf[];
type BalLeaf = (typeof BAL_LEAVES)[number];
const isBalLeaf = (leaf: string | undefined): leaf is BalLeaf => (BAL_LEAVES as readonly string[]).includes(leaf ?? '');

export class BalMqtt {
  private client: MqttClient | undefined;
  private stopping = false;
  private cancelReconnect: (() => void) | undefined;
  /** Messages received per leaf (`other` = a topic that is not ours), and subscriptions made (one per CONNACK). */
  readonly received: Record<BalLeaf | 'other', number> = { batch: 0, gap: 0, ack: 0, qos: 0, other: 0 };
  readonly connections = { connects: 0, subscribes: 0, sessionPresent: 0 };

  constructor(
    private readonly bal: Pick<Bal, 'ingest'>,
    private readonly o: BalMqttOptions,
  ) {}

  filters(): string[] {
    const base = BAL_LEAVES.map((leaf) => topics.all(leaf));
    return this.o.shared ? base.map((t) => `$share/${this.o.shared!.group}/${t}`) : base;
  }

  private subscribe(client: MqttClient): Promise<void> {
    return new Promise((resolve, reject) => {
      client.subscribe(this.filters(), { qos: 1 }, (err, granted) => {
        if (err) return reject(new LightNodeError('UPLINK_CONNECT', `BAL: subscribe refused (${err.message})`, {}));
        const bad = (granted ?? []).find((g) => g.qos > 2);
        if (bad)
          return reject(new LightNodeError('UPLINK_AUTH', `BAL: the broker refused the subscription ${bad.topic}`, {}));
        this.connections.subscribes += 1;
        resolve();
      });
    });
  }

  async start(timeoutMs = 15_000): Promise<void> {
    const log = this.o.log ?? silentLogger;
    const clock = this.o.clock ?? systemClock;
    const retry = new Backoff(this.o.reconnect ?? BAL_RECONNECT, this.o.random);
    this.stopping = false;
    const client = mqtt.connect(this.o.url, {
      clientId: this.o.clientId,
      protocolVersion: this.o.shared ? 5 : 4,
      clean: false,
      ...(this.o.shared ? { properties: { sessionExpiryInterval: 3600 } } : {}),
      reconnectPeriod: 0, // our backoff, below
      resubscribe: false, // ours, on every CONNACK
      connectTimeout: 10_000,
      ...(this.o.username ? { username: this.o.username } : {}),
      ...(this.o.password ? { password: this.o.password } : {}),
      ...(this.o.ca ? { ca: this.o.ca } : {}),
      ...(this.o.cert ? { cert: this.o.cert } : {}),
      ...(this.o.key ? { key: this.o.key } : {}),
    });
    // mqtt.js calls handleMessage before it sends the PUBACK, one message at a time (backpressure), for MQTT 3.1.1
    // and 5 alike (its customHandleAcks works only on MQTT 5).
    client.handleMessage = (packet, callback) => {
      const topic = packet.topic;
      const leaf = parseTopic(topic)?.leaf;
      this.received[isBalLeaf(leaf) ? leaf : 'other'] += 1;
      const bytes = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
      this.bal.ingest(topic, bytes).then(
        () => callback(),
        (e: unknown) => {
          // the ledger could not commit (disk full, I/O): no PUBACK, the broker redelivers after a reconnect
          log.error('ledger commit failed; message left unacknowledged', { topic, error: (e as Error).message });
          callback(e as Error);
        },
      );
    };
    this.client = client;
    client.on('error', (e) => log.warn('BAL MQTT error', { error: e.message }));
    client.on('close', () => {
      if (this.stopping || this.cancelReconnect) return;
      const delayMs = retry.next();
      log.debug('BAL MQTT reconnecting', { url: this.o.url, delayMs, attempt: retry.attempt });
      this.cancelReconnect = clock.setTimer(delayMs, () => {
        this.cancelReconnect = undefined;
        if (!this.stopping) client.reconnect();
      });
    });
    const first = new Promise<void>((resolve, reject) => {
      client.on('connect', (ack) => {
        retry.reset();
        this.connections.connects += 1;
        if (ack.sessionPresent) this.connections.sessionPresent += 1;
        this.subscribe(client).then(
          () => {
            log.info('BAL subscribed', {
              url: this.o.url,
              filters: this.filters(),
              sessionPresent: ack.sessionPresent,
            });
            resolve();
          },
          (e: Error) => {
            log.error('BAL subscribe failed', { error: e.message });
            reject(e);
          },
        );
      });
    });
    let cancelTimeout: (() => void) | undefined;
    const timeout = new Promise<never>((_, reject) => {
      cancelTimeout = clock.setTimer(timeoutMs, () =>
        reject(
          new LightNodeError(
            'UPLINK_CONNECT',
            `BAL: broker ${this.o.url} did not accept a connection in ${timeoutMs} ms`,
            {},
          ),
        ),
      );
    });
    try {
      await Promise.race([first, timeout]);
    } catch (e) {
      await this.stop();
      throw e;
    } finally {
      cancelTimeout?.();
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.cancelReconnect?.();
    this.cancelReconnect = undefined;
    const c = this.client;
    this.client = undefined;
    if (c) await c.endAsync();
  }
}
