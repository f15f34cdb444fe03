import type { ColdStore } from '../cold/cold-store';
import * as ch from '../ddl/clickhouse';
import { chStringListParams } from '../ddl/sql';

/**
 * ClickHouse's automatic column statistics, which Strata's cold tables turn off (why: see
 * ddl/clickhouse.ts, NO_AUTO_STATISTICS_SETTING). Servers older than the setting build
 * none and would refuse it, so apply asks the server first.
 */
export async function serverBuildsAutoStatistics(cold: ColdStore): Promise<boolean> {
  const r = await cold.query<{ n: string }>("SELECT count() AS n FROM system.merge_tree_settings WHERE name = 'auto_statistics_types'");
  return Number(r[0].n) > 0;
}

/** Of `tables` in `database`, those that exist and leave auto_statistics_types to the server's default. */
export async function tablesBuildingAutoStatistics(cold: ColdStore, database: string, tables: readonly string[]): Promise<string[]> {
  if (tables.length === 0) return [];
  const params: Record<string, string> = { db: database };
  const names = chStringListParams(tables, params);
  const r = await cold.query<{ name: string }>(
    `SELECT name FROM system.tables WHERE database = {db:String} AND name IN (${names}) AND position(create_table_query, 'auto_statistics_types') = 0 ORDER BY name`,
    params,
  );
  return r.map((row) => row.name);
}

/** ALTERs turning the statistics off on the table's existing cold tables (raw and rollups) that still build them. */
export async function disableAutoStatisticsSql(cold: ColdStore, tables: readonly string[], target: ch.ColdTarget): Promise<string[]> {
  if (!target.autoStatistics) return [];
  return (await tablesBuildingAutoStatistics(cold, target.database, tables)).map((t) => ch.disableAutoStatisticsSql(t, target));
}
