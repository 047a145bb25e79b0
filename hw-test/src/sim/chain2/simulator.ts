/**
 * A Chain 2 meter behind a certified gateway, simulated: a load (and optional PV) profile integrated at a fixed step,
 * emitting the frames a Chain2Gate publishes — CF20 at start; CF1 at every quarter boundary (+ a few seconds of
 * jitter); CF21 / CF51 on every power step ≥ Gap W; CF22 when power exceeds the available power (with a countdown);
 * CF23 after a supply interruption; CF5 daily after local midnight, CF9 weekly, CF10 monthly — with F1/F2/F3 from the
 * Europe/Rome calendar (DST aware). Time is whatever the caller says: `runUntil(tMs)` can run a week in a second.
 * Faults: lost, late and duplicate frames, a gateway reboot (its counters read 0 for a few quarters), malformed JSON.
 */
import {
  encodeChain2Frame,
  makeChain2Data,
  marketDayStart,
  padPod,
  romeTime,
  tariffBand,
  type CfType,
} from '@lightnode/protocols';

export interface Chain2SimOptions {
  gatewayId?: string;
  pod: string;
  meter?: string;
  startMs: number;
  /** Integration step, ms (default 10 s). */
  stepMs?: number;
  baseLoadW?: number;
  pvPeakW?: number;
  contractPowerW?: number;
  availablePowerW?: number;
  gapW?: number;
  seed?: number;
  /** Max jitter of CF1 after the quarter boundary, s (default 5). */
  jitterS?: number;
  /**
   * Probabilities per frame: `lose` it, `duplicate` it (a second copy 1 s later), publish it `late` (1 to 5 simulated
   * minutes after its time), or cut it in half (`malformed`).
   */
  faults?: { lose?: number; duplicate?: number; late?: number; malformed?: number };
  /**
   * The gateway restarts every this many wall-clock seconds (the servers drop their connections; the meter's
   * counters read 0 for the next quarter). Used by the servers, not by `Chain2MeterSim` itself (its time is the
   * caller's).
   */
  rebootEveryS?: number;
}

/** How late a late frame is published: 1 to 5 simulated minutes. */
export const LATE_MIN_MS = 60_000;
export const LATE_MAX_MS = 300_000;

/** One emitted frame: when the gateway publishes it, and its text. */
export interface EmittedFrame {
  atMs: number;
  type: CfType | 'malformed';
  text: string;
}

export class Chain2MeterSim {
  private t: number;
  private totalWh = 1_000_000;
  private quarterStartWh = 1_000_000;
  private prevQuarterWh = 0;
  private dayBands = [0, 0, 0, 0, 0, 0];
  private monthBands = [0, 0, 0, 0, 0, 0];
  private dayMaxW = 0;
  private monthMaxQuarterW = 0;
  private powerW = 0;
  private lastReportedW = 0;
  private eventsCounter = 0;
  private rebootQuarters = 0;
  private readonly queue: EmittedFrame[] = [];
  private rnd: () => number;
  readonly stats = { cf1: 0, lost: 0, duplicated: 0, malformed: 0, late: 0, reboots: 0 };

