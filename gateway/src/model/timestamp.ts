/**
 * Timestamps as integer microseconds since the epoch (PostgreSQL's and Strata's cold
 * DateTime64(6) resolution), formatted once in the one text form both COPY and ClickHouse
 * TSV accept: `YYYY-MM-DD hh:mm:ss.ffffff` (UTC; PostgreSQL gets a `+00` suffix).
 */

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

const RFC3339_Z = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/;
const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * A complete RFC 3339 timestamp with an explicit offset and at most microseconds, whose
 * fields are a real date and time in 1900–2299: text PostgreSQL reads exactly as meant.
 */
export function isPlainRfc3339(text: string): boolean {
  const m = RFC3339_Z.exec(text);
  if (!m) return false;
  const y = +m[1];
  const mo = +m[2];
  const d = +m[3];
  if (y < 1900 || y > 2298 || mo < 1 || mo > 12 || d < 1 || +m[4] > 23 || +m[5] > 59 || +m[6] > 59) return false;
  const leap = mo === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  return d <= DAYS[mo - 1] + (leap ? 1 : 0);
}

export function inRange(micros: number): boolean {
  return micros >= MIN_MICROS && micros < MAX_MICROS;
}

const DIGITS = /^\d+$/;

const pad2 = (n: number) => (n < 10 ? '0' : '') + n;

/** `YYYY-MM-DD hh:mm:ss.ffffff` in UTC. */
export function formatMicros(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const d = new Date(ms);
  const frac = micros - ms * 1000 + (d.getUTCMilliseconds() * 1000);
  const fracText = String(frac).padStart(6, '0');
  return (
    `${String(d.getUTCFullYear()).padStart(4, '0')}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ` +
    `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}.${fracText}`
  );
}
