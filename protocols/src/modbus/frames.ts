/**
 * Modbus framing, pure: PDU codec (Modbus Application Protocol V1.1b3 §6), RTU ADUs with CRC-16/MODBUS (Modbus over
 * Serial Line V1.02 §2.5.1) and TCP MBAP headers (Modbus Messaging on TCP/IP V1.0b §3.1.3), plus **framers** that cut a
 * byte stream into frames, resynchronise on garbage, never throw, and count what they discarded.
 */

export type ReadFc = 1 | 2 | 3 | 4;

export type ModbusRequest =
  | { fc: ReadFc; address: number; count: number }
  | { fc: 5; address: number; value: boolean }
  | { fc: 6; address: number; value: number }
  | { fc: 15; address: number; values: boolean[] }
  | { fc: 16; address: number; values: number[] };

export type ModbusResponse =
  | { fc: 1 | 2; bits: boolean[] }
  | { fc: 3 | 4; values: number[] }
  | { fc: 5; address: number; value: boolean }
  | { fc: 6; address: number; value: number }
  | { fc: 15 | 16; address: number; count: number }
  | { fc: number; exception: number };

/** Exception codes (§7). */
export const MODBUS_EXCEPTIONS: Record<number, string> = {
  1: 'illegal function',
  2: 'illegal data address',
  3: 'illegal data value',
  4: 'server device failure',
  5: 'acknowledge',
  6: 'server device busy',
  10: 'gateway path unavailable',
  11: 'gateway target device failed to respond',
};

const CRC_TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1;
    t[i] = c;
  }
  return t;
})();

/** CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF); sent low byte first. */
export function crc16(bytes: Uint8Array, end = bytes.length): number {
  let crc = 0xffff;
  for (let i = 0; i < end; i++) crc = (crc >>> 8) ^ CRC_TABLE[(crc ^ bytes[i]!) & 0xff]!;
  return crc;
}

function packBits(bits: readonly boolean[]): number[] {
  const out = new Array<number>(Math.ceil(bits.length / 8)).fill(0);
  bits.forEach((b, i) => {
    if (b) out[i >> 3]! |= 1 << (i & 7);
  });
  return out;
}
function unpackBits(bytes: Uint8Array, count: number): boolean[] {
  return Array.from({ length: count }, (_, i) => ((bytes[i >> 3] ?? 0) & (1 << (i & 7))) !== 0);
}
const u16 = (b: Uint8Array, i: number): number => ((b[i]! << 8) | b[i + 1]!) >>> 0;

export function encodeRequestPdu(r: ModbusRequest): Uint8Array {
  const h = [r.fc, r.address >> 8, r.address & 0xff];
  switch (r.fc) {
    case 1:
    case 2:
    case 3:
    case 4:
      return new Uint8Array([...h, r.count >> 8, r.count & 0xff]);
    case 5:
      return new Uint8Array([...h, r.value ? 0xff : 0, 0]);
    case 6:
      return new Uint8Array([...h, (r.value >> 8) & 0xff, r.value & 0xff]);
    case 15: {
      const bytes = packBits(r.values);
      return new Uint8Array([...h, r.values.length >> 8, r.values.length & 0xff, bytes.length, ...bytes]);
    }
    case 16:
      return new Uint8Array([
        ...h,
        r.values.length >> 8,
        r.values.length & 0xff,
        r.values.length * 2,
        ...r.values.flatMap((v) => [(v >> 8) & 0xff, v & 0xff]),
      ]);
  }
}

/** Decodes a request PDU; null when malformed (wrong length, bad counts). */
export function decodeRequestPdu(p: Uint8Array): ModbusRequest | null {
  const fc = p[0];
  if (p.length < 5) return null;
  const address = u16(p, 1);
  switch (fc) {
    case 1:
    case 2:
    case 3:
    case 4: {
      const count = u16(p, 3);
      const max = fc <= 2 ? 2000 : 125;
      return p.length === 5 && count >= 1 && count <= max ? { fc, address, count } : null;
    }
    case 5: {
      const v = u16(p, 3);
      return p.length === 5 && (v === 0xff00 || v === 0) ? { fc, address, value: v === 0xff00 } : null;
    }
    case 6:
      return p.length === 5 ? { fc, address, value: u16(p, 3) } : null;
    case 15: {
      const count = u16(p, 3);
      const n = p[5] ?? -1;
      return p.length === 6 + n && n === Math.ceil(count / 8) && count >= 1 && count <= 1968
        ? { fc, address, values: unpackBits(p.subarray(6), count) }
        : null;
    }
    case 16: {
      const count = u16(p, 3);
      const n = p[5] ?? -1;
      if (p.length !== 6 + n || n !== count * 2 || count < 1 || count > 123) return null;
      return { fc, address, values: Array.from({ length: count }, (_, i) => u16(p, 6 + 2 * i)) };
    }
    default:
      return null;
  }
}

