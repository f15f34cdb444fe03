import { defaultPartitionBy } from '../model/defaults';
import type { TieredTableSpec } from '../model/tiered-table';

/**
 * The partitions of a registered table stay as they are when a spec applied over it
 * holds the default's answer: defaultPartitionBy follows the retention (which may change)
 * and replaced a constant 'day', so a spec that leaves cold.partitionBy out — re-applied
 * after an upgrade, or with a longer retention — would otherwise ask for other partitions
 * and planChanges would refuse a change nobody asked for. The validated spec no longer
 * says whether the user wrote the value: one written equal to the default's answer is
 * kept as registered too, instead of refused; either way the ClickHouse table is untouched.
 */
export function withRegisteredPartitions(registered: TieredTableSpec | undefined, next: TieredTableSpec): TieredTableSpec {
  if (!registered || registered.cold.partitionBy === next.cold.partitionBy) return next;
  if (next.cold.partitionBy !== defaultPartitionBy(next.timeColumn, next.cold)) return next;
  return { ...next, cold: { ...next.cold, partitionBy: registered.cold.partitionBy } };
}
