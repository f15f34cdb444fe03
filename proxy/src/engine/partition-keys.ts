import { chIdent } from '@strata/core';
import type { PgNode } from '../router/sql-parser';
import { columnOf, isFloatKind, type ColumnScope } from '../translate/column-scope';
import { floatEqualityKeySql } from './float-equality-key';

/**
 * PARTITION BY keys ClickHouse partitions on never more coarsely than PostgreSQL: where
 * PostgreSQL puts two rows in different partitions, so does ClickHouse. A cold read that
 * keeps each ClickHouse partition's first rows by rank (top-k.ts) then keeps at least the
 * first rows of each of PostgreSQL's partitions: a row's rank within a finer partition is
 * never above its rank within the coarser one.
 *
 * Plain columns of PARTITION_ALIKE kinds — byte-equal text is equal under any collation (a
 * nondeterministic one too: where it has 'abc' = 'ABC', ClickHouse's partitions are
 * finer); integers, bool, dates, instants, uuid; NULLs one partition in both — or floats
 * (real, double precision), partitioned on a normalised key (float-equality-key.ts) for
 * which ClickHouse's equality is exactly PostgreSQL's.
 */
export interface PartitionKey {
  column: string;
  float: boolean;
}

const PARTITION_ALIKE = new Set(['timestamptz', 'timestamp', 'text', 'varchar', 'int8', 'int4', 'int2', 'bool', 'date', 'uuid']);

/** Plain columns of partition-alike kinds or floats, each once (an empty list is one partition), else undefined. */
export function partitionKeys(items: readonly PgNode[], scope: ColumnScope): PartitionKey[] | undefined {
  const keys: PartitionKey[] = [];
  for (const item of items) {
    const column = item?.ColumnRef ? columnOf(scope, item.ColumnRef) : undefined;
    const kind = scope.relation.columns.find((c) => c.name === column)?.kind;
    if (!column || !kind || !(PARTITION_ALIKE.has(kind) || isFloatKind(kind))) return undefined;
    if (!keys.some((k) => k.column === column)) keys.push({ column, float: isFloatKind(kind) });
  }
  return keys;
}

/** The ClickHouse PARTITION BY list ('' for one partition). */
export function partitionBySql(keys: readonly PartitionKey[]): string {
  return keys.map(partitionKeySql).join(', ');
}

/** A float partitions on its PostgreSQL-equality key (float-equality-key.ts). */
export function partitionKeySql({ column, float }: PartitionKey): string {
  const col = chIdent(column);
  return float ? floatEqualityKeySql(col) : col;
}
