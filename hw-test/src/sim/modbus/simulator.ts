/**
 * The Modbus meter simulator: a register image generated from any device profile, values driven by a load model,
 * and composable faults. The same object answers requests in-process (tests), over Modbus TCP and over Modbus RTU on
 * a virtual serial line (servers.ts), and behind `lightnode sim meter`.
 */
import {
  LightNodeError,
  RegisterImage,
  encodeResponsePdu,
  decodeRequestPdu,
  identifyImage,
  imageFromProfile,
  sunspecImage,
  type Clock,
  type ModbusResponse,
  type Profile,
  type ProfileLookup,
} from '@lightnode/protocols';
import { LoadModel, type LoadModelOptions } from '../load-model.js';

/** A fault, applied to matching requests. `probability` (0..1, default 1) and `every` (every Nth request) select them. */
export type Fault = (
  | { kind: 'timeout' } // no answer at all
  | { kind: 'bad-crc' } // RTU: the reply's CRC is wrong
  | { kind: 'wrong-unit' } // the reply carries another unit id
  | { kind: 'exception'; code: number }
  | { kind: 'corrupt-byte' } // one byte of the reply flipped (RTU: CRC then fails; TCP: data wrong)
  | { kind: 'slow'; delayMs: number } // answer late
  | { kind: 'drop-connection' } // TCP: close the connection instead of answering
  | { kind: 'reboot'; everyMs: number; downMs: number } // periodically: no answer, then registers read 0 for a while
) & { probability?: number; every?: number };

/** Parses `KIND[:ARG][@PROBABILITY]`, e.g. `timeout@0.1`, `exception:2`, `slow:250`, `reboot:60000/5000`. */
export function parseFault(s: string): Fault {
  const m = /^([a-z-]+)(?::([^@]+))?(?:@([0-9.]+))?$/.exec(s);
  const bad = (why: string): never => {
    throw new LightNodeError(
      'USAGE',
      `--fault ${JSON.stringify(s)}: ${why} (KIND[:ARG][@PROBABILITY]; kinds: timeout, bad-crc, wrong-unit, exception:CODE, corrupt-byte, slow:MS, drop-connection, reboot:EVERY_MS/DOWN_MS)`,
    );
  };
  if (!m) return bad('malformed');
  const [, kind, arg, prob] = m;
  const probability = prob !== undefined ? Number(prob) : undefined;
  if (probability !== undefined && !(probability >= 0 && probability <= 1)) bad('probability must be 0..1');
  const p = probability !== undefined ? { probability } : {};
  const num = (x: string | undefined, name: string): number => {
    const n = Number(x);
    if (x === undefined || !Number.isFinite(n) || n < 0) return bad(`${name} must be a non-negative number`);
    return n;
  };
  switch (kind) {
    case 'timeout':
    case 'bad-crc':
    case 'wrong-unit':
    case 'corrupt-byte':
    case 'drop-connection':
      return { kind, ...p };
    case 'exception':
      return { kind, code: num(arg ?? '4', 'code'), ...p };
    case 'slow':
      return { kind, delayMs: num(arg, 'delay'), ...p };
    case 'reboot': {
      const [every, down] = (arg ?? '').split('/');
      return { kind, everyMs: num(every, 'period'), downMs: num(down ?? '5000', 'down time'), ...p };
    }
    default:
      return bad(`unknown kind ${kind}`);
  }
}

export interface SimulatorOptions {
  profile: Profile;
  unit: number;
  clock: Clock;
  load?: LoadModelOptions;
  faults?: Fault[];
  /** Refresh the image from the load model at most this often (ms, default 200). */
  refreshMs?: number;
  /** For SunSpec model profiles: where the SunSpec map starts (default 40000) and the common model profile. */
  sunspec?: { base?: number; profiles: ProfileLookup };
  /** Fixed values instead of the load model (tests, contract suites), or a function of the time (the ESS site). */
  values?: Partial<Record<string, number>> | ((nowMs: number) => Partial<Record<string, number>>);
  random?: () => number;
  /** Fills the image instead of the profile and the load model (the ESS simulator's battery, ess/modbus-device.ts). */
  fill?: (image: RegisterImage, nowMs: number) => void;
  /**
   * Sees each write (fc 6 / 16) of existing registers once stored; returning a Modbus exception code refuses it
   * (the registers are put back as they were).
   */
  onWrite?: (address: number, values: readonly number[]) => number | undefined;
}

/** What a transport should do with one request. */
export type SimAction =
  | { kind: 'reply'; unit: number; pdu: Uint8Array; delayMs: number; corrupt?: boolean; badCrc?: boolean }
  | { kind: 'silence' }
  | { kind: 'drop' };

export class MeterSimulator {
  readonly image = new RegisterImage();
  readonly load: LoadModel;
  private requests = 0;
  private lastRefresh = -Infinity;
  private readonly bootMs: number;
  private zeroUntil = -Infinity;
  readonly stats = { requests: 0, replies: 0, exceptions: 0, faults: 0 };
  private readonly random: () => number;

  constructor(readonly o: SimulatorOptions) {
    this.load = new LoadModel({ phases: o.profile.phases ?? 3, ...o.load });
    this.bootMs = o.clock.now();
    this.random = o.random ?? Math.random;
    this.refresh(true);
  }

  get unit(): number {
    return this.o.unit;
  }