export function encodeResponsePdu(r: ModbusResponse): Uint8Array {
  if ('exception' in r) return new Uint8Array([(r.fc | 0x80) & 0xff, r.exception]);
  switch (r.fc) {
    case 1:
    case 2: {
      const bytes = packBits(r.bits);
      return new Uint8Array([r.fc, bytes.length, ...bytes]);
    }
    case 3:
    case 4:
      return new Uint8Array([r.fc, r.values.length * 2, ...r.values.flatMap((v) => [(v >> 8) & 0xff, v & 0xff])]);
    case 5:
      return new Uint8Array([5, r.address >> 8, r.address & 0xff, r.value ? 0xff : 0, 0]);
    case 6:
      return new Uint8Array([6, r.address >> 8, r.address & 0xff, (r.value >> 8) & 0xff, r.value & 0xff]);
    case 15:
    case 16:
      return new Uint8Array([r.fc, r.address >> 8, r.address & 0xff, r.count >> 8, r.count & 0xff]);
  }
}

/** Decodes a response PDU for a request with function `fc` (and `count` for reads); null when malformed. */
export function decodeResponsePdu(p: Uint8Array, expect?: { fc: number; count?: number }): ModbusResponse | null {
  const fc = p[0];
  if (fc === undefined) return null;
  if (fc & 0x80) return p.length === 2 ? { fc: fc & 0x7f, exception: p[1]! } : null;
  switch (fc) {
    case 1:
    case 2: {
      const n = p[1];
      if (n === undefined || p.length !== 2 + n) return null;
      const count = expect?.count ?? n * 8;
      return { fc, bits: unpackBits(p.subarray(2), count) };
    }
    case 3:
    case 4: {
      const n = p[1];
      if (n === undefined || p.length !== 2 + n || n % 2 !== 0) return null;
      if (expect?.count !== undefined && n !== expect.count * 2) return null;
      return { fc, values: Array.from({ length: n / 2 }, (_, i) => u16(p, 2 + 2 * i)) };
    }
    case 5:
      return p.length === 5 ? { fc, address: u16(p, 1), value: u16(p, 3) === 0xff00 } : null;
    case 6:
      return p.length === 5 ? { fc, address: u16(p, 1), value: u16(p, 3) } : null;
    case 15:
    case 16:
      return p.length === 5 ? { fc, address: u16(p, 1), count: u16(p, 3) } : null;
    default:
      return null;
  }
}

/** RTU ADU: unit ‖ PDU ‖ CRC (low byte first). */
export function encodeRtu(unit: number, pdu: Uint8Array): Uint8Array {
  const out = new Uint8Array(pdu.length + 3);
  out[0] = unit;
  out.set(pdu, 1);
  const crc = crc16(out, pdu.length + 1);
  out[pdu.length + 1] = crc & 0xff;
  out[pdu.length + 2] = crc >> 8;
  return out;
}

/** TCP ADU: MBAP (transaction id, protocol 0, length, unit) ‖ PDU. */
export function encodeTcp(transactionId: number, unit: number, pdu: Uint8Array): Uint8Array {
  const out = new Uint8Array(pdu.length + 7);
  out[0] = (transactionId >> 8) & 0xff;
  out[1] = transactionId & 0xff;
  out[4] = ((pdu.length + 1) >> 8) & 0xff;
  out[5] = (pdu.length + 1) & 0xff;
  out[6] = unit;
  out.set(pdu, 7);
  return out;
}

export interface Frame {
  unit: number;
  pdu: Uint8Array;
  /** MBAP transaction id (TCP only). */
  transactionId?: number;
}

/** Statistics every framer keeps. */
export interface FramerStats {
  frames: number;
  discardedBytes: number;
  crcErrors: number;
}

/** Expected RTU length of a request starting at `b[0]` (unit) — null if more bytes are needed, 0 if not a request. */
function rtuRequestLength(b: Uint8Array): number | null {
  if (b.length < 2) return null;
  const fc = b[1]!;
  if (fc >= 1 && fc <= 6) return 8;
  if (fc === 15 || fc === 16) return b.length < 7 ? null : 9 + b[6]!;
  return 0;
}
/** Expected RTU length of a response starting at `b[0]`. */
function rtuResponseLength(b: Uint8Array): number | null {
  if (b.length < 2) return null;
  const fc = b[1]!;
  if (fc & 0x80) return 5;
  if (fc >= 1 && fc <= 4) return b.length < 3 ? null : 5 + b[2]!;
  if (fc === 5 || fc === 6 || fc === 15 || fc === 16) return 8;
  return 0;
}

