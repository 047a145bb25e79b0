/**
 * An in-process RS-485 line with its own (baud, parity), for the scan tests: a pty ignores baud and parity, so it
 * cannot show a scan finding the right setting. The simulated devices (the same `SimDevice`s the RTU and TCP servers
 * serve) sit on the line at the line's setting; a client opened at another setting hears what a real UART would:
 * every frame goes through `uartResample` — the sender's bits (start, 8 data bits LSB first, optional parity, stop)
 * sampled at the receiver's bit rate and framing — so a request sent at the wrong rate reaches the devices as garbage
 * (their framer finds no valid CRC: no answer), and a reply at the wrong setting reaches the client as garbage. At the
 * same setting the bytes pass unchanged. Time: every transaction takes its wire time on the injected clock (request
 * bits / baud + the device's delay + turnaround + reply bits / baud), so latencies are exact under a FakeClock.
 */
import {
  LightNodeError,
  MODBUS_EXCEPTIONS,
  RtuFramer,
  decodeResponsePdu,
  encodeRequestPdu,
  encodeRtu,
  type Clock,
  type ModbusRequest,
} from '@lightnode/protocols';
import type { ModbusRead, ModbusTransport, ModbusWrite } from '@lightnode/edge';
import type { SimDevice } from '../modbus/servers.js';

export interface UartSetting {
  baud: number;
  parity: 'none' | 'even' | 'odd';
}

const bitsPerChar = (s: UartSetting): number => (s.parity === 'none' ? 10 : 11);

/** The line level, bit by bit, of `bytes` sent back to back at `s` (1 = idle / mark). */
function uartBits(bytes: Uint8Array, s: UartSetting): number[] {
  const bits: number[] = [];
  for (const b of bytes) {
    bits.push(0); // start
    let ones = 0;
    for (let i = 0; i < 8; i++) {
      const bit = (b >> i) & 1;
      ones += bit;
      bits.push(bit);
    }
    if (s.parity !== 'none') bits.push(s.parity === 'even' ? ones & 1 : (ones & 1) ^ 1);
    bits.push(1); // stop
  }
  return bits;
}

/**
 * What a UART at `to` reads from `bytes` sent by a UART at `from`: samples each character's bits at their middle
 * (at `to`'s rate), from each falling edge (start bit). A character with a framing error (stop bit 0) or a parity
 * error is read as 0x00, as termios delivers it without IGNPAR / PARMRK. Identical settings: the same bytes.
 */
export function uartResample(bytes: Uint8Array, from: UartSetting, to: UartSetting): Uint8Array {
  if (from.baud === to.baud && from.parity === to.parity) return bytes.slice();
  const bits = uartBits(bytes, from);
  const tBit = 1 / from.baud;
  const level = (t: number): number => {
    const k = Math.floor(t / tBit + 1e-9);
    return k >= 0 && k < bits.length ? bits[k]! : 1;
  };
  const out: number[] = [];
  const rBit = 1 / to.baud;
  const n = bitsPerChar(to);
  const end = bits.length * tBit;
  let t = 0; // time from which the receiver waits for a start edge
  while (t < end) {
    // next falling edge at or after t: a sender bit boundary k with level 1 before and 0 at k
    let k = Math.ceil(t / tBit - 1e-9);
    while (k < bits.length && !(bits[k] === 0 && (k === 0 || bits[k - 1] === 1))) k++;
    if (k >= bits.length) break;
    const t0 = k * tBit;
    const sample = (i: number): number => level(t0 + (i + 0.5) * rBit);
    if (sample(0) !== 0) {
      t = t0 + rBit / 2; // a glitch, not a start bit
      continue;
    }
    let byte = 0;
    let ones = 0;
    for (let i = 0; i < 8; i++) {
      const bit = sample(1 + i);
      ones += bit;
      byte |= bit << i;
    }
    let ok = true;
    if (to.parity !== 'none') {
      const p = sample(9);
      ok = p === (to.parity === 'even' ? ones & 1 : (ones & 1) ^ 1);
    }
    if (sample(n - 1) !== 1) ok = false;
    out.push(ok ? byte : 0);
    t = t0 + (n - 0.5) * rBit; // the stop bit's middle: from there the receiver looks for the next start edge
  }
  return Uint8Array.from(out);
}

export interface LineModelOptions extends UartSetting {
  devices: readonly SimDevice[];
  clock: Clock;
  /** The devices' processing time before a reply, ms (default 5). */
  turnaroundMs?: number;
  /** Shown in endpoints (default `line-model`). */
  name?: string;
}

export interface LineModelStats {
  requests: number;
  /** Requests the devices' framer could not read (wrong setting). */
  garbledRequests: number;
  replies: number;
}

/** The line; `open(setting)` gives a client at that setting (fits the scan's `open`). */
export class LineModel {
  readonly stats: LineModelStats = { requests: 0, garbledRequests: 0, replies: 0 };
  constructor(readonly o: LineModelOptions) {}

