/**
 * The MQTT uplink (mqtt.js). Our own connection policy, not mqtt.js's: `reconnectPeriod: 0` and a fresh client per
 * attempt, reconnecting with exponential backoff + full jitter + cap (MQTT.js reconnects at a fixed 1 s); a persistent
 * session (clean = false; MQTT 5 session expiry 7 days); QoS 1; keepalive 240 s by default (cellular NAT); a retained
 * `status` topic with a last-will `{"state":"offline"}`; MQTT 5 with topic aliases where the broker supports it,
 * falling back to 3.1.1 (e.g. the embedded aedes broker). The outbox is ours: what is in flight at a disconnect is
 * simply published again from the outbox (at least once).
 */
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { Backoff, LightNodeError, silentLogger, topics, type Clock, type Logger } from '@lightnode/protocols';

export interface UplinkOptions {
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
  keepaliveS?: number;
  protocolVersion?: 4 | 5 | 'auto';
  reconnectBaseMs?: number;
  reconnectMaxMs?: number;
  random?: () => number;
  /** Called on every connection, to publish the retained status and resume shipping. */
  onConnect?: () => void;
}

import type { LinkState } from '../link/link.js';

export class Uplink {
  private client: MqttClient | null = null;
  private stopped = false;
  private readonly retry: Backoff;
  private cancelTimer: (() => void) | null = null;
  private useVersion: 4 | 5;
  state: LinkState = 'disconnected';
  since: number;
  lastError?: { code: string; message: string };
  private readonly log: Logger;
  /** Bytes written to / read from the socket (wire accounting, all MQTT framing included). */
  bytesOut = 0;
  bytesIn = 0;

  constructor(private readonly o: UplinkOptions) {
    this.useVersion = o.protocolVersion === 4 ? 4 : 5;
    this.since = o.clock.now();
    this.log = (o.logger ?? silentLogger).child({ component: 'uplink' });
    this.retry = new Backoff(
      { baseMs: o.reconnectBaseMs ?? 1000, maxMs: o.reconnectMaxMs ?? 300_000, jitter: 'full' },
      o.random,
    );
  }

  get protocolVersion(): 4 | 5 {
    return this.useVersion;
  }

  start(): void {
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
    const o = this.o;
    const opts: IClientOptions = {
      clientId: o.clientId ?? `ln-${o.deviceId.slice(2, 14)}`,
      clean: false,
      keepalive: o.keepaliveS ?? 240,
      reconnectPeriod: 0,
      connectTimeout: 15_000,
      protocolVersion: this.useVersion,
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
    if (this.useVersion === 5) {
      opts.properties = { sessionExpiryInterval: 7 * 24 * 3600 };
      opts.autoUseTopicAlias = true;
      opts.autoAssignTopicAlias = true;
    }
    return opts;
  }

  private connect(): void {
    if (this.stopped) return;
    this.setState('connecting');
    let connacked = false;
    const client = mqtt.connect(this.o.url, this.options());
    this.client = client;
    client.on('packetsend', (p: { length?: number }) => (this.bytesOut += p.length ?? 0));
    client.on('packetreceive', (p: { length?: number }) => (this.bytesIn += p.length ?? 0));
    client.on('connect', () => {
      connacked = true;
      this.retry.reset();
      delete this.lastError;
      this.setState('connected');
      this.log.info('connected', { url: this.o.url, protocolVersion: this.useVersion });
      this.o.onConnect?.();
    });
    client.on('error', (e: Error & { code?: number | string }) => {
      const auth = e.code === 4 || e.code === 5 || e.code === 134 || e.code === 135;
      this.lastError = { code: auth ? 'UPLINK_AUTH' : 'UPLINK_CONNECT', message: e.message };
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
      if (!connacked && (this.o.protocolVersion ?? 'auto') === 'auto' && this.useVersion === 5 && !this.lastError)
        this.useVersion = 4;
      this.client = null;
      client.removeAllListeners();
      client.on('error', () => undefined);
      client.end(true);
      this.setState('disconnected');
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.stopped) return;
    const delay = this.retry.next(); // full jitter, capped
    this.cancelTimer = this.o.clock.setTimer(delay, () => this.connect());
  }

  /** Publishes; resolves on PUBACK (QoS 1) — rejects if the connection drops first. */
  publish(topic: string, payload: Buffer | string, opts: { qos?: 0 | 1; retain?: boolean } = {}): Promise<void> {
    const c = this.client;
    if (!c || this.state !== 'connected')
      return Promise.reject(new LightNodeError('UPLINK_CONNECT', `not connected to ${this.o.url}`, {}));
    return new Promise((resolve, reject) => {
      c.publish(topic, payload, { qos: opts.qos ?? 1, retain: opts.retain ?? false }, (err) =>
        err
          ? reject(
              new LightNodeError('UPLINK_CONNECT', `publish to ${topic} failed: ${err.message}`, {}, { cause: err }),
            )
          : resolve(),
      );
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTimer?.();
    const c = this.client;
    this.client = null;
    if (c) await new Promise<void>((resolve) => c.end(false, {}, () => resolve()));
    this.setState('disconnected');
  }
}
