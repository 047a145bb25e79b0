/**
 * The network checks: the Chain 2 gateway's POD (its local API, through edge's Chain 2 transports) and the cloud
 * broker (DNS, TCP, TLS, MQTT connect, publish → PUBACK, each timed on one connection).
 */
import { lookup } from 'node:dns/promises';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { readFileSync } from 'node:fs';
import { MqttClient } from 'mqtt';
import { decodeChain2Frame, LightNodeError, silentLogger, type Clock, type Logger } from '@lightnode/protocols';
import { HttpChain2Transport, WsChain2Transport, type Chain2Transport } from '@lightnode/edge';

/**
 * The default transport to a gateway's local API: WebSocket for ws(s)://; for http(s):// the gateway's last CF20
 * first (`PodFirstHttpTransport`), then HTTP polling.
 */
export function defaultChain2Transport(url: string, clock: Clock, logger: Logger = silentLogger): Chain2Transport {
  return /^wss?:/.test(url)
    ? new WsChain2Transport({ url, clock, logger })
    : new PodFirstHttpTransport(url, new HttpChain2Transport({ baseUrl: url, clock, pollMs: 1000, logger }));
}

/**
 * A CF20 (the frame that carries the POD) is published once, when the meter starts or the gateway pairs with it, so
 * the polled `/lastcf.json` shows it only until the next frame. The HTTP API keeps the last frame of each type
 * (`/getcf.json?type=cf20`): asked once before the ordinary polling starts. A refused or failed request only means
 * the polling alone has to find it.
 */
export class PodFirstHttpTransport implements Chain2Transport {
  private stopped = false;
  readonly endpoint: string;
  constructor(
    baseUrl: string,
    private readonly inner: Chain2Transport,
  ) {
    this.endpoint = baseUrl.replace(/\/$/, '');
  }

  start(onFrame: (text: string) => void): void {
    this.stopped = false;
    void (async () => {
      try {
        const res = await fetch(`${this.endpoint}/getcf.json?type=cf20`, { signal: AbortSignal.timeout(5000) });
        const text = res.ok ? (await res.text()).trim() : '';
        if (text && !this.stopped) onFrame(text);
      } catch {
        // no CF20 kept, or the gateway unreachable: the polling below reports what it finds
      }
      if (!this.stopped) this.inner.start(onFrame);
    })();
  }

  stats(): ReturnType<Chain2Transport['stats']> {
    return this.inner.stats();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.inner.stop();
  }
}

/** How long the gateway has to report its POD (a CF20 frame: sent at start, then on request). */
export const CHAIN2_POD_TIMEOUT_MS = 30_000;

/** Waits for the first frame that carries the POD (CF20); `null` when none came in time. */
export async function chain2Pod(
  transport: Chain2Transport,
  clock: Clock,
  signal: AbortSignal,
  timeoutMs = CHAIN2_POD_TIMEOUT_MS,
): Promise<{ pod: string | null; frames: number; undecodable: number; meter?: string }> {
  let frames = 0;
  let undecodable = 0;
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  signal.addEventListener('abort', stop, { once: true });
  try {
    const got = new Promise<{ pod: string; meter: string }>((resolve) =>
      transport.start((text) => {
        frames++;
        const r = decodeChain2Frame(text);
        if (!r.ok) return void undecodable++;
        if (r.frame.kind === 'Chain2Data' && r.frame.pod) resolve({ pod: r.frame.pod, meter: r.frame.meter });
      }),
    );
    const timeout = clock.sleep(timeoutMs, ac.signal).then(
      () => null,
      () => null,
    );
    const r = await Promise.race([got, timeout]);
    return r ? { pod: r.pod, meter: r.meter, frames, undecodable } : { pod: null, frames, undecodable };
  } finally {
    ac.abort();
    signal.removeEventListener('abort', stop);
    await transport.stop();
  }
}

export interface CloudProbe {
  /** ms of each stage that ran, in order (`tls` only for mqtts://). */
  ms: { dns: number; tcp: number; tls?: number; mqtt: number; puback: number };
  address: string;
  tls?: { protocol: string | null; authorized: boolean };
}