/**
 * Cuts a serial byte stream into RTU frames (requests or responses). On a bad CRC or an unknown function code it
 * drops one byte and tries again at the next (resynchronisation), counting discarded bytes; it never throws.
 * `flush()` (call it after t3.5 of silence) discards a partial frame.
 */
export class RtuFramer {
  private buf = new Uint8Array(0);
  readonly stats: FramerStats = { frames: 0, discardedBytes: 0, crcErrors: 0 };
  constructor(private readonly direction: 'request' | 'response') {}

  push(chunk: Uint8Array): Frame[] {
    const merged = new Uint8Array(this.buf.length + chunk.length);
    merged.set(this.buf);
    merged.set(chunk, this.buf.length);
    this.buf = merged;
    const out: Frame[] = [];
    for (;;) {
      if (this.buf.length === 0) break;
      const len = this.lengthAt(this.buf);
      if (len === 0 || (len !== null && len > 256)) {
        this.drop(1);
        continue;
      }
      if (len === null || this.buf.length < len) {
        // Waiting for more bytes — unless garbage that looks like the start of a long frame hides a complete, valid
        // frame further on (without timing, only its CRC can tell): then resynchronise on it.
        const k = this.findValidFrame(1);
        if (k < 0) break;
        this.drop(k);
        continue;
      }
      const crc = crc16(this.buf, len - 2);
      if ((crc & 0xff) !== this.buf[len - 2] || crc >> 8 !== this.buf[len - 1]) {
        this.stats.crcErrors++;
        this.drop(1);
        continue;
      }
      out.push({ unit: this.buf[0]!, pdu: this.buf.slice(1, len - 2) });
      this.stats.frames++;
      this.buf = this.buf.slice(len);
    }
    return out;
  }
  private lengthAt(b: Uint8Array): number | null {
    return this.direction === 'request' ? rtuRequestLength(b) : rtuResponseLength(b);
  }
  private findValidFrame(from: number): number {
    for (let k = from; k + 4 <= this.buf.length; k++) {
      const rest = this.buf.subarray(k);
      const len = this.lengthAt(rest);
      if (len === null || len === 0 || len > 256 || rest.length < len) continue;
      const crc = crc16(rest, len - 2);
      if ((crc & 0xff) === rest[len - 2] && crc >> 8 === rest[len - 1]) return k;
    }
    return -1;
  }
  /** Inter-frame silence seen: whatever is buffered can never complete. */
  flush(): void {
    if (this.buf.length) this.drop(this.buf.length);
  }
  get pending(): number {
    return this.buf.length;
  }
  private drop(n: number): void {
    this.stats.discardedBytes += n;
    this.buf = this.buf.slice(n);
  }
}

/** Cuts a TCP stream into MBAP frames; a header with protocol ≠ 0 or an impossible length drops a byte (resync). */
export class TcpFramer {
  private buf = new Uint8Array(0);
  readonly stats: FramerStats = { frames: 0, discardedBytes: 0, crcErrors: 0 };
  push(chunk: Uint8Array): Frame[] {
    const merged = new Uint8Array(this.buf.length + chunk.length);
    merged.set(this.buf);
    merged.set(chunk, this.buf.length);
    this.buf = merged;
    const out: Frame[] = [];
    while (this.buf.length >= 7) {
      const proto = u16(this.buf, 2);
      const len = u16(this.buf, 4);
      if (proto !== 0 || len < 2 || len > 254) {
        this.stats.discardedBytes++;
        this.buf = this.buf.slice(1);
        continue;
      }
      if (this.buf.length < 6 + len) break;
      out.push({ transactionId: u16(this.buf, 0), unit: this.buf[6]!, pdu: this.buf.slice(7, 6 + len) });
      this.stats.frames++;
      this.buf = this.buf.slice(6 + len);
    }
    return out;
  }
}

/** Modbus RTU character time and t3.5 (spec: fixed 1.75 ms above 19200 baud). 11 bits per character. */
export function rtuTiming(baud: number): { charMs: number; t15Ms: number; t35Ms: number } {
  const charMs = (11 * 1000) / baud;
  return baud > 19200 ? { charMs, t15Ms: 0.75, t35Ms: 1.75 } : { charMs, t15Ms: 1.5 * charMs, t35Ms: 3.5 * charMs };
}