  open(setting: UartSetting): ModbusTransport {
    return new LineClient(this, setting);
  }

  /**
   * One request ADU from a client at `client`: the reply bytes the client's UART reads and when the last one
   * arrives (ms after the request started), or null (no device understood it).
   */
  transact(adu: Uint8Array, client: UartSetting): { bytes: Uint8Array; afterMs: number } | null {
    this.stats.requests++;
    const line: UartSetting = { baud: this.o.baud, parity: this.o.parity };
    const heard = uartResample(adu, client, line);
    const framer = new RtuFramer('request');
    const frames = framer.push(heard);
    if (frames.length === 0) {
      this.stats.garbledRequests++;
      return null;
    }
    const requestMs = (uartBits(adu, client).length * 1000) / client.baud;
    for (const f of frames) {
      for (const dev of this.o.devices) {
        const action = dev.handle(f.unit, f.pdu);
        if (action.kind !== 'reply') continue;
        const reply = encodeRtu(action.unit, action.pdu);
        if (action.badCrc) reply[reply.length - 1]! ^= 0xff;
        if (action.corrupt) reply[Math.min(3, reply.length - 3)]! ^= 0x10;
        this.stats.replies++;
        const replyMs = (uartBits(reply, line).length * 1000) / line.baud;
        return {
          bytes: uartResample(reply, line, client),
          afterMs: requestMs + (this.o.turnaroundMs ?? 5) + action.delayMs + replyMs,
        };
      }
    }
    return null;
  }
}

const parityLetter = (p: UartSetting['parity']): string => p[0]!.toUpperCase();

/** A Modbus RTU client on the line model, with the errors of edge's ModbusSerialTransport. */
class LineClient implements ModbusTransport {
  readonly kind = 'rtu' as const;
  readonly endpoint: string;
  private closed = false;
  constructor(
    private readonly line: LineModel,
    private readonly setting: UartSetting,
  ) {
    this.endpoint = `rtu://${line.o.name ?? 'line-model'}@${setting.baud},8${parityLetter(setting.parity)}1`;
  }
  async open(): Promise<void> {
    if (this.closed) throw new LightNodeError('MODBUS_CONNECT', `${this.endpoint}: transport closed (open)`);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  async read(r: ModbusRead): Promise<number[]> {
    const res = await this.request(r.unit, { fc: r.fc, address: r.address, count: r.count }, r.timeoutMs);
    if ('values' in res) return res.values;
    if ('bits' in res) return res.bits.slice(0, r.count).map((b) => (b ? 1 : 0));
    throw this.error('MODBUS_FRAME', r.unit, `unexpected reply to fc ${r.fc}`);
  }
  async write(w: ModbusWrite): Promise<void> {
    const req: ModbusRequest =
      w.fc === 6
        ? { fc: 6, address: w.address, value: w.values[0]! }
        : { fc: 16, address: w.address, values: w.values };
    await this.request(w.unit, req, w.timeoutMs);
  }

  private error(
    code: 'MODBUS_TIMEOUT' | 'MODBUS_CRC' | 'MODBUS_FRAME' | 'MODBUS_EXCEPTION',
    unit: number,
    why: string,
    extra: Record<string, unknown> = {},
  ): LightNodeError {
    return new LightNodeError(code, `${this.endpoint} unit ${unit}: ${why}`, {
      endpoint: this.endpoint,
      unit,
      ...extra,
    });
  }

  private async request(
    unit: number,
    req: ModbusRequest,
    timeoutMs: number,
  ): Promise<Exclude<ReturnType<typeof decodeResponsePdu>, null>> {
    await this.open();
    const clock = this.line.o.clock;
    const answer = this.line.transact(encodeRtu(unit, encodeRequestPdu(req)), this.setting);
    if (!answer || answer.afterMs > timeoutMs || answer.bytes.length === 0) {
      await clock.sleep(timeoutMs);
      throw this.error('MODBUS_TIMEOUT', unit, 'no answer in time');
    }
    await clock.sleep(answer.afterMs);
    const frames = new RtuFramer('response').push(answer.bytes);
    const f = frames.find((x) => x.unit === unit);
    if (!f) {
      // bytes came, none made a frame with a valid CRC (what modbus-serial reports as a CRC error)
      throw this.error('MODBUS_CRC', unit, `reply failed its CRC (${answer.bytes.length} bytes of garbage)`);
    }
    const count = 'count' in req ? req.count : undefined;
    const res = decodeResponsePdu(f.pdu, { fc: req.fc, ...(count !== undefined ? { count } : {}) });
    if (!res) throw this.error('MODBUS_FRAME', unit, 'malformed reply');
    if ('exception' in res)
      throw this.error(
        'MODBUS_EXCEPTION',
        unit,
        `exception ${res.exception} (${MODBUS_EXCEPTIONS[res.exception] ?? 'unknown'})`,
        { exception: res.exception },
      );
    return res;
  }
}
