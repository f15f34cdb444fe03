import { validateTieredTable } from '@strata/core';
import { catalogSnapshot } from '../router/catalog-snapshot';
import { loadSqlParser, parseStatements } from '../router/sql-parser';
import { FULL_RANGE } from '../translate/time-predicate';
import { planStatement } from './plan';
import { MAX_RAW_BUCKET_RANGES, rawBucketRanges, rollupRange } from './rollup-plan';

const spec = validateTieredTable({
  table: 'metrics_events',
  timeColumn: 'time',
  columns: [
    { name: 'time', type: 'timestamptz' },
    { name: 'app', type: 'text' },
    { name: 'host', type: 'text' },
    { name: 'value', type: 'double precision' },
    { name: 'n', type: 'integer' },
    { name: 'level', type: 'text' },
  ],
  cold: { orderBy: ['app', 'host', 'time'], retention: '30d' },
  rollups: [
    { name: '1m', interval: '1m', groupBy: ['app', 'host'], aggregates: { value: ['min', 'max'], n: ['sum', 'count', 'min', 'max'] } },
    { name: '5m', interval: '5m', groupBy: ['app'], aggregates: { value: ['avg', 'min', 'max'] }, retention: '7d' },
  ],
});
if (!spec.ok) throw new Error(JSON.stringify(spec.errors));
const snapshot = catalogSnapshot([spec.spec]);
const MINUTE = 60_000_000n;

beforeAll(() => loadSqlParser());

function rollupOf(sql: string, utc = true): string | undefined {
  const occ = planStatement(parseStatements(sql)[0].stmt, snapshot, { utc, includeHot: true }).occurrences[0];
  return occ.rollup?.spec.name;
}

describe('rollupCandidate: which rollup can stand for the cold partials', () => {
  const R = "time >= '2026-01-01' AND time < '2026-01-02'";
  it.each([
    ['avg of a float by app, 15 minutes: the coarsest', `SELECT time_bucket('15 minutes', time), app, avg(value) FROM metrics_events WHERE ${R} GROUP BY 1, 2`, '5m'],
    ['by host: only the rollup grouping by host', `SELECT time_bucket('15 minutes', time), host, count(*) FROM metrics_events WHERE ${R} GROUP BY 1, 2`, '1m'],
    ['2 minutes: 1m divides it, 5m does not', `SELECT time_bucket('2 minutes', time), app, count(*) FROM metrics_events WHERE ${R} GROUP BY 1, 2`, '1m'],
    ['count, min and max of an integer', `SELECT app, count(n), min(n), max(n) FROM metrics_events WHERE ${R} GROUP BY 1`, '1m'],
    ['float max without its sum kept: NaN could hide', `SELECT host, max(value) FROM metrics_events WHERE ${R} GROUP BY 1`, undefined],
    ['float max with its sum kept', `SELECT app, max(value) FROM metrics_events WHERE ${R} GROUP BY 1`, '5m'],
    ['sum of an integer: an exact numeric partial, not the rollup Float64', `SELECT app, sum(n) FROM metrics_events WHERE ${R} GROUP BY 1`, undefined],
    ['avg of an integer', `SELECT app, avg(n) FROM metrics_events WHERE ${R} GROUP BY 1`, undefined],
    ['count(value): no count kept for value in 1m, 5m keeps it (avg)', `SELECT app, count(value) FROM metrics_events WHERE ${R} GROUP BY 1`, '5m'],
    ['30 seconds', `SELECT time_bucket('30 seconds', time), count(*) FROM metrics_events WHERE ${R} GROUP BY 1`, undefined],
    ['90 seconds', `SELECT time_bucket('90 seconds', time), count(*) FROM metrics_events WHERE ${R} GROUP BY 1`, undefined],
    ['raw time', `SELECT time, count(*) FROM metrics_events WHERE ${R} GROUP BY 1`, undefined],
    ['a pushed condition on a kept column', `SELECT count(*) FROM metrics_events WHERE ${R} AND host = 'h1'`, '1m'],
    ['a pushed condition on another column', `SELECT count(*) FROM metrics_events WHERE ${R} AND level = 'error'`, undefined],
    ['a FILTER on another column', `SELECT count(*) FILTER (WHERE level = 'error') FROM metrics_events WHERE ${R}`, undefined],
    ['an OR of time ranges', "SELECT count(*) FROM metrics_events WHERE time < '2026-01-01' OR time > '2026-01-03'", undefined],
    ['date_trunc hour in UTC', `SELECT date_trunc('hour', time), count(*) FROM metrics_events WHERE ${R} GROUP BY 1`, '5m'],
    ['date_trunc hour outside UTC (local boundaries)', `SELECT date_trunc('hour', time), count(*) FROM metrics_events WHERE ${R} GROUP BY 1`, undefined, false],
    ['time_bucket hour outside UTC (UTC-aligned)', `SELECT time_bucket('1 hour', time), count(*) FROM metrics_events WHERE ${R} GROUP BY 1`, '5m', false],
  ] as Array<[string, string, string | undefined, boolean?]>)('%s', (_name, sql, expected, utc = true) => {
    expect(rollupOf(sql, utc)).toBe(expected);
  });
});

