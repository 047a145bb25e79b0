/**
 * One-shot MQTT sessions for tools (not the agent's link): connect once with a bound and clear errors, read a
 * retained message, publish QoS 1 and wait for the PUBACK, close. No reconnect: one attempt, then a clear error
 * (`UPLINK_CONNECT`, `UPLINK_AUTH` for a refused login, `UPLINK_TIMEOUT` without a PUBACK).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { LightNodeError, systemClock, type Clock } from '@lightnode/protocols';

export interface OnceOptions {
  /** Bound on connecting, on each PUBACK and on a retained read (default 10 000 ms). */
  timeoutMs?: number;
  clientIdPrefix?: string;
  /** PEM CA for mqtts:// brokers with a private PKI. */
  caFile?: string;
  clock?: Clock;
}

export class MqttOnce {
  private constructor(
    readonly client: MqttClient,
    private readonly url: string,
    private readonly timeoutMs: number,
    private readonly clock: Clock,
  ) {}

  static async connect(url: string, o: OnceOptions = {}): Promise<MqttOnce> {
    const timeoutMs = o.timeoutMs ?? 10_000;
    const clock = o.clock ?? systemClock;
    const client = mqtt.connect(url, {
      clientId: `${o.clientIdPrefix ?? 'ln-tool'}-${randomBytes(4).toString('hex')}`,
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: timeoutMs,
      ...(o.caFile ? { ca: readFileSync(o.caFile) } : {}),
    });
    const once = new MqttOnce(client, url, timeoutMs, clock);
    try {
      await once.bounded(
        new Promise<void>((resolve, reject) => {
          client.once('connect', () => resolve());
          client.once('error', (e: Error & { code?: unknown }) =>
            reject(
              new LightNodeError(
                e.code === 4 || e.code === 5 ? 'UPLINK_AUTH' : 'UPLINK_CONNECT',
                `broker ${url}: ${e.message}`,
                { broker: url },
              ),
            ),
          );
          client.once('close', () =>
            reject(new LightNodeError('UPLINK_CONNECT', `broker ${url}: connection closed before CONNACK`, {})),
          );
        }),
        () => new LightNodeError('UPLINK_CONNECT', `broker ${url}: no connection in ${timeoutMs} ms`, { broker: url }),
      );
    } catch (e) {
      await once.close();
      throw e;
    }
    return once;
  }

  private bounded<T>(p: Promise<T>, onTimeout: () => LightNodeError): Promise<T> {
    let cancel: (() => void) | undefined;
    const timer = new Promise<never>(
      (_, reject) => (cancel = this.clock.setTimer(this.timeoutMs, () => reject(onTimeout()))),
    );
    return Promise.race([p, timer]).finally(() => cancel?.());
  }

  /**
   * The message retained on `topic`, or null when there is none. The broker sends a subscription's retained
   * messages before anything published after the SUBSCRIBE, so a marker published to a private topic of the same
   * subscription arriving first means none is retained.
   */
  async retained(topic: string): Promise<Buffer | null> {
    const marker = `lightnode/tools/${randomBytes(8).toString('hex')}`;
    const got = new Promise<Buffer | null>((resolve) => {
      this.client.on('message', (t, payload, packet) => {
        if (t === topic && packet.retain) resolve(payload);
        else if (t === marker) resolve(null);
      });
    });
    await this.bounded(this.client.subscribeAsync([topic, marker], { qos: 1 }), () =>
      this.timeout(`SUBACK for ${topic}`),
    );
    await this.client.publishAsync(marker, 'end', { qos: 1 });
    const r = await this.bounded(got, () => this.timeout(`the retained message on ${topic}`));
    await this.client.unsubscribeAsync([topic, marker]).catch(() => undefined);
    return r;
  }

  async publish(topic: string, payload: Uint8Array, opts: { retain?: boolean } = {}): Promise<void> {
    await this.bounded(
      this.client
        .publishAsync(topic, Buffer.from(payload), { qos: 1, retain: opts.retain ?? false })
        .then(() => undefined),
      () => this.timeout(`PUBACK for ${topic}`),
    );
  }

  private timeout(what: string): LightNodeError {
    return new LightNodeError('UPLINK_TIMEOUT', `broker ${this.url}: no ${what} in ${this.timeoutMs} ms`, {
      broker: this.url,
    });
  }

  async close(): Promise<void> {
    this.client.removeAllListeners('error');
    this.client.on('error', () => undefined);
    await this.client.endAsync(true).catch(() => undefined);
  }
}
