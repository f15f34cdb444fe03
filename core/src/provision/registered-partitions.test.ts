import { withDefaults } from '../model/defaults';
import type { TieredTableInput } from '../model/tiered-table';
import { planChanges } from './plan-changes';
import { withRegisteredPartitions } from './registered-partitions';

const logs = (cold: TieredTableInput['cold']): TieredTableInput => ({
  table: 'logs',
  timeColumn: 'ts',
  columns: [
    { name: 'ts', type: 'timestamptz' },
    { name: 'msg', type: 'text' },
  ],
  cold,
});

describe('withRegisteredPartitions', () => {
  // Registered while the default was 'day' for every table.
  const registered = withDefaults(logs({ partitionBy: 'day' }));

  test('a spec leaving partitionBy out keeps the registered partitions where the default moved', () => {
    const next = withDefaults(logs({}));
    expect(next.cold.partitionBy).toBe('month');
    const applied = withRegisteredPartitions(registered, next);
    expect(applied.cold.partitionBy).toBe('day');
    expect(planChanges(registered, applied)).toMatchObject({ unchanged: true, refusals: [] });
  });

  test('a longer retention moves the default; the partitions stay, the TTL changes', () => {
    const short = withDefaults(logs({ retention: '30d' }));
    expect(short.cold.partitionBy).toBe('day');
    const longer = withDefaults(logs({ retention: '365d' }));
    const plan = planChanges(short, withRegisteredPartitions(short, longer));
    expect(plan.refusals).toEqual([]);
    expect(plan.coldTtlChanged).toBe(true);
  });

  test('a value other than the default is the user asking: planChanges still refuses it', () => {
    const next = withDefaults(logs({ partitionBy: 'hour' }));
    const applied = withRegisteredPartitions(registered, next);
    expect(applied).toBe(next);
    expect(planChanges(registered, applied).refusals.join()).toMatch(/cold\.partitionBy cannot change/);
  });

  test('a new table, or the same partitions: the spec as given', () => {
    const next = withDefaults(logs({}));
    expect(withRegisteredPartitions(undefined, next)).toBe(next);
    expect(withRegisteredPartitions(next, next)).toBe(next);
  });
});
