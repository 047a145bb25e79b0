/**
 * The BAL on MQTT: subscribes to `ln/v1/+/batch` and `ln/v1/+/gap` at QoS 1 with a persistent session, and
 * acknowledges a message only after the ledger committed it (mqtt.js `handleMessage`), so a crash between
 * receipt and commit means a redelivery, never a loss. With `shared`, it joins the MQTT 5 shared subscription
 * `$share/{group}/…` (Mosquitto, EMQX) so that several instances split the load; aedes (MQTT 3.1.1) gets a plain
 * subscription.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { LightNodeError, silentLogger, topics, type Logger } from '@lightnode/protocols';
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
}

export class BalMqtt {
  private client: MqttClient | undefined;
  readonly received = { batch: 0, gap: 0 };

  constructor(
    private readonly bal: Bal,
    private readonly o: BalMqttOptions,
  ) {}

  filters(): string[] {
    const base = [topics.all('batch'), topics.all('gap')];
    return this.o.shared ? base.map((t) => `$share/${this.o.shared!.group}/${t}`) : base;
  }

  async start(timeoutMs = 15_000): Promise<void> {
    const log = this.o.log ?? silentLogger;
    const client = mqtt.connect(this.o.url, {
      clientId: this.o.clientId,
      protocolVersion: this.o.shared ? 5 : 4,
      clean: false,
      ...(this.o.shared ? { properties: { sessionExpiryInterval: 3600 } } : {}),
      reconnectPeriod: 1000,
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
      const message = packet.payload;
      const leaf = topic.endsWith('/gap') ? 'gap' : 'batch';
      this.received[leaf] += 1;
      const bytes = typeof message === 'string' ? Buffer.from(message) : message;
      const p = leaf === 'gap' ? this.bal.ingestGap(topic, bytes) : this.bal.ingestBatch(topic, bytes);
      p.then(
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
    client.on('reconnect', () => log.debug('BAL MQTT reconnecting', { url: this.o.url }));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new LightNodeError(
              'UPLINK_CONNECT',
              `BAL: broker ${this.o.url} did not accept a connection in ${timeoutMs} ms`,
              {},
            ),
          ),
        timeoutMs,
      );
      client.once('connect', (ack) => {
        clearTimeout(timer);
        if (ack.sessionPresent) {
          resolve();
          return;
        }
        client.subscribe(this.filters(), { qos: 1 }, (err, granted) => {
          if (err) return reject(new LightNodeError('UPLINK_CONNECT', `BAL: subscribe refused (${err.message})`, {}));
          const bad = (granted ?? []).find((g) => g.qos > 2);
          if (bad)
            return reject(
              new LightNodeError('UPLINK_AUTH', `BAL: the broker refused the subscription ${bad.topic}`, {}),
            );
          resolve();
        });
      });
    });
    log.info('BAL subscribed', { url: this.o.url, filters: this.filters() });
  }

  async stop(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (c) await c.endAsync();
  }
}
