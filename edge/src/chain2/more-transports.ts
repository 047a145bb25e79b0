/**
 * More Chain 2 transports behind the same interface:
 * - HTTP polling of a certified gateway's local API (`/info.json` once, then `/lastcf.json` and
 *   `/getcf.json?type=cf1` every `pollMs`; a frame already delivered is not delivered again);
 * - a serial line for PLC modems: bytes → frames with a pluggable framer (newline-delimited by default; a modem
 *   vendor's framing plugs in here).
 * (Sinapsi Alfa is no Chain 2 transport: its registers become readings directly, edge/src/sources/alfa-source.ts.)
 */
import { SerialPort } from 'serialport';
import { silentLogger, type Clock, type Logger } from '@lightnode/protocols';
import { newTransportStats, type Chain2Transport, type Chain2TransportStats } from './transport.js';

export class HttpChain2Transport implements Chain2Transport {
  private stopped = true;
  private cancel: (() => void) | null = null;
  private readonly seen = new Set<string>();
  private readonly s = newTransportStats();
  readonly endpoint: string;
  private readonly log: Logger;

  constructor(private readonly o: { baseUrl: string; clock: Clock; pollMs?: number; logger?: Logger }) {
    this.endpoint = o.baseUrl.replace(/\/$/, '');
    this.log = (o.logger ?? silentLogger).child({ component: 'chain2-http', url: this.endpoint });
  }

  start(onFrame: (text: string) => void): void {
    this.stopped = false;
    const tick = async (first: boolean): Promise<void> => {
      if (this.stopped) return;
      const paths = first
        ? ['/info.json', '/getcf.json?type=cf1', '/lastcf.json']
        : ['/getcf.json?type=cf1', '/lastcf.json'];
      let ok = true;
      for (const p of paths) {
        try {
          const res = await fetch(this.endpoint + p, { signal: AbortSignal.timeout(5000) });
          if (!res.ok) continue;
          const text = (await res.text()).trim();
          if (!text || this.seen.has(text)) continue;
          this.seen.add(text);
          if (this.seen.size > 1000) this.seen.delete(this.seen.values().next().value!);
          this.s.messages++;
          this.s.bytes += text.length;
          onFrame(text);
        } catch (e) {
          ok = false;
          this.log.warn('gateway poll failed', { path: p, error: (e as Error).message });
          break;
        }
      }
      if (ok && this.s.state !== 'connected') this.s.connects++;
      if (!ok && this.s.state === 'connected') this.s.disconnects++;
      this.s.state = ok ? 'connected' : 'disconnected';
      this.cancel = this.o.clock.setTimer(this.o.pollMs ?? 5000, () => void tick(!ok));
    };
    void tick(true);
  }

  stats(): Chain2TransportStats {
    return { ...this.s };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancel?.();
    this.s.state = 'disconnected';
  }
}

/** Cuts a byte stream into frame texts; keeps what is incomplete. Default: one frame per line. */
export type Chain2Framer = (chunk: string, carry: { rest: string }) => string[];
export const lineFramer: Chain2Framer = (chunk, carry) => {
  const parts = (carry.rest + chunk).split(/\r?\n/);
  carry.rest = parts.pop() ?? '';
  if (carry.rest.length > 65_536) carry.rest = ''; // no newline for 64 KiB: garbage, resynchronise
  return parts.filter((p) => p.trim().length > 0);
};

export class SerialChain2Transport implements Chain2Transport {
  private port: SerialPort | null = null;
  private readonly s = newTransportStats();
  readonly endpoint: string;
  constructor(private readonly o: { path: string; baud?: number; framer?: Chain2Framer; logger?: Logger }) {
    this.endpoint = `serial://${o.path}@${o.baud ?? 9600}`;
  }
  start(onFrame: (text: string) => void): void {
    const carry = { rest: '' };
    const framer = this.o.framer ?? lineFramer;
    this.port = new SerialPort({ path: this.o.path, baudRate: this.o.baud ?? 9600 }, (e) => {
      if (e) {
        (this.o.logger ?? silentLogger).error('cannot open the Chain 2 modem port', {
          path: this.o.path,
          error: e.message,
        });
        this.s.state = 'disconnected';
        return;
      }
      this.s.connects++;
      this.s.state = 'connected';
    });
    this.port.on('data', (d: Buffer) => {
      this.s.bytes += d.length;
      for (const f of framer(d.toString('utf8'), carry)) {
        this.s.messages++;
        onFrame(f);
      }
    });
    this.port.on('error', (e) =>
      (this.o.logger ?? silentLogger).warn('Chain 2 modem port error', { path: this.o.path, error: e.message }),
    );
    this.port.on('close', () => {
      this.s.disconnects++;
      this.s.state = 'disconnected';
    });
  }
  stats(): Chain2TransportStats {
    return { ...this.s };
  }
  async stop(): Promise<void> {
    const p = this.port;
    this.port = null;
    if (p?.isOpen) await new Promise<void>((r) => p.close(() => r()));
  }
}
