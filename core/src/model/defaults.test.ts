import { defaultPartitionBy, TIERED_TABLE_DEFAULTS, withDefaults } from './defaults';
import type { TieredTableInput } from './tiered-table';

const minimal: TieredTableInput = {
  table: 'm',
  timeColumn: 'ts',
  columns: [
    { name: 'ts', type: 'timestamptz' },
    { name: 'v', type: 'double precision' },
  ],
};

describe('withDefaults', () => {
  test('fills every default; cold.orderBy defaults to the time column', () => {
    expect(withDefaults(minimal)).toStrictEqual({
      table: 'm',
      schema: 'public',
      timeColumn: 'ts',
      columns: [
        { name: 'ts', type: 'timestamptz' },
        { name: 'v', type: 'double precision' },
      ],
      mode: 'hot-then-cold',
      hot: { chunkInterval: '1h', retention: '24h' },
      cold: { orderBy: ['ts'], partitionBy: 'month' },
      rollups: [],
      tiering: { every: '5m', batchRows: 100000 },
      deletionPolicy: 'Retain',
    });
  });

  test('ingest stays absent unless given, and is copied when given', () => {
    expect(withDefaults(minimal)).not.toHaveProperty('ingest');
    const input: TieredTableInput = { ...minimal, ingest: { unknownFields: 'addColumns' } };
    const spec = withDefaults(input);
    expect(spec.ingest).toEqual({ unknownFields: 'addColumns' });
    expect(spec.ingest).not.toBe(input.ingest);
    expect(withDefaults({ ...minimal, ingest: {} }).ingest).toEqual({});
  });

  test('keeps what the user said, including partial sections', () => {
    const spec = withDefaults({
      ...minimal,
      schema: 'obs',
      mode: 'hot-only',
      hot: { retention: '7d', compression: { after: '2d' }, indexes: [['v']] },
      cold: { retention: '90d', cluster: 'main' },
      tiering: { batchRows: 5000 },
      deletionPolicy: 'Delete',
      columns: [{ name: 'ts', type: 'timestamptz', notNull: true }],
    });
    expect(spec.schema).toBe('obs');
    expect(spec.mode).toBe('hot-only');
    expect(spec.hot).toStrictEqual({ chunkInterval: '1h', retention: '7d', compression: { after: '2d' }, indexes: [['v']] });
    expect(spec.cold).toStrictEqual({ orderBy: ['ts'], partitionBy: 'month', retention: '90d', cluster: 'main' });
    expect(spec.tiering).toStrictEqual({ every: '5m', batchRows: 5000 });
    expect(spec.deletionPolicy).toBe('Delete');
    expect(spec.columns).toStrictEqual([{ name: 'ts', type: 'timestamptz', notNull: true }]);
  });

  test('is pure: the input is unchanged and shares nothing with the result', () => {
    const input: TieredTableInput = {
      ...minimal,
      cold: { orderBy: ['ts'] },
      hot: { indexes: [['v']] },
      rollups: [{ name: '1m', interval: '1m', groupBy: [], aggregates: { v: ['avg'] } }],
    };
    const before = JSON.parse(JSON.stringify(input));
    const spec = withDefaults(input);
    spec.columns.push({ name: 'x', type: 'text' });
    spec.columns[0].name = 'changed';
    spec.cold.orderBy.push('v');
    spec.hot.indexes![0].push('ts');
    spec.rollups[0].aggregates.v!.push('max');
    spec.rollups[0].groupBy.push('v');
    expect(input).toEqual(before);
  });

  test('is idempotent and survives a JSON round trip (no undefined keys)', () => {
    const once = withDefaults(minimal);
    expect(withDefaults(once)).toStrictEqual(once);
    expect(JSON.parse(JSON.stringify(once))).toStrictEqual(once);
  });

  test('the defaults are the documented ones', () => {
    expect(TIERED_TABLE_DEFAULTS).toEqual({
      schema: 'public',
      mode: 'hot-then-cold',
      hot: { chunkInterval: '1h', retention: '24h' },
      rollups: [],
      tiering: { every: '5m', batchRows: 100000 },
      deletionPolicy: 'Retain',
    });
  });
});

describe('cold.partitionBy left out', () => {
  test.each([
    // time-first sort keys: months once the retention reaches 90 days, or without one
    [['ts'], undefined, 'month'],
    [['ts', 'v'], undefined, 'month'],
    [['ts'], '90d', 'month'],
    [['ts'], '12w6d', 'month'],
    [['ts'], '3650d', 'month'],
    [['ts'], '89d23h', 'day'],
    [['ts'], '30d', 'day'],
    // label-first: the partition is what cuts a short range inside each series
    [['v', 'ts'], undefined, 'day'],
    [['v', 'ts'], '3650d', 'day'],
  ])('orderBy %j, retention %s: %s', (orderBy, retention, expected) => {
    expect(defaultPartitionBy('ts', { orderBy, retention })).toBe(expected);
    const cold = retention === undefined ? { orderBy } : { orderBy, retention };
    expect(withDefaults({ ...minimal, cold }).cold.partitionBy).toBe(expected);
  });

  test('what the user says stands', () => {
    expect(withDefaults({ ...minimal, cold: { partitionBy: 'day' } }).cold.partitionBy).toBe('day');
    expect(withDefaults({ ...minimal, cold: { orderBy: ['v', 'ts'], partitionBy: 'month' } }).cold.partitionBy).toBe('month');
  });
});