  /** Rewrites the image from the load model (or fixed values). */
  refresh(force = false): void {
    const now = this.o.clock.now();
    if (!force && now - this.lastRefresh < (this.o.refreshMs ?? 200)) return;
    this.lastRefresh = now;
    if (this.o.fill) {
      this.o.fill(this.image, now);
      this.serveIdentify();
      if (now < this.zeroUntil) this.image.zero();
      return;
    }
    const values = typeof this.o.values === 'function' ? this.o.values(now) : (this.o.values ?? this.load.at(now));
    if (this.o.profile.kind === 'sunspec-model' && this.o.sunspec) {
      const common = this.o.sunspec.profiles.get('sunspec/common');
      const model = this.o.profile.sunspecModel!;
      sunspecImage(
        // the common model's own simulator is the SunSpec map with no model after the common one
        model === 1 ? [] : [{ profile: this.o.profile, values, length: model >= 211 ? 124 : 105 }],
        {
          profile: common,
          named: { Mn: 'LightNode', Md: `SIM-${this.o.profile.sunspecModel}`, SN: `SIM${this.o.unit}`, Vr: '1.0' },
        },
        this.o.sunspec.base ?? 40000,
        this.image,
      );
    } else imageFromProfile(this.o.profile, values, { image: this.image });
    this.serveIdentify();
    if (now < this.zeroUntil) this.image.zero();
  }

  /**
   * The profile's identify registers (model / meter code, marker, serial) answer as the device's would. A SunSpec map
   * (the `sunspec` option, or a `fill` such as the ESS simulator's) already holds its own marker and model chain, at
   * its own base: nothing is added to it (identify's fixed 40000 layout then matches exactly when the map has it).
   */
  private serveIdentify(): void {
    if (this.o.profile.kind === 'sunspec-model' && (this.o.sunspec || this.o.fill)) return;
    identifyImage(this.o.profile, { image: this.image, serial: this.o.unit });
  }

  private selected(f: Fault): boolean {
    if (f.every !== undefined && this.requests % f.every !== 0) return false;
    return this.random() < (f.probability ?? 1);
  }

  /** Decides the answer to one request PDU addressed to `unit`. Garbage PDUs get exception 1 or 3, never a crash. */
  handle(unit: number, pdu: Uint8Array): SimAction {
    if (unit !== this.o.unit && unit !== 0) return { kind: 'silence' };
    this.requests++;
    this.stats.requests++;
    const now = this.o.clock.now();
    let delayMs = 0;
    let replyUnit = this.o.unit;
    let corrupt = false;
    let badCrc = false;
    for (const f of this.o.faults ?? []) {
      if (f.kind === 'reboot') {
        const phase = (now - this.bootMs) % f.everyMs;
        if (now - this.bootMs >= f.everyMs && phase < f.downMs) {
          this.zeroUntil = now - phase + f.downMs + f.downMs; // after coming back, registers read 0 for a while
          this.stats.faults++;
          return { kind: 'silence' };
        }
        continue;
      }
      if (!this.selected(f)) continue;
      this.stats.faults++;
      switch (f.kind) {
        case 'timeout':
          return { kind: 'silence' };
        case 'drop-connection':
          return { kind: 'drop' };
        case 'exception':
          this.stats.exceptions++;
          return {
            kind: 'reply',
            unit: replyUnit,
            pdu: encodeResponsePdu({ fc: pdu[0] ?? 0, exception: f.code }),
            delayMs,
          };
        case 'slow':
          delayMs += f.delayMs;
          break;
        case 'wrong-unit':
          replyUnit = (this.o.unit % 247) + 1;
          break;
        case 'corrupt-byte':
          corrupt = true;
          break;
        case 'bad-crc':
          badCrc = true;
          break;
      }
    }
    this.refresh();
    const resp = this.answer(pdu);
    if ('exception' in resp) this.stats.exceptions++;
    this.stats.replies++;
    return { kind: 'reply', unit: replyUnit, pdu: encodeResponsePdu(resp), delayMs, corrupt, badCrc };
  }

  private answer(pdu: Uint8Array): ModbusResponse {
    const req = decodeRequestPdu(pdu);
    const fc = pdu[0] ?? 0;
    if (!req) return { fc: fc & 0x7f, exception: [1, 2, 3, 4, 5, 6, 15, 16].includes(fc) ? 3 : 1 };
    switch (req.fc) {
      case 3:
      case 4: {
        const v = this.image.read(req.fc, req.address, req.count);
        return v ? { fc: req.fc, values: v } : { fc: req.fc, exception: 2 };
      }
      case 6: {
        const exception = this.write(req.address, [req.value]);
        return exception ? { fc: 6, exception } : { fc: 6, address: req.address, value: req.value };
      }
      case 16: {
        const exception = this.write(req.address, req.values);
        return exception ? { fc: 16, exception } : { fc: 16, address: req.address, count: req.values.length };
      }
      default:
        return { fc: req.fc, exception: 1 };
    }
  }

  /** Stores a write of holding registers; exception 2 when one does not exist, or the `onWrite` hook's refusal. */
  private write(address: number, values: readonly number[]): number | undefined {
    for (let i = 0; i < values.length; i++) if (!this.image.has(3, address + i)) return 2;
    const before = this.image.read(3, address, values.length)!;
    this.image.set(3, address, values);
    const refused = this.o.onWrite?.(address, values);
    if (refused) this.image.set(3, address, before);
    return refused;
  }
}
