import type { PgNode } from '../router/sql-parser';
import { funcName, numberConst, opName, stringConst } from './ast';
import { columnKind, isTimeColumn, type ColumnScope } from './column-scope';

/**
 * How finely the cold tier must keep the time column so that PostgreSQL, evaluating
 * the query's own expressions over pre-aggregated rows, gets the same values it gets
 * from raw rows. If every use of the time column is a bucket function constant on
 * g-aligned intervals (time_bucket, date_trunc, date_bin, floor(extract(epoch …)/N),
 * extract(hour …)), rows may be grouped by time floored to g; any other use needs the
 * raw value (g = 0). undefined: the expressions never use the time column.
 */
const SECOND = 1_000_000n;
const DAY = 86_400n * SECOND;
/** time_bucket's default origin, Monday 2000-01-03T00:00:00Z, as µs since the epoch. */
const TIME_BUCKET_ORIGIN = 946_857_600n * SECOND;

const UNIT_US: Record<string, bigint> = {
  microsecond: 1n, microseconds: 1n, us: 1n, usec: 1n, usecs: 1n,
  millisecond: 1000n, milliseconds: 1000n, ms: 1000n, msec: 1000n, msecs: 1000n,
  second: SECOND, seconds: SECOND, s: SECOND, sec: SECOND, secs: SECOND,
  minute: 60n * SECOND, minutes: 60n * SECOND, m: 60n * SECOND, min: 60n * SECOND, mins: 60n * SECOND,
  hour: 3600n * SECOND, hours: 3600n * SECOND, h: 3600n * SECOND, hr: 3600n * SECOND, hrs: 3600n * SECOND,
  day: DAY, days: DAY, d: DAY,
  week: 7n * DAY, weeks: 7n * DAY, w: 7n * DAY,
};

/** A fixed-width interval literal ('300.000s', '1 hour', '10 minutes') in µs. */
export function fixedIntervalUs(text: string): bigint | undefined {
  const m = /^\s*(\d+)(?:\.(\d+))?\s*([a-z]+)\s*$/i.exec(text);
  if (!m) return undefined;
  const unit = UNIT_US[m[3].toLowerCase()];
  if (unit === undefined) return undefined;
  const frac = (m[2] ?? '').replace(/0+$/, '');
  const scale = 10n ** BigInt(frac.length);
  const num = BigInt(m[1]) * scale + BigInt(frac || '0');
  if ((num * unit) % scale !== 0n) return undefined;
  const us = (num * unit) / scale;
  return us > 0n ? us : undefined;
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a < 0n ? -a : a;
}

/** Width of a calendar unit's buckets in UTC (month and year boundaries are UTC midnights). */
function calendarUnitUs(unit: string, utc: boolean): bigint | undefined {
  const u = unit.toLowerCase();
  const fine: Record<string, bigint> = { microseconds: 1n, milliseconds: 1000n, second: SECOND, seconds: SECOND };
  if (u in fine) return fine[u];
  const coarse: Record<string, bigint> = {
    minute: 60n * SECOND, minutes: 60n * SECOND, hour: 3600n * SECOND, hours: 3600n * SECOND,
    day: DAY, days: DAY, week: DAY, month: DAY, quarter: DAY, year: DAY, decade: DAY, century: DAY, millennium: DAY,
    dow: DAY, isodow: DAY, doy: DAY, isoyear: DAY,
  };
  const w = coarse[u];
  if (w === undefined) return undefined;
  // Outside UTC, local boundaries sit on whole seconds of UTC (historical offsets have seconds).
  return utc ? w : SECOND;
}

