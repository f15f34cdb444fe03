/**
 * Timestamps as integer microseconds since the epoch (PostgreSQL's and Strata's cold
 * DateTime64(6) resolution), formatted once in the one text form both COPY and ClickHouse
 * TSV accept: `YYYY-MM-DD hh:mm:ss.ffffff` (UTC; PostgreSQL gets a `+00` suffix).
 */

import { isLongLike, longNanosToMicros } from './int64';

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

/** Years PostgreSQL and ClickHouse's DateTime64 both hold (core refuses the rest too). */
const MIN_MICROS = Date.UTC(1900, 0, 1) * 1000;
const MAX_MICROS = Date.UTC(2300, 0, 1) * 1000;

/** RFC 3339 / ISO 8601 text to microseconds; undefined when it is not one. */
export function parseTimestampText(text: string): number | undefined {
  const m = ISO.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', tz] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (Number.isNaN(ms)) return undefined;
  // Date.UTC rolls 2024-02-31 over to March: refuse instead of storing another day.
  const check = new Date(ms);
  if (check.getUTCMonth() !== Number(mo) - 1 || check.getUTCDate() !== Number(d) || check.getUTCHours() !== Number(h) || check.getUTCMinutes() !== Number(mi)) return undefined;
  let micros = ms * 1000 + Number((frac + '000000').slice(0, 6));
  if (tz && tz !== 'Z' && tz !== 'z') {
    const sign = tz[0] === '-' ? -1 : 1;
    const digits = tz.slice(1).replace(':', '');
    const offsetMin = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0');
    micros -= sign * offsetMin * 60_000_000;
  }
  return inRange(micros) ? micros : undefined;
}

/**
 * A number as an epoch timestamp, its unit taken from its magnitude (as Vector and many
 * agents do): < 1e11 seconds, < 1e14 milliseconds, < 1e17 microseconds, else nanoseconds.
 */
export function epochNumberToMicros(n: number): number | undefined {
  if (!Number.isFinite(n)) return undefined;
  const a = Math.abs(n);
  let micros: number;
  if (a < 1e11) micros = Math.round(n * 1e6);
  else if (a < 1e14) micros = Math.round(n * 1e3);
  else if (a < 1e17) micros = Math.round(n);
  else micros = Math.floor(n / 1e3);
  return inRange(micros) ? micros : undefined;
}

/** Nanoseconds as protobuf/OTLP give them (Long, bigint, decimal string or number). */
export function nanosToMicros(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (isLongLike(v)) {
    const micros = longNanosToMicros(v);
    return inRange(micros) ? micros : undefined;
  }
  // Decimal text (protobufjs longs, OTLP/JSON): drop the last three digits — exact, no BigInt.
  if (typeof v === 'string' && v.length > 3 && v.length <= 19 && DIGITS.test(v)) {
    const micros = Number(v.slice(0, -3));
    return inRange(micros) ? micros : undefined;
  }
  let ns: bigint;
  try {
    ns = typeof v === 'bigint' ? v : BigInt(typeof v === 'number' ? Math.trunc(v) : String(v));
  } catch {
    return undefined;
  }
  const micros = Number(ns / 1000n);
  return inRange(micros) ? micros : undefined;
}

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * A complete RFC 3339 timestamp with an explicit offset and at most microseconds, whose
 * fields are a real date and time in 1900–2299: text PostgreSQL reads exactly as meant.
 */
export function isPlainRfc3339(text: string): boolean {
  const n = text.length;
  if (n > RFC3339_MAX_LENGTH) return false;
  // Every character of the shape is ASCII; checked here because a latin1 write keeps only
  // a character's low byte (U+0132 would become the digit 2).
  for (let i = 0; i < n; i++) if (text.charCodeAt(i) > 0x7f) return false;
  SCRATCH.write(text, 0, n, 'latin1');
  return isPlainRfc3339Bytes(SCRATCH, 0, n);
}

/** `YYYY-MM-DDThh:mm:ss.ffffff+hh:mm` */
const RFC3339_MAX_LENGTH = 32;
const SCRATCH = Buffer.alloc(RFC3339_MAX_LENGTH);

/**
 * isPlainRfc3339 of the bytes b[start, end), read in place: the JSON hot path checks one
 * timestamp per row straight from the request body, without making a string of it.
 */
export function isPlainRfc3339Bytes(b: Uint8Array, start: number, end: number): boolean {
  // By byte position rather than a capturing regex: this runs once per ingested row.
  // Shape: YYYY-MM-DDThh:mm:ss[.f{1,6}](Z|±hh:mm)
  const n = end - start;
  if (n < 20 || b[start + 4] !== 0x2d || b[start + 7] !== 0x2d || b[start + 10] !== 0x54) return false;
  if (b[start + 13] !== 0x3a || b[start + 16] !== 0x3a) return false;
  const y = digits(b, start, 4);
  const mo = digits(b, start + 5, 2);
  const d = digits(b, start + 8, 2);
  const h = digits(b, start + 11, 2);
  const mi = digits(b, start + 14, 2);
  const sec = digits(b, start + 17, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || sec < 0) return false;
  let pos = start + 19;
  if (b[pos] === 0x2e) {
    let f = 0;
    while (pos + 1 + f < end && isDigit(b[pos + 1 + f])) f++;
    if (f < 1 || f > 6) return false;
    pos += 1 + f;
  }
  const zone = pos < end ? b[pos] : -1;
  if (zone === 0x5a) {
    if (pos + 1 !== end) return false;
  } else if (zone === 0x2b || zone === 0x2d) {
    if (pos + 6 !== end || b[pos + 3] !== 0x3a || digits(b, pos + 1, 2) < 0 || digits(b, pos + 4, 2) < 0) return false;
  } else return false;
  if (y < 1900 || y > 2298 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59) return false;
  const leap = mo === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  return d <= DAYS[mo - 1] + (leap ? 1 : 0);
}

/** An ASCII digit's character code (callers scan strings and bytes alike; undefined past the end is not one). */
export function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** The decimal value of b[start, start+count), or -1 unless all are ASCII digits. */
function digits(b: Uint8Array, start: number, count: number): number {
  let v = 0;
  for (let i = start; i < start + count; i++) {
    const c = b[i];
    if (!isDigit(c)) return -1;
    v = v * 10 + (c - 0x30);
  }
  return v;
}

export function inRange(micros: number): boolean {
  return micros >= MIN_MICROS && micros < MAX_MICROS;
}

const DIGITS = /^\d+$/;

const pad2 = (n: number) => (n < 10 ? '0' : '') + n;

/**
 * `YYYY-MM-DD hh:mm:ss.ffffff` in UTC. The text up to the second is kept from the last
 * call: a batch's rows mostly share their second, and the calendar part is most of the cost.
 */
let lastSecond = Number.NaN;
let lastSecondText = '';
export function formatMicros(micros: number): string {
  const second = Math.floor(micros / 1_000_000);
  if (second !== lastSecond) {
    const d = new Date(second * 1000);
    lastSecondText =
      `${String(d.getUTCFullYear()).padStart(4, '0')}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ` +
      `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
    lastSecond = second;
  }
  const frac = micros - second * 1_000_000;
  return lastSecondText + '.' + String(frac).padStart(6, '0');
}
