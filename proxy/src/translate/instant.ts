/**
 * Instants as microseconds since the Unix epoch (bigint: past 2^53 µs is only year
 * 2255, inside ClickHouse's DateTime64 range). ±infinity are sentinels beyond any
 * real value, as PostgreSQL's timestamptz has them.
 */
export type Instant = bigint;
export const POS_INFINITY: Instant = 10n ** 30n;
export const NEG_INFINITY: Instant = -(10n ** 30n);

/** ClickHouse DateTime64 covers 1900-01-01 .. 2299-12-31: beyond that, like infinity. */
export const CH_MIN_US: Instant = BigInt(Date.UTC(1900, 0, 1)) * 1000n;
export const CH_MAX_US: Instant = BigInt(Date.UTC(2299, 11, 31, 23, 59, 59)) * 1000n + 999_999n;

/** Parses PostgreSQL's `extract(epoch from ts)::text` ('1767484800.123456', 'Infinity'). */
export function instantFromEpochText(text: string): Instant {
  const t = text.trim();
  if (t === 'Infinity') return POS_INFINITY;
  if (t === '-Infinity') return NEG_INFINITY;
  const m = /^(-?)(\d+)(?:\.(\d{0,6})\d*)?$/.exec(t);
  if (!m) throw new RangeError(`not an epoch value: ${text}`);
  const micros = BigInt(m[2]) * 1_000_000n + BigInt((m[3] ?? '').padEnd(6, '0'));
  return m[1] === '-' ? -micros : micros;
}

/** `YYYY-MM-DD HH:MM:SS.ffffff` in UTC: a DateTime64(6, 'UTC') parameter value. */
export function chDateTime64(us: Instant): string {
  const ms = us / 1000n;
  const rem = Number(us - ms * 1000n);
  const floorMs = rem < 0 ? ms - 1n : ms;
  const micro = rem < 0 ? rem + 1000 : rem;
  const iso = new Date(Number(floorMs)).toISOString(); // 2026-01-04T12:00:00.123Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}${String(micro).padStart(3, '0')}`;
}

/** ISO text for EXPLAIN and messages. */
export function isoInstant(us: Instant): string {
  if (us >= POS_INFINITY) return 'infinity';
  if (us <= NEG_INFINITY) return '-infinity';
  return chDateTime64(us).replace(' ', 'T') + 'Z';
}
