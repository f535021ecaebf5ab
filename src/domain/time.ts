// Time rules of SPEC 2.2: parse the input forms the API accepts, print whole seconds in a
// display zone. Internally every instant is epoch milliseconds, UTC.

import { remembering } from './remembering.ts';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

export function floorHour(ms: number): number {
  return Math.floor(ms / HOUR_MS) * HOUR_MS;
}

/** The hour whose records a reading stamped at `ms` counts in: readings are taken in (hour, hour + 1h]. */
export function hourOfReading(ms: number): number {
  return floorHour(ms - 1);
}

export function floorDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

// Date, optional time ("T", " " or the seeds' "T " between), optional fraction, optional zone.
// A zone of " hh:mm" is a "+" that an unencoded query string turned into a space.
const ISO_INPUT =
  /^(\d{4})-(\d{2})-(\d{2})(?:(?:T ?| )(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+\- ]\d{2}(?::?\d{2})?)?)?$/;

export const ACCEPTED_TIME_FORMS =
  'YYYY-MM-DD, YYYY-MM-DDTHH:mm or YYYY-MM-DDTHH:mm:ss, optional fraction, optional zone Z, ±hh, ±hhmm or ±hh:mm';

export type ParsedTime = { ok: true; ms: number } | { ok: false; reason: string };

export function parseTime(text: string): ParsedTime {
  const m = ISO_INPUT.exec(text);
  if (!m) return { ok: false, reason: `expected ${ACCEPTED_TIME_FORMS}` };
  const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', zone = 'Z'] = m;
  const year = Number(y), month = Number(mo), day = Number(d);
  const hour = Number(h), minute = Number(mi), second = Number(s);
  if (year < 1970) return { ok: false, reason: 'years before 1970 are not accepted' };
  if (month < 1 || month > 12) return { ok: false, reason: `month ${mo} does not exist` };
  if (day < 1 || day > daysInMonth(year, month)) return { ok: false, reason: `${y}-${mo}-${d} is not a calendar date` };
  if (hour > 23 || minute > 59 || second > 59) return { ok: false, reason: `${h}:${mi}:${s} is not a time of day` };
  const offset = zoneOffsetMinutes(zone);
  if (offset === undefined) return { ok: false, reason: `zone ${zone.trim()} is not an offset between -14:00 and +14:00` };
  const millis = Math.floor(Number(`0.${frac || '0'}`) * 1000);
  return { ok: true, ms: Date.UTC(year, month - 1, day, hour, minute, second, millis) - offset * 60_000 };
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function zoneOffsetMinutes(zone: string): number | undefined {
  if (zone === 'Z') return 0;
  const sign = zone[0] === '-' ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
  if (minutes > 59 || hours * 60 + minutes > 14 * 60) return undefined;
  return sign * (hours * 60 + minutes);
}

/** Prints instants as whole-second ISO-8601 in one display zone, DST-correct. */
export interface TimePrinter {
  readonly zone: string;
  print(ms: number): string;
}

// Usage records start and end on few distinct instants (mostly whole hours), and a page prints two
// a record: the instants printed are remembered instead of formatted each again.
export function utcPrinter(): TimePrinter {
  return {
    zone: 'UTC',
    print: remembering((ms) => new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19) + 'Z'),
  };
}

// Zone transitions happen on quarter hours of UTC in every zone of the IANA database, so the
// offset of a quarter hour is the offset of every instant in it: cache it per quarter hour.
const QUARTER_MS = 15 * 60_000;

export function timePrinter(zone: string): TimePrinter {
  if (zone === 'UTC' || zone === 'Etc/UTC') return utcPrinter();
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit',
  });
  const offsets = new Map<number, number>();
  const offsetAt = (ms: number): number => {
    const quarter = Math.floor(ms / QUARTER_MS);
    let offset = offsets.get(quarter);
    if (offset === undefined) {
      const p = Object.fromEntries(parts.formatToParts(quarter * QUARTER_MS).map((x) => [x.type, x.value]));
      const local = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
      offset = Math.round((local - quarter * QUARTER_MS) / 60_000);
      if (offsets.size > 100_000) offsets.clear();
      offsets.set(quarter, offset);
    }
    return offset;
  };
  return {
    zone,
    print: remembering((ms) => {
      const offset = offsetAt(ms);
      const local = new Date(Math.floor(ms / 1000) * 1000 + offset * 60_000).toISOString().slice(0, 19);
      const abs = Math.abs(offset);
      const sign = offset < 0 ? '-' : '+';
      return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
    }),
  };
}

export function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
