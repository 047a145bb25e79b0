/**
 * Chain 2 transports, behind one interface: each delivers frame texts and never throws on what it receives —
 * garbage, truncated JSON and wrong types are the codec's to count (Chain2Source). Implemented here: the certified
 * gateway's WebSocket API (port 81; the client sends `!`, the gateway answers Chain2Info and then pushes frames),
 * with our reconnect policy (exponential backoff, full jitter, cap).
 */
import WebSocket from 'ws';
import { Backoff, silentLogger, type Clock, type Logger } from '@lightnode/protocols';

export interface Chain2TransportStats {
  connects: number;
  disconnects: number;
  messages: number;
  bytes: number;
  state: 'connected' | 'connecting' | 'disconnected';
}

export interface Chain2Transport {
  readonly endpoint: string;
  start(onFrame: (text: string) => void): void;
  stop(): Promise<void>;
  stats(): Chain2TransportStats;
}

/** Fresh counters of a transport: nothing sent or received yet, disconnected. */
export function newTransportStats(): Chain2TransportStats {
  return { connects: 0, disconnects: 0, messages: 0, bytes: 0, state: 'disconnected' };
}

export class WsChain2Transport implements Chain2Transport {
  private ws: WebSocket | null = null;
  private stopped = true;
  private readonly retry: Backoff;
  private cancel: (() => void) | null = null;
  private readonly s = newTransportStats();
  private readonly log: Logger;
  readonly endpoint: string;

  constructor(
    private readonly o: {
      url: string;
      clock: Clock;
      logger?: Logger;
      reconnectBaseMs?: number;
      reconnectMaxMs?: number;
      random?: () => number;
    },
  ) {
    this.endpoint = o.url;
    this.log = (o.logger ?? silentLogger).child({ component: 'chain2-ws', url: o.url });
    this.retry = new Backoff(
      { baseMs: o.reconnectBaseMs ?? 1000, maxMs: o.reconnectMaxMs ?? 60_000, jitter: 'full' },
      o.random,
    );
  }

  start(onFrame: (text: string) => void): void {
    this.stopped = false;
    this.connect(onFrame);
  }

  private connect(onFrame: (text: string) => void): void {
    if (this.stopped) return;
    this.s.state = 'connecting';
    const ws = new WebSocket(this.o.url, { handshakeTimeout: 10_000 });
    this.ws = ws;
    ws.on('open', () => {
      this.retry.reset();
      this.s.connects++;
      this.s.state = 'connected';
      ws.send('!'); // the gateway starts pushing after it
      this.log.info('connected to the Chain 2 gateway');
    });
    ws.on('message', (data: WebSocket.RawData) => {
      const text = Buffer.isBuffer(data)
        ? data.toString('utf8')
        : Array.isArray(data)
          ? Buffer.concat(data).toString('utf8')
          : Buffer.from(data).toString('utf8');
      this.s.messages++;
      this.s.bytes += text.length;
      onFrame(text);
    });
    ws.on('error', (e) => this.log.warn('gateway connection error', { error: e.message }));
    ws.on('close', () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.s.disconnects++;
      this.s.state = 'disconnected';
      if (this.stopped) return;
      const delay = this.retry.next();
      this.log.warn('gateway connection closed: reconnecting', { inMs: delay });
      this.cancel = this.o.clock.setTimer(delay, () => this.connect(onFrame));
    });
  }

  stats(): Chain2TransportStats {
    return { ...this.s };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancel?.();
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        ws.terminate();
      });
    }
    this.s.state = 'disconnected';
  }
}
