/**
 * MQTT EMS adapter: commands on `{topic}/set` as `{essPowerW, validUntilMs}` (`{}` releases), QoS 1, resolved on the
 * broker's PUBACK; state from the retained `{topic}/state` (ems-json.ts). `read()` returns the last state received
 * (atMs = when it arrived); before the first one it waits up to `timeoutMs`, and a state older than `staleAfterMs`
 * counts as none: both → ADAPTER_TIMEOUT. A publish not acknowledged within `timeoutMs` → ADAPTER_TIMEOUT.
 * A state that does not parse is logged and counted, and does not replace the last good one.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { LightNodeError, silentLogger, type Clock, type Logger } from '@lightnode/protocols';
import { emsCommand, parseEmsState } from './ems-json.js';
import type { EssAdapter, EssState } from './types.js';

export interface MqttEssOptions {
  id: string;
  url: string;
  topic: string;
  clock: Clock;
  logger?: Logger;
  /** Wait for a first state, and for a PUBACK, ms (default 5000). */
  timeoutMs?: number;
  /** A state older than this is no state, ms (default 30000). */
  staleAfterMs?: number;
}

export class MqttEssAdapter implements EssAdapter {
  readonly kind = 'mqtt' as const;
  readonly id: string;
  private client: MqttClient | undefined;
  private last?: EssState;
  private waiters: (() => void)[] = [];
  private readonly log: Logger;
  private readonly topic: string;
  /** States that did not parse. */
  badStates = 0;

  constructor(private readonly o: MqttEssOptions) {
    this.id = o.id;
    this.topic = o.topic.replace(/\/+$/, '');
    this.log = (o.logger ?? silentLogger).child({ component: 'ess-mqtt', asset: o.id });
  }

  async start(): Promise<void> {
    const client = mqtt.connect(this.o.url, { protocolVersion: 4, reconnectPeriod: 1000, connectTimeout: 10_000 });
    this.client = client;
    client.on('error', (e) => this.log.warn('ems broker error', { error: e.message }));
    client.on('message', (topic, payload) => {
      if (topic !== `${this.topic}/state`) return;
      try {
        this.last = parseEmsState(payload.toString('utf8'), `asset ${this.id}: ${topic}`, this.o.clock.now());
      } catch (e) {
        this.badStates++;
        this.log.warn('ems state refused', { error: (e as Error).message });
        return;
      }
      for (const w of this.waiters.splice(0)) w();
    });
    await this.timed('subscribe', client.subscribeAsync(`${this.topic}/state`, { qos: 1 }));
  }

  /** `p`, or ADAPTER_TIMEOUT after timeoutMs on the injected clock. */
  private async timed<T>(what: string, p: Promise<T>): Promise<T> {
    const ms = this.o.timeoutMs ?? 5000;
    const abort = new AbortController();
    const timeout = this.o.clock.sleep(ms, abort.signal).then(() => {
      throw new LightNodeError('ADAPTER_TIMEOUT', `asset ${this.id}: ${what} on ${this.o.url}: no answer in ${ms} ms`, {
        asset: this.id,
      });
    });
    timeout.catch(() => undefined);
    try {
      return await Promise.race([p, timeout]);
    } finally {
      abort.abort();
    }
  }

  private connected(): MqttClient {
    if (!this.client)
      throw new LightNodeError('INTERNAL', `asset ${this.id}: the MQTT adapter is not started`, { asset: this.id });
    return this.client;
  }

  private fresh(): EssState | undefined {
    const s = this.last;
    return s && this.o.clock.now() - s.atMs <= (this.o.staleAfterMs ?? 30_000) ? s : undefined;
  }

  async read(): Promise<EssState> {
    this.connected();
    const now = this.fresh();
    if (now) return { ...now };
    let waiter!: () => void;
    const arrived = new Promise<void>((resolve) => this.waiters.push((waiter = resolve)));
    try {
      await this.timed(`waiting for ${this.topic}/state`, arrived);
    } finally {
      this.waiters = this.waiters.filter((w) => w !== waiter);
    }
    return { ...this.last! };
  }

  private async publish(body: object, what: string): Promise<void> {
    const client = this.connected();
    await this.timed(what, client.publishAsync(`${this.topic}/set`, JSON.stringify(body), { qos: 1 }));
  }

  async command(w: number, revertS: number): Promise<void> {
    await this.publish(emsCommand(w, revertS, this.o.clock.now()), `command on ${this.topic}/set`);
  }

  async release(): Promise<void> {
    await this.publish({}, `release on ${this.topic}/set`);
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    await c?.endAsync(true);
  }
}