export interface CloudProbeOptions {
  url: string;
  clientId: string;
  /** The probe's topic (QoS 1, not retained, empty payload). */
  topic: string;
  clock: Clock;
  username?: string;
  password?: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  timeoutMs?: number;
}

/** One stage, timed on the clock, refused after `timeoutMs` with the stage's name. */
async function stage<T>(
  name: string,
  o: CloudProbeOptions,
  times: Record<string, number>,
  run: () => Promise<T>,
): Promise<T> {
  const t0 = o.clock.monotonic();
  const ac = new AbortController();
  const limit = o.timeoutMs ?? 10_000;
  try {
    return await Promise.race([
      run(),
      o.clock.sleep(limit, ac.signal).then(
        () => {
          throw new LightNodeError('UPLINK_CONNECT', `${o.url}: ${name}: no answer in ${limit} ms`, { stage: name });
        },
        () => new Promise<never>(() => undefined),
      ),
    ]);
  } finally {
    ac.abort();
    times[name] = Math.round((o.clock.monotonic() - t0) * 10) / 10;
  }
}

/** DNS → TCP → TLS (mqtts) → MQTT CONNECT/CONNACK → PUBLISH/PUBACK; throws `UPLINK_CONNECT` naming the stage. */
export async function probeCloud(o: CloudProbeOptions): Promise<CloudProbe> {
  const u = new URL(o.url);
  const secure = u.protocol === 'mqtts:';
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = u.port ? Number(u.port) : secure ? 8883 : 1883;
  const times: Record<string, number> = {};
  const fail = (name: string, e: unknown): never => {
    if (e instanceof LightNodeError) throw e;
    throw new LightNodeError('UPLINK_CONNECT', `${o.url}: ${name} failed (${(e as Error).message})`, { stage: name });
  };
  const { address } = await stage('dns', o, times, () => lookup(host)).catch((e: unknown) => fail('dns', e));
  let socket: Socket | TLSSocket = await stage(
    'tcp',
    o,
    times,
    () =>
      new Promise<Socket>((resolve, reject) => {
        const s = netConnect({ host: address, port }, () => resolve(s));
        s.once('error', reject);
      }),
  ).catch((e: unknown) => fail('tcp', e));
  let client: MqttClient | undefined;
  try {
    let tls: CloudProbe['tls'];
    if (secure) {
      const raw = socket;
      socket = await stage(
        'tls',
        o,
        times,
        () =>
          new Promise<TLSSocket>((resolve, reject) => {
            const s = tlsConnect(
              {
                socket: raw,
                servername: host,
                ...(o.caFile ? { ca: readFileSync(o.caFile) } : {}),
                ...(o.certFile ? { cert: readFileSync(o.certFile) } : {}),
                ...(o.keyFile ? { key: readFileSync(o.keyFile) } : {}),
              },
              () => resolve(s),
            );
            s.once('error', reject);
          }),
      ).catch((e: unknown) => fail('tls', e));
      const t = socket as TLSSocket;
      tls = { protocol: t.getProtocol(), authorized: t.authorized };
    }
    const s = socket;
    const c = new MqttClient(() => s, {
      clientId: o.clientId,
      protocolVersion: 4,
      reconnectPeriod: 0,
      keepalive: 60,
      clean: true,
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
    });
    client = c;
    await stage(
      'mqtt',
      o,
      times,
      () =>
        new Promise<void>((resolve, reject) => {
          c.once('connect', () => resolve());
          c.once('error', reject);
          c.once('close', () => reject(new Error('connection closed before CONNACK')));
        }),
    ).catch((e: unknown) => fail('mqtt', e));
    await stage('puback', o, times, () => c.publishAsync(o.topic, '', { qos: 1, retain: false })).catch((e: unknown) =>
      fail('puback', e),
    );
    return {
      ms: {
        dns: times.dns!,
        tcp: times.tcp!,
        ...(times.tls !== undefined ? { tls: times.tls } : {}),
        mqtt: times.mqtt!,
        puback: times.puback!,
      },
      address,
      ...(tls ? { tls } : {}),
    };
  } finally {
    if (client) await client.endAsync(true).catch(() => undefined);
    socket.destroy();
  }
}
