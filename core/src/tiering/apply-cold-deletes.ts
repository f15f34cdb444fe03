import type { Queryable } from '../catalog/queryable';
import type { ColdStore } from '../cold/cold-store';
import { coldDeleteConditionSql, listUnappliedColdDeletes } from '../catalog/cold-deletes';
import { rawTableName, type ColdTarget } from '../ddl/clickhouse';
import { chIdent, chQualified } from '../ddl/sql';
import type { TieredTableSpec } from '../model/tiered-table';

/**
 * Applies the table's committed, unapplied tombstones (catalog/cold-deletes.ts) to its raw
 * cold table, oldest first: a ClickHouse mutation that returns only once every replica
 * has finished it (mutations_sync = 2), then applied_at. Marked only after the mutation,
 * so a reader either filters the tombstone or reads a table that no longer has the rows;
 * a crash between the two repeats a mutation that deletes nothing. Rollup tables are left
 * as they are: they keep the aggregates of the rows as they were when moved.
 */
export async function applyColdDeletes(db: Queryable, cold: ColdStore, target: ColdTarget, spec: TieredTableSpec): Promise<number> {
  const deletes = await listUnappliedColdDeletes(db, [spec.table]);
  const table = chQualified(target.database, rawTableName(spec));
  const onCluster = target.cluster ? ` ON CLUSTER ${chIdent(target.cluster)}` : '';
  for (const d of deletes) {
    await cold.command(`ALTER TABLE ${table}${onCluster} DELETE WHERE ${coldDeleteConditionSql(d)} SETTINGS mutations_sync = 2`, undefined, {
      idempotent: true,
    });
    await db.query('UPDATE strata.cold_deletes SET applied_at = now() WHERE id = $1', [d.id]);
  }
  return deletes.length;
}