/** The granularity this node needs when it contains the time column; undefined: not a bucket form. */
function bucketGranularity(scope: ColumnScope, n: PgNode, utc: boolean): bigint | undefined {
  const f = n?.FuncCall;
  if (!f || f.over || f.agg_star || f.agg_distinct || f.agg_filter) return undefined;
  const name = funcName(f);
  const args = (f.args ?? []) as PgNode[];
  if (name === 'time_bucket' && args.length === 2 && isTimeColumn(scope, args[1])) {
    const w = fixedIntervalUs(stringConst(args[0]) ?? stringConst(args[0]?.TypeCast?.arg) ?? '');
    return w === undefined ? undefined : gcd(w, TIME_BUCKET_ORIGIN % w) || w;
  }
  if ((name === 'date_trunc' || name === 'date_part' || name === 'extract') && args.length === 2 && isTimeColumn(scope, args[1])) {
    const unit = stringConst(args[0])?.toLowerCase();
    if (unit === undefined) return undefined;
    // extract(second …) and finer carry the fraction: they need the exact instant.
    if (name !== 'date_trunc' && ['second', 'seconds', 'milliseconds', 'microseconds'].includes(unit)) return 0n;
    return calendarUnitUs(unit, utc);
  }
  if (name === 'date_bin' && args.length === 3 && isTimeColumn(scope, args[1])) {
    const w = fixedIntervalUs(stringConst(args[0]) ?? stringConst(args[0]?.TypeCast?.arg) ?? '');
    const origin = originUs(args[2], utc);
    if (w === undefined || origin === undefined) return undefined;
    const g = gcd(w, ((origin % w) + w) % w) || w;
    // A timestamptz origin bins a `timestamp` column as instants, the column read in the
    // session zone: its wall-clock boundaries sit on whole seconds, not on g.
    const asInstants = !utc && args[2]?.TypeCast?.typeName?.names?.at(-1)?.String?.sval === 'timestamptz';
    return asInstants && columnKind(scope, scope.relation.timeColumn) === 'timestamp' ? gcd(g, SECOND) : g;
  }
  if (name === 'floor' && args.length === 1) {
    // floor(extract(epoch from t) / N): constant on N-second buckets from the epoch.
    const div = args[0]?.A_Expr;
    if (!div || div.kind !== 'AEXPR_OP' || opName(div) !== '/') return undefined;
    const inner = div.lexpr?.FuncCall;
    const n = numberConst(div.rexpr);
    if (!inner || !n || !/^\d+$/.test(n) || BigInt(n) === 0n) return undefined;
    const innerArgs = (inner.args ?? []) as PgNode[];
    if (!['extract', 'date_part'].includes(funcName(inner) ?? '') || innerArgs.length !== 2) return undefined;
    if (stringConst(innerArgs[0])?.toLowerCase() !== 'epoch' || !isTimeColumn(scope, innerArgs[1])) return undefined;
    return BigInt(n) * SECOND;
  }
  return undefined;
}

/** `TIMESTAMPTZ '2026-01-01'` / '2026-01-01T00:00:00Z' as µs, when unambiguous. */
function originUs(n: PgNode, utc: boolean): bigint | undefined {
  const text = stringConst(n) ?? stringConst(n?.TypeCast?.arg);
  if (text === undefined) return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?\s*(Z|[+-]00(?::?00)?)?$/i.exec(text.trim());
  if (!m || (!m[7] && !utc)) return undefined;
  return BigInt(Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0))) * 1000n;
}

export function timeGranularity(scope: ColumnScope, nodes: PgNode[], utc: boolean): bigint | undefined {
  let g: bigint | undefined;
  const combine = (x: bigint) => {
    g = g === undefined ? x : x === 0n || g === 0n ? 0n : gcd(g, x);
  };
  const walk = (n: PgNode): void => {
    if (n === null || typeof n !== 'object') return;
    if (Array.isArray(n)) return n.forEach(walk);
    if (isTimeColumn(scope, n)) return combine(0n);
    const b = bucketGranularity(scope, n, utc);
    if (b !== undefined) return combine(b);
    for (const v of Object.values(n)) walk(v);
  };
  nodes.forEach(walk);
  return g;
}