  constructor(private readonly o: Chain2SimOptions) {
    this.t = o.startMs;
    let a = (o.seed ?? 1) >>> 0;
    this.rnd = () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let x = a;
      x = Math.imul(x ^ (x >>> 15), x | 1);
      x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
      return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
    };
    this.emit('CF20', this.t, {
      MessagePosixTimestamp: Math.floor(this.t / 1000),
      EventType: 1,
      EventPosixTimestamp: Math.floor(this.t / 1000),
      EventsCounter: 0,
      CustomerCode: 'Non Disponibile',
      POD: padPod(o.pod),
      PESSE: 0,
      Vendor: 'Non Disponibile',
      Phone: 'Non Disponibile',
      StartContract: '255/255/65535 [255]',
      ContractPower: o.contractPowerW ?? 3000,
      AvailablePower: o.availablePowerW ?? 3300,
      FreezingDay: '01/255/65535 [255]',
      Gap: o.gapW ?? 300,
      DataPlate: '21E4E5KA101249263',
      K: 0,
    });
  }

  get meter(): string {
    return this.o.meter ?? 'M1';
  }

  /** A supply interruption of `durationS` ending now: the meter reports it with CF23 (and counts the event). */
  outage(durationS: number): void {
    this.eventsCounter++;
    this.emit('CF23', this.t, { EventType: 1, EventsCounter: this.eventsCounter, OutageDuration: durationS });
  }

  /** The gateway restarts: its counters read 0 for the next `quarters` quarters (default 3) before it resyncs. */
  reboot(quarters = 3): void {
    this.rebootQuarters = quarters;
    this.stats.reboots++;
  }

  private emit(type: CfType, atMs: number, payload: Record<string, unknown>, fault = true): void {
    const f = this.o.faults ?? {};
    const frame = makeChain2Data({
      id: this.o.gatewayId ?? 'c2g-5151A1B2',
      tsMs: atMs - 20_000,
      meter: this.meter,
      type,
      payload,
    });
    let text = encodeChain2Frame(frame);
    if (fault && f.lose && this.rnd() < f.lose) {
      this.stats.lost++;
      return;
    }
    if (fault && f.malformed && this.rnd() < f.malformed) {
      this.stats.malformed++;
      text = text.slice(0, Math.floor(text.length / 2));
      this.queue.push({ atMs, type: 'malformed', text });
      return;
    }
    const late = fault && f.late && this.rnd() < f.late ? LATE_MIN_MS + this.rnd() * (LATE_MAX_MS - LATE_MIN_MS) : 0;
    if (late) this.stats.late++;
    this.queue.push({ atMs: atMs + late, type, text });
    if (fault && f.duplicate && this.rnd() < f.duplicate) {
      this.stats.duplicated++;
      this.queue.push({ atMs: atMs + late + 1000, type, text });
    }
  }

  private load(tMs: number): number {
    const hour = romeTime(tMs).hour + romeTime(tMs).minute / 60;
    const daily =
      0.35 + 0.4 * Math.max(0, Math.sin(((hour - 6) / 24) * 2 * Math.PI)) + 0.6 * Math.exp(-((hour - 20) ** 2) / 3);
    const pv = (this.o.pvPeakW ?? 0) * Math.max(0, Math.sin(((hour - 6.5) / 13) * Math.PI));
    const noise = 0.85 + 0.3 * this.rnd();
    return Math.max(0, (this.o.baseLoadW ?? 1800) * daily * noise - pv);
  }

  /** Advances the meter to `tMs` and returns the frames published up to then, in order. */
  runUntil(tMs: number): EmittedFrame[] {
    const step = this.o.stepMs ?? 10_000;
    while (this.t + step <= tMs) {
      const t0 = this.t;
      const t1 = t0 + step;
      const p = this.load(t0);
      const e = (p * step) / 3_600_000;
      this.totalWh += e;
      this.powerW = p;
      this.dayMaxW = Math.max(this.dayMaxW, p);
      const gap = this.o.gapW ?? 300;
      if (Math.abs(p - this.lastReportedW) >= gap) {
        this.eventsCounter++;
        this.lastReportedW = p;
        this.emit('CF51', t1, {
          EventType: 1,
          EventsCounter: this.eventsCounter,
          InstantPower: Math.round(p),
          Gap: gap,
          EventPosixTimestamp: Math.floor(t1 / 1000),
          MessagePosixTimestamp: Math.floor(t1 / 1000) + 1,
        });
      }
      if (p > (this.o.availablePowerW ?? 3300)) {
        this.emit('CF22', t1, {
          InstantPower: Math.round(p),
          AvailablePower: this.o.availablePowerW ?? 3300,
          SwitchOffCountdownSeconds: 120,
        });
      }
      this.t = t1;
      if (t1 % 900_000 === 0) this.closeQuarter(t1, tariffBand(t1 - 1));
      const local = romeTime(t1);
      if (
        local.hour === 0 &&
        local.minute === 0 &&
        local.second === 0 &&
        t1 % 60_000 === 0 &&
        t1 === marketDayStart(t1)
      )
        this.closeDay(t1);
    }
    this.queue.sort((a, b) => a.atMs - b.atMs);
    const out: EmittedFrame[] = [];
    while (this.queue.length && this.queue[0]!.atMs <= tMs) out.push(this.queue.shift()!);
    return out;
  }

  private closeQuarter(boundaryMs: number, band: number): void {
    const total = Math.floor(this.totalWh);
    const quarter = total - Math.floor(this.quarterStartWh);
    this.quarterStartWh = this.totalWh;
    this.dayBands[band - 1]! += quarter;
    this.monthBands[band - 1]! += quarter;
    this.monthMaxQuarterW = Math.max(this.monthMaxQuarterW, quarter * 4);
    const s = boundaryMs / 1000;
    const jitter = Math.floor(this.rnd() * ((this.o.jitterS ?? 5) + 1));
    const rebooted = this.rebootQuarters > 0;
    if (rebooted) this.rebootQuarters--;
    this.stats.cf1++;
    this.emit('CF1', boundaryMs + jitter * 1000, {
      MessagePosixTimestamp: s + jitter,
      MeasurePosixTimestamp: s,
      TariffCode: band,
      TotalActEnergy: rebooted ? 0 : total,
      CurrQuartActEnergy: rebooted ? 0 : quarter,
      PrevQuartActEnergy: this.prevQuarterWh,
      QuartAveragePower: quarter * 4,
      InstantPower: Math.round(this.powerW),
    });
    this.prevQuarterWh = quarter;
  }

  private closeDay(midnightMs: number): void {
    const s = midnightMs / 1000;
    const local = romeTime(midnightMs - 1000);
    const p2 = (n: number) => String(n).padStart(2, '0');
    this.emit('CF5', midnightMs + 54 * 60_000, {
      MessagePosixTimestamp: s + 54 * 60,
      MeasurePosixTimestamp: s - 1,
      ...Object.fromEntries(this.dayBands.map((v, i) => [`DailyTotalActEnergyF${i + 1}`, v])),
      DailyMaxInstantPower: Math.round(this.dayMaxW),
      DailyMaxInstantPowerDateTime: `${p2(local.day)}/${p2(local.month)}/${local.year} 12:00:00 [${local.weekday}]`,
      PrepaidCredit: 0,
      DayType: local.weekday,
    });
    this.dayBands = [0, 0, 0, 0, 0, 0];
    this.dayMaxW = 0;
    const now = romeTime(midnightMs);
    if (now.weekday === 1)
      this.emit('CF9', midnightMs + 60 * 60_000, {
        WeeklyVeffMin: 221,
        WeeklyVeffMinDateTime: `${p2(local.day)}/${p2(local.month)}/${local.year} 03:00:00 [${local.weekday}]`,
        WeeklyVeffMax: 239,
        WeeklyVeffMaxDateTime: `${p2(local.day)}/${p2(local.month)}/${local.year} 14:00:00 [${local.weekday}]`,
        CounterVeffBetween10Percent: 10080,
        CounterVeffUpto15NegPercent: 0,
        CounterVeffUpto15PosPercent: 0,
        CounterVeffOver15PosPercent: 0,
        CounterVeffUnder15NegPercent: 0,
      });
    if (now.day === 1) {
      this.emit('CF10', midnightMs + 4 * 3_600_000 + 53 * 60_000, {
        MessagePosixTimestamp: s + 4 * 3600 + 53 * 60,
        MeasurePosixTimestamp: s,
        ...Object.fromEntries(this.monthBands.map((v, i) => [`MonthlyTotalActEnergyF${i + 1}`, v])),
        MonthlyMaxQuartAveragePower: this.monthMaxQuarterW,
        MonthlyMaxQuartAveragePowerDateTime: `${p2(local.day)}/${p2(local.month)}/${local.year} 12:00:00 [${local.weekday}]`,
        ClosingCode: 1,
      });
      this.monthBands = [0, 0, 0, 0, 0, 0];
      this.monthMaxQuarterW = 0;
    }
  }
}
