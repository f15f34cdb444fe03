import type { TieredTableSpec } from '../model/tiered-table';
import { addColdRangeCheckSql, coldRangeChecks, unholdableRowSql } from './cold-range';

const spec: TieredTableSpec = {
  table: 'events',
  schema: 'public',
  timeColumn: 'time',
  columns: [
    { name: 'time', type: 'timestamptz' },
    { name: 'local', type: 'timestamp' },
    { name: 'day', type: 'date' },
    { name: 'amount', type: 'numeric(12,3)', notNull: true },
    { name: 'value', type: 'double precision' },
    { name: 'note', type: 'text' },
  ],
  mode: 'hot-then-cold',
  hot: { chunkInterval: '1h', retention: '24h' },
  cold: { orderBy: ['time'], partitionBy: 'day' },
  rollups: [],
  tiering: { every: '5m', batchRows: 100000 },
  deletionPolicy: 'Retain',
};

describe('cold range checks', () => {
  test.each([
    ['time', 'events_time_cold_range', `("time" >= '1900-01-01 00:00:00+00'::timestamptz AND "time" < '2255-01-01 00:00:00+00'::timestamptz)`, '1900-01-01 00:00:00+00 <= time < 2255-01-01 00:00:00+00'],
    ['local', 'events_local_cold_range', `("local" IS NULL OR ("local" >= '1900-01-01 00:00:00'::timestamp AND "local" < '2255-01-01 00:00:00'::timestamp))`, '1900-01-01 00:00:00 <= local < 2255-01-01 00:00:00'],
    ['day', 'events_day_cold_range', `("day" IS NULL OR ("day" >= '1900-01-01'::date AND "day" < '2255-01-01'::date))`, '1900-01-01 <= day < 2255-01-01'],
    ['amount', 'events_amount_cold_range', `"amount" <> 'NaN'::numeric`, 'amount is a number (not NaN)'],
  ])('%s: constraint %s', (column, constraint, holdable, allowed) => {
    expect(coldRangeChecks(spec).find((c) => c.column === column)).toEqual({ column, constraint, holdable, allowed });
  });

  test('only columns whose type admits unholdable values, only with a cold tier', () => {
    expect(coldRangeChecks(spec).map((c) => c.column)).toEqual(['time', 'local', 'day', 'amount']);
    expect(coldRangeChecks({ ...spec, mode: 'hot-only' })).toEqual([]);
    expect(coldRangeChecks({ ...spec, mode: 'cold-only' })).toEqual([]);
  });

  test('the constraint calls the refusing function only when the comparisons fail', () => {
    const [time] = coldRangeChecks(spec);
    expect(addColdRangeCheckSql(spec, time, { notValid: true })).toBe(
      `ALTER TABLE "public"."events" ADD CONSTRAINT "events_time_cold_range" CHECK (${time.holdable} OR strata.refuse_unholdable_value(` +
        `"time"::text, 'public', 'events', 'time', 'events_time_cold_range', '1900-01-01 00:00:00+00 <= time < 2255-01-01 00:00:00+00')) NOT VALID`,
    );
    expect(addColdRangeCheckSql(spec, time, { notValid: false })).not.toMatch(/NOT VALID/);
    expect(unholdableRowSql([])).toBeNull();
  });
});