describe('rollupRange: whole buckets inside the cold range and both retentions', () => {
  const c = { spec: spec.spec.rollups[0], table: 'metrics_events__rollup_1m', intervalUs: MINUTE };
  const t = (iso: string) => BigInt(Date.parse(iso)) * 1000n;
  const now = t('2026-02-01T00:00:00Z');

  it('rounds the start up and the end down to whole buckets', () => {
    const r = rollupRange(c, { lo: t('2026-01-20T10:00:30Z'), loInclusive: true, hi: t('2026-01-20T12:00:10Z'), hiInclusive: false }, now, undefined);
    expect(r).toEqual({ from: t('2026-01-20T10:01:00Z'), to: t('2026-01-20T12:00:00Z') });
  });

  it('an exclusive start on a bucket boundary skips that bucket; an inclusive end keeps its instant raw', () => {
    const r = rollupRange(c, { lo: t('2026-01-20T10:00:00Z'), loInclusive: false, hi: t('2026-01-20T11:00:00Z'), hiInclusive: true }, now, undefined);
    expect(r).toEqual({ from: t('2026-01-20T10:01:00Z'), to: t('2026-01-20T11:00:00Z') });
  });

  it('less than a bucket: none', () => {
    expect(rollupRange(c, { lo: t('2026-01-20T10:00:10Z'), loInclusive: true, hi: t('2026-01-20T10:00:50Z'), hiInclusive: false }, now, undefined)).toBeUndefined();
  });

  it('starts an hour inside the shorter retention (TTL), and never before 1970', () => {
    const r = rollupRange({ ...c, retentionUs: 7n * 86_400_000_000n }, FULL_RANGE, now, 30n * 86_400_000_000n);
    expect(r?.from).toBe(t('2026-01-25T01:00:00Z'));
    const old = rollupRange(c, { ...FULL_RANGE, hi: t('1970-01-01T01:00:00Z') }, now, undefined);
    expect(old?.from).toBe(0n);
  });
});

describe('rawBucketRanges: the NaN buckets a rollup read sends to raw rows', () => {
  const c = { spec: spec.spec.rollups[0], table: 'metrics_events__rollup_1m', intervalUs: MINUTE };
  const read = { candidate: c, from: 10n * MINUTE, to: 20n * MINUTE };

  it('keeps the buckets inside [from, to) and joins adjacent ones into runs', () => {
    const buckets = [5n, 10n, 11n, 12n, 15n, 19n, 20n, 30n].map((m) => m * MINUTE);
    expect(rawBucketRanges(buckets, read)).toEqual([
      { from: 10n * MINUTE, to: 13n * MINUTE },
      { from: 15n * MINUTE, to: 16n * MINUTE },
      { from: 19n * MINUTE, to: 20n * MINUTE },
    ]);
    expect(rawBucketRanges([], read)).toEqual([]);
  });

  it(`past ${MAX_RAW_BUCKET_RANGES} runs: none (the statement reads raw partials)`, () => {
    const apart = (n: number) => Array.from({ length: n }, (_, i) => BigInt(2 * i) * MINUTE);
    const wide = { ...read, from: 0n, to: 1000n * MINUTE };
    expect(rawBucketRanges(apart(MAX_RAW_BUCKET_RANGES), wide)).toHaveLength(MAX_RAW_BUCKET_RANGES);
    expect(rawBucketRanges(apart(MAX_RAW_BUCKET_RANGES + 1), wide)).toBeUndefined();
  });
});
