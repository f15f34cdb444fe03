import type { TieredTableSpec } from '../model/tiered-table';
import type { ColdStore } from '../cold/cold-store';
import type { Queryable } from '../catalog/queryable';
import { getTierState, type TierState } from '../catalog/catalog';
import { coldDeletesFilterSql, listUnappliedColdDeletes, type ColdDelete } from '../catalog/cold-deletes';
import { GEN_COLUMN, rawTableName, type ColdTarget } from '../ddl/clickhouse';
import { tieredColumns } from '../ddl/column-types';
import { chIdent, chQualified } from '../ddl/sql';
import { visibleGenerationsSql } from './visibility';

/**
 * `<table>_visible`: the ClickHouse view direct readers use (Grafana's ClickHouse
 * datasource, clickhouse-client, analysts). The raw table also holds rows of tiering runs
 * still running or dead (their generation never commits), which only the proxy's
 * generation filter hides; the view applies the same filter — the committed generation
 * and the excluded ones, and the cold deletes not yet applied — as PostgreSQL's catalog
 * held them in one snapshot. Rebuilt by `strata apply` and after every tiering run's
 * commit; a view built from an older snapshot only lags (it shows fewer generations),
 * never shows an uncommitted one: every generation at or below a snapshot's committed one
 * is committed or excluded in that snapshot.
 */
export function visibleViewName(spec: TieredTableSpec): string {
  return `${rawTableName(spec)}_visible`;
}

/** The view's DDL for one catalog state. Columns are the table's own (no `_strata_gen`). */
export function createVisibleViewSql(
  spec: TieredTableSpec,
  target: ColdTarget,
  state: Pick<TierState, 'committedGen' | 'excludedGens'>,
  deletes: ReadonlyArray<Pick<ColdDelete, 'predicate' | 'params' | 'maxGen'>> = [],
): string {
  const columns = tieredColumns(spec).map((c) => chIdent(c.name)).join(', ');
  const cluster = target.cluster ? ` ON CLUSTER ${chIdent(target.cluster)}` : '';
  const tombstones = deletes.length > 0 ? ` AND ${coldDeletesFilterSql(deletes)}` : '';
  return (
    `CREATE OR REPLACE VIEW ${chQualified(target.database, visibleViewName(spec))}${cluster} AS ` +
    `SELECT ${columns} FROM ${chQualified(target.database, rawTableName(spec))} WHERE ${visibleGenerationsSql(state)}${tombstones}`
  );
}

/** Reads the catalog state in one snapshot and replaces the view with it. */
export async function refreshVisibleView(db: Queryable, cold: ColdStore, target: ColdTarget, spec: TieredTableSpec): Promise<void> {
  await db.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  let state: TierState | null;
  let deletes: ColdDelete[];
  try {
    state = await getTierState(db, spec.table);
    deletes = await listUnappliedColdDeletes(db, [spec.table]);
  } finally {
    await db.query('COMMIT').catch(() => undefined);
  }
  if (!state) return;
  await cold.command(createVisibleViewSql(spec, { ...target, cluster: spec.cold.cluster ?? target.cluster }, state, deletes), undefined, { idempotent: true });
}

/**
 * Removes the rows of dead generations from the raw table in the background (an
 * asynchronous mutation), so the base table converges to what the view shows. Only when
 * some are there: the excluded list only grows, and a mutation per run would be waste.
 * Returns how many rows it asked ClickHouse to delete.
 */
export async function purgeDeadGenerations(cold: ColdStore, target: ColdTarget, spec: TieredTableSpec, state: Pick<TierState, 'excludedGens'>): Promise<number> {
  if (state.excludedGens.length === 0) return 0;
  const table = chQualified(target.database, rawTableName(spec));
  const dead = `${chIdent(GEN_COLUMN)} IN (${state.excludedGens.map(String).join(', ')})`;
  const r = await cold.query<{ n: string }>(`SELECT count() AS n FROM ${table} WHERE ${dead}`);
  const n = Number(r[0]?.n ?? 0);
  if (n === 0) return 0;
  const cluster = spec.cold.cluster ?? target.cluster;
  await cold.command(`ALTER TABLE ${table}${cluster ? ` ON CLUSTER ${chIdent(cluster)}` : ''} DELETE WHERE ${dead}`, undefined, { idempotent: true });
  return n;
}
