/**
 * DLMS-style date strings as Chain 2 devices publish them: `dd/mm/yyyy[ hh:mm:ss] [d]` where d is the weekday
 * (1 = Monday … 7 = Sunday) and 255 (day, month, weekday, time fields) / 65535 (year) mean "unspecified" — never a
 * wrong date. E.g. `30/01/2022 09:35:44 [7]`, `255/255/65535 [255]`, `01/255/65535 [255]`.
 */
import { romeToUtc } from './calendar.js';

export interface DlmsDate {
  /** null = unspecified (255 / 65535 on the wire). */
  day: number | null;
  month: number | null;
  year: number | null;
  hour: number | null;
  minute: number | null;
  second: number | null;
  weekday: number | null;
  /** The text exactly as published. */
  text: string;
}

const RE = /^(\d{1,3})\/(\d{1,3})\/(\d{1,5})(?: (\d{1,3}):(\d{1,3}):(\d{1,3}))?(?: \[(\d{1,3})\])?$/;

/** Parses a DLMS date string; null when it is not one. */
export function parseDlmsDate(text: string): DlmsDate | null {
  const m = RE.exec(text.trim());
  if (!m) return null;
  const n = (s: string | undefined, wildcard: number, max: number, min = 0): number | null | undefined => {
    if (s === undefined) return null;
    const v = Number(s);
    if (v === wildcard) return null;
    return v >= min && v <= max ? v : undefined;
  };
  const day = n(m[1], 255, 31, 1);
  const month = n(m[2], 255, 12, 1);
  const year = n(m[3], 65535, 9999, 1);
  const hour = n(m[4], 255, 23);
  const minute = n(m[5], 255, 59);
  const second = n(m[6], 255, 59);
  const weekday = n(m[7], 255, 7, 1);
  if ([day, month, year, hour, minute, second, weekday].some((x) => x === undefined)) return null;
  return {
    day: day!,
    month: month!,
    year: year!,
    hour: hour!,
    minute: minute!,
    second: second!,
    weekday: weekday!,
    text,
  };
}

/** The instant (UTC ms) of a fully specified date, read as Europe/Rome local time; null when any field is unspecified. */
export function dlmsDateToUtc(d: DlmsDate): number | null {
  if (d.day === null || d.month === null || d.year === null) return null;
  if (d.hour === null && (d.minute !== null || d.second !== null)) return null;
  return romeToUtc(d.year, d.month, d.day, d.hour ?? 0, d.minute ?? 0, d.second ?? 0);
}
