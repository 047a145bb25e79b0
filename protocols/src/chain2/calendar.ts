/**
 * Time in the Italian electricity market: Europe/Rome local time (DST aware, computed with Intl — no tz database of
 * our own), ARERA tariff bands F1/F2/F3, and market-day quarter slots (96; 92 / 100 on DST change days).
 * F1: Mon–Fri 08:00–19:00. F2: Mon–Fri 07:00–08:00 and 19:00–23:00, Sat 07:00–23:00. F3: Mon–Sat 23:00–07:00,
 * all of Sunday and national holidays (1 Jan, 6 Jan, Easter Monday, 25 Apr, 1 May, 2 Jun, 15 Aug, 1 Nov, 8 Dec,
 * 25 Dec, 26 Dec). Source: ../shared/reference/chain2.md (ARERA).
 */
// Created on first use, not at import: a time-zone formatter pages in ≈ 8 MB of the runtime's ICU data, which a
// device that never asks for Rome time (no Chain 2 source, no market day) should not carry in its RSS.
let formatter: Intl.DateTimeFormat | undefined;
const fmt = (): Intl.DateTimeFormat => (formatter ??= new Intl.DateTimeFormat('en-GB', ROME_FIELDS));
const ROME_FIELDS: Intl.DateTimeFormatOptions = {
  timeZone: 'Europe/Rome',
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  weekday: 'short',
};
const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

export interface RomeTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 1 = Monday … 7 = Sunday (DLMS convention). */
  weekday: number;
}

/** Europe/Rome wall-clock fields of a UTC instant. */
export function romeTime(utcMs: number): RomeTime {
  const parts = Object.fromEntries(
    fmt()
      .formatToParts(new Date(utcMs))
      .map((p) => [p.type, p.value]),
  );
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
    weekday: WEEKDAYS[parts.weekday!]!,
  };
}

/** UTC offset of Europe/Rome at an instant, ms (3 600 000 in winter, 7 200 000 in summer). */
export function romeOffsetMs(utcMs: number): number {
  const t = romeTime(utcMs);
  return Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second) - Math.floor(utcMs / 1000) * 1000;
}

/** The UTC instant of a Europe/Rome wall-clock time (the earlier one when ambiguous). */
export function romeToUtc(year: number, month: number, day: number, hour = 0, minute = 0, second = 0): number {
  const guess = Date.UTC(year, month - 1, day, hour, minute, second);
  for (const off of [3_600_000, 7_200_000].sort((a, b) => romeOffsetMs(guess - b) - romeOffsetMs(guess - a))) {
    const u = guess - off;
    const t = romeTime(u);
    if (t.year === year && t.month === month && t.day === day && t.hour === hour && t.minute === minute) return u;
  }
  return guess - romeOffsetMs(guess);
}

/** Easter Sunday (Gregorian; anonymous algorithm) as [month, day]. */
export function easterSunday(year: number): [number, number] {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return [month, day];
}

const FIXED_HOLIDAYS = ['01-01', '01-06', '04-25', '05-01', '06-02', '08-15', '11-01', '12-08', '12-25', '12-26'];

export function isItalianHoliday(year: number, month: number, day: number): boolean {
  if (FIXED_HOLIDAYS.includes(`${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`)) return true;
  const [em, ed] = easterSunday(year);
  const monday = new Date(Date.UTC(year, em - 1, ed + 1));
  return monday.getUTCMonth() + 1 === month && monday.getUTCDate() === day;
}

/** ARERA tariff band (1 = F1, 2 = F2, 3 = F3) in force at a UTC instant. */
export function tariffBand(utcMs: number): 1 | 2 | 3 {
  const t = romeTime(utcMs);
  if (t.weekday === 7 || isItalianHoliday(t.year, t.month, t.day)) return 3;
  if (t.hour >= 23 || t.hour < 7) return 3;
  if (t.weekday === 6) return 2;
  return t.hour >= 8 && t.hour < 19 ? 1 : 2;
}

/** Start (UTC ms) of the market day (local midnight) containing `utcMs`. */
export function marketDayStart(utcMs: number): number {
  const t = romeTime(utcMs);
  return romeToUtc(t.year, t.month, t.day);
}

/** Number of 15-min slots of the market day containing `utcMs`: 96, or 92 / 100 on DST change days. */
export function slotsInMarketDay(utcMs: number): number {
  const start = marketDayStart(utcMs);
  const next = marketDayStart(start + 26 * 3_600_000);
  return (next - start) / 900_000;
}

/** 0-based slot index of `utcMs` within its market day. */
export function slotIndex(utcMs: number): number {
  return Math.floor((utcMs - marketDayStart(utcMs)) / 900_000);
}
