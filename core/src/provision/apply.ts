import type { Client } from 'pg';
import type { TieredTableSpec } from '../model/tiered-table';
import { parseDuration } from '../model/duration';
import type { ColdStore } from '../cold/cold-store';
import { migrate } from '../catalog/migrations';
import { getRegisteredTable, upsertRegisteredTable } from '../catalog/catalog';
import { CREATE_QUARANTINE_TABLE_SQL } from '../catalog/quarantine';
import { recordRollupStarts } from '../catalog/rollup-starts';
import type { Queryable } from '../catalog/queryable';
import { tieredColumns } from '../ddl/column-types';
import * as ch from '../ddl/clickhouse';
import * as pg from '../ddl/postgres';
import * as range from '../ddl/cold-range';
import { detectHotFlavor, ensurePartitions } from '../tiering/hot-partitions';
import { refreshVisibleView, visibleViewName } from '../tiering/visible-view';
import { planChanges } from './plan-changes';
import { withRegisteredPartitions } from './registered-partitions';
import { disableAutoStatisticsSql, serverBuildsAutoStatistics } from './cold-statistics';

/**
 * Provisions a validated spec on both tiers, or evolves them to it. PostgreSQL DDL
 * runs in one transaction (it is transactional there), ClickHouse DDL inside it
 * before COMMIT and idempotent (IF NOT EXISTS): if either side fails, PostgreSQL
 * keeps nothing and a re-run completes the ClickHouse side.
 */

export interface ApplyDeps {
  /** A single PostgreSQL connection (transactions run on it). */
  hot: Client;
  /** Absent for deployments without a cold tier; then only hot-only tables apply. */
  cold?: ColdStore;
  coldTarget: ch.ColdTarget;
}

export interface ApplyResult {
  table: string;
  action: 'created' | 'updated' | 'unchanged';
  flavor: pg.HotFlavor | 'none';
  statements: number;
  changes: string[];
}

export class ApplyRefusedError extends Error {
  readonly code = 'APPLY_REFUSED' as const;
  constructor(
    readonly table: string,
    readonly reasons: string[],
  ) {
    super(`refusing to change table "${table}":\n  - ${reasons.join('\n  - ')}`);
    this.name = 'ApplyRefusedError';
  }
}

export function initialWatermark(spec: TieredTableSpec): string {
  return spec.mode === 'cold-only' ? 'infinity' : '-infinity';
}

function usesHot(spec: TieredTableSpec): boolean {
  return spec.mode !== 'cold-only';
}
function usesCold(spec: TieredTableSpec): boolean {
  return spec.mode !== 'hot-only';
}

export async function applyTable(deps: ApplyDeps, given: TieredTableSpec, now = new Date()): Promise<ApplyResult> {
  const db = deps.hot;
  await migrate(db);
  const flavor = await detectHotFlavor(db);
  const registered = await getRegisteredTable(db, given.table);
  const spec = withRegisteredPartitions(registered?.spec, given);
  if (usesCold(spec) && !deps.cold) throw new ApplyRefusedError(spec.table, [`spec.mode ${spec.mode} needs a ClickHouse connection and none is configured`]);
  const autoStatistics = usesCold(spec) ? await serverBuildsAutoStatistics(deps.cold!) : false;
  const target: ch.ColdTarget = { ...deps.coldTarget, cluster: spec.cold.cluster, autoStatistics };

  const pgStatements: string[] = [];
  const chStatements: string[] = [];
  const changes: string[] = [];
  let action: ApplyResult['action'];
  const checks = usesHot(spec) ? await coldRangeChecksToApply(db, spec, flavor) : { tableExists: false, missing: [], unvalidated: [] };
  // A new table gets its range constraints with its other DDL, validated (it is empty)
  // and before TimescaleDB compression, which refuses VALIDATE CONSTRAINT afterwards.
  const newTableChecks = usesHot(spec) && !checks.tableExists ? checks.missing : [];
  const laterChecks = usesHot(spec) && checks.tableExists ? checks.missing : [];

  const exists = registered !== null && (await tablesExist(deps, spec, target));
  // Rollups new to the registry, and those of them whose ClickHouse table is left from an
  // earlier time in a spec (removed and added back, or the table deleted and re-created):
  // their rows from before stop where the rollup was dropped from the spec.
  const plan = registered ? planChanges(registered.spec, spec) : undefined;
  const newRollups = usesCold(spec) ? (plan ? plan.addRollups : spec.rollups.map((r) => r.name)) : [];
  const leftOver = await existingRollupTables(deps, spec, newRollups, target);
  // Readers take these from the next generation on (catalog/rollup-starts.ts). A table
  // that has tiered needs it for any rollup it gains; a new one only for a left-over table.
  const rollupStarts = registered ? newRollups : newRollups.filter((n) => leftOver.has(n));
  // Cold tables applied before Strata turned ClickHouse's automatic statistics off.
  const statisticsOff = registered && exists && usesCold(spec) ? await disableAutoStatisticsSql(deps.cold!, [ch.rawTableName(spec), ...registered.spec.rollups.map((r) => ch.rollupTableName(spec, r))], target) : [];
  // `plan` is there exactly when the table is registered.
  if (!plan || !exists) {
    action = 'created';
    if (usesHot(spec)) {
      pgStatements.push(pg.createSchemaSql(spec), pg.createTableSql(spec, flavor));
      if (flavor === 'timescaledb') pgStatements.push(pg.createHypertableSql(spec));
      else pgStatements.push(pg.createDefaultPartitionSql(spec), ...pg.TIME_BUCKET_FUNCTIONS_SQL);
      if (newTableChecks.length > 0) {
        pgStatements.push(range.REFUSE_FUNCTION_SQL, ...CREATE_QUARANTINE_TABLE_SQL);
        for (const c of newTableChecks) pgStatements.push(range.addColdRangeCheckSql(spec, c, { notValid: false }));
        changes.push(`range constraints on ${newTableChecks.map((c) => c.column).join(', ')}: values the cold tier cannot hold are refused`);
      }
      if (flavor === 'timescaledb' && spec.hot.compression) pgStatements.push(...pg.compressionSql(spec));
      pgStatements.push(...pg.createIndexesSql(spec, flavor));
      changes.push(`hot table ${spec.schema}.${spec.table} (${flavor === 'timescaledb' ? 'hypertable' : 'native range partitions'})`);
      if (spec.hot.compression) changes.push(compressionNote(spec, flavor));
    }
    if (usesCold(spec)) {
      chStatements.push(ch.createDatabaseSql(target), ch.createRawTableSql(spec, target));
      for (const r of spec.rollups) chStatements.push(ch.createRollupTableSql(spec, r, target));
      for (const name of leftOver) changes.push(`rollup ${name}: its ClickHouse table from before is kept, and rows moved before now are read raw`);
      changes.push(
        `cold table ${target.database}.${spec.table}` +
          (spec.rollups.length ? ` + ${spec.rollups.length} rollup(s)` : '') +
          (spec.cold.indexes?.length ? ` with ${spec.cold.indexes.length} index(es)` : ''),
      );
    }
  } else {
    const refusals = [...plan.refusals];
    if (plan.chunkIntervalChanged && flavor === 'native') {
      refusals.push('spec.hot.chunkInterval cannot change without TimescaleDB: existing native partitions would overlap new ones');
    }
    if (refusals.length > 0) throw new ApplyRefusedError(spec.table, refusals);
    if (plan.unchanged && checks.missing.length === 0 && checks.unvalidated.length === 0 && statisticsOff.length === 0) {
      // Tables applied before <table>_visible existed get it here too.
      if (usesCold(spec)) await refreshVisibleView(db, deps.cold!, target, spec);
      return { table: spec.table, action: 'unchanged', flavor: usesHot(spec) ? flavor : 'none', statements: 0, changes: [] };
    }
    action = 'updated';
    const cols = new Map(tieredColumns(spec).map((c) => [c.name, c]));
    for (const name of plan.addColumns) {
      if (usesHot(spec)) pgStatements.push(pg.addColumnSql(spec, cols.get(name)!));
      if (usesCold(spec)) chStatements.push(ch.addColumnSql(spec, cols.get(name)!, target));
      changes.push(`column ${name} added`);
    }
    if (plan.addIndexes && usesHot(spec)) pgStatements.push(...pg.createIndexesSql(spec, flavor));
    if (plan.chunkIntervalChanged && usesHot(spec) && flavor === 'timescaledb') {
      pgStatements.push(pg.setChunkIntervalSql(spec));
      changes.push(`chunk interval ${spec.hot.chunkInterval}`);
    }
    if (plan.compressionChanged && usesHot(spec)) {
      if (flavor === 'timescaledb') pgStatements.push(...pg.compressionSql(spec));
      changes.push(spec.hot.compression ? compressionNote(spec, flavor) : 'hot compression policy removed');
    }
    if (plan.coldTtlChanged && usesCold(spec)) {
      chStatements.push(ch.modifyTtlSql(spec, target));
      changes.push(`cold retention ${spec.cold.retention ?? 'none'}`);
    }
    if (usesCold(spec)) {
      const next = new Map((spec.cold.indexes ?? []).map((ix) => [ix.name, ix]));
      for (const name of plan.dropColdIndexes) chStatements.push(ch.dropColdIndexSql(spec, name, target));
      for (const name of plan.addColdIndexes) chStatements.push(ch.addColdIndexSql(spec, next.get(name)!, target), ch.materializeColdIndexSql(spec, name, target));
      for (const name of plan.dropColdIndexes) if (!next.has(name)) changes.push(`cold index ${name} dropped`);
      for (const name of plan.addColdIndexes) changes.push(`cold index ${name} ${plan.dropColdIndexes.includes(name) ? 'changed' : 'added'} (built for stored rows by MATERIALIZE INDEX)`);
    }
    if (statisticsOff.length > 0) {
      chStatements.push(...statisticsOff);
      changes.push("cold tables: ClickHouse's automatic column statistics off (each query loaded them for every part)");
    }
    for (const name of plan.addRollups) {
      chStatements.push(ch.createRollupTableSql(spec, spec.rollups.find((r) => r.name === name)!, target));
      changes.push(
        leftOver.has(name)
          ? `rollup ${name} re-added: built from rows moved from now on; its ClickHouse table from before is kept, and rows moved before now are read raw`
          : `rollup ${name} added (built from rows moved from now on; rows moved before are read raw)`,
      );
    }
    for (const name of plan.removeRollups) {
      changes.push(`rollup ${name} removed: no longer built; its ClickHouse table is kept (deletionPolicy Delete drops it with the table)`);
    }
    if (changes.length === 0 && !plan.unchanged) changes.push('settings');
  }
  if (laterChecks.length > 0) {
    // NOT VALID: no scan under the ACCESS EXCLUSIVE lock ADD CONSTRAINT takes; new rows
    // are checked from the commit on, existing ones by VALIDATE below, without blocking writers.
    pgStatements.push(range.REFUSE_FUNCTION_SQL, ...CREATE_QUARANTINE_TABLE_SQL);
    for (const c of laterChecks) pgStatements.push(range.addColdRangeCheckSql(spec, c, { notValid: true }));
  }

  await db.query('BEGIN');
  try {
    for (const s of pgStatements) await db.query(s);
    await upsertRegisteredTable(db, spec, initialWatermark(spec));
    await recordRollupStarts(db, spec.table, rollupStarts);
    for (const s of chStatements) await deps.cold!.command(s, undefined, { idempotent: true }); // IF [NOT] EXISTS DDL
    await db.query('COMMIT');
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  // The view direct ClickHouse readers use (its columns follow the table's).
  if (usesCold(spec)) await refreshVisibleView(db, deps.cold!, target, spec);
  if (usesHot(spec) && flavor === 'native') {
    // Partitions for the hot window and a day ahead; older data lands in the default
    // partition until a tiering run re-homes or moves it.
    const width = parseDuration(spec.hot.chunkInterval);
    await ensurePartitions(db, spec, new Date(now.getTime() - parseDuration(spec.hot.retention) - width), new Date(now.getTime() + parseDuration('24h')));
  }
  const toValidate = [...checks.unvalidated, ...laterChecks];
  if (toValidate.length > 0) changes.push(...(await validateColdRangeChecks(db, spec, toValidate, new Set(laterChecks))));
  return { table: spec.table, action, flavor: usesHot(spec) ? flavor : 'none', statements: pgStatements.length + chStatements.length, changes };
}

/**
 * The range constraints (ddl/cold-range.ts) this table lacks, and those added NOT VALID
 * by an earlier apply that still await validation. A table applied before they existed
 * gets them on its next apply, whatever else changed. TimescaleDB cannot validate a
 * constraint on a hypertable with compression: there a NOT VALID one stays so (it
 * still refuses new rows, and tiering runs set old ones aside) and is not retried.
 */
async function coldRangeChecksToApply(
  db: Queryable,
  spec: TieredTableSpec,
  flavor: pg.HotFlavor,
): Promise<{ tableExists: boolean; missing: range.ColdRangeCheck[]; unvalidated: range.ColdRangeCheck[] }> {
  const exists = await db.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [pg.hotTable(spec)]);
  const tableExists = exists.rows[0].t !== null;
  const wanted = range.coldRangeChecks(spec);
  if (wanted.length === 0 || !tableExists) return { tableExists, missing: wanted, unvalidated: [] };
  const r = await db.query<{ conname: string; convalidated: boolean }>(
    `SELECT conname, convalidated FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'c'`,
    [pg.hotTable(spec)],
  );
  const present = new Map(r.rows.map((x) => [x.conname, x.convalidated]));
  return {
    tableExists,
    missing: wanted.filter((c) => !present.has(c.constraint)),
    unvalidated: flavor === 'native' ? wanted.filter((c) => present.get(c.constraint) === false) : [],
  };
}

/** SQLSTATE 0A000: TimescaleDB's answer to VALIDATE CONSTRAINT on a hypertable with compression. */
const FEATURE_NOT_SUPPORTED = '0A000';

/**
 * VALIDATE CONSTRAINT, one at a time after the DDL committed: it scans the table under
 * SHARE UPDATE EXCLUSIVE, so writers go on meanwhile. Rows already outside the range
 * keep the constraint NOT VALID (it still refuses new ones); the next tiering run sets
 * them aside in strata.quarantine, and the next apply validates it.
 */
async function validateColdRangeChecks(db: Queryable, spec: TieredTableSpec, checks: range.ColdRangeCheck[], added: Set<range.ColdRangeCheck>): Promise<string[]> {
  const out: string[] = [];
  for (const c of checks) {
    const what = `${c.column}: constraint ${c.constraint} (${c.allowed})`;
    try {
      await db.query(range.validateColdRangeCheckSql(spec, c));
      out.push(added.has(c) ? `${what} added` : `${what} validated`);
    } catch (err) {
      if ((err as { code?: string }).code === FEATURE_NOT_SUPPORTED) {
        out.push(`${what} ${added.has(c) ? 'added ' : ''}NOT VALID: ${(err as Error).message}; new rows are refused, tiering runs set any older ones aside in strata.quarantine`);
        continue;
      }
      if ((err as { code?: string }).code !== '23514') throw err;
      const n = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${pg.hotTable(spec)} WHERE NOT ${c.holdable}`);
      const rows = Number(n.rows[0].n);
      out.push(
        `${what} ${added.has(c) ? 'added ' : ''}NOT VALID: ${rows} existing row${rows === 1 ? '' : 's'} outside it; ` +
          'new ones are refused, the next tiering run sets these aside in strata.quarantine, and re-applying validates it',
      );
    }
  }
  return out;
}

function compressionNote(spec: TieredTableSpec, flavor: pg.HotFlavor): string {
  return flavor === 'timescaledb'
    ? `hot compression after ${spec.hot.compression!.after}`
    : 'hot.compression ignored: TimescaleDB is not installed (native partitions are not compressed)';
}

/** Of the rollups `names`, those whose ClickHouse table exists already. */
async function existingRollupTables(deps: ApplyDeps, spec: TieredTableSpec, names: string[], target: ch.ColdTarget): Promise<Set<string>> {
  if (names.length === 0) return new Set();
  const tables = new Map(names.map((n) => [ch.rollupTableName(spec, spec.rollups.find((r) => r.name === n)!), n]));
  return new Set((await coldRollupTables(deps.cold!, spec, target)).filter((t) => tables.has(t)).map((t) => tables.get(t)!));
}

/** Every rollup table of the table in ClickHouse, those of rollups since removed from its spec too. */
async function coldRollupTables(cold: ColdStore, spec: TieredTableSpec, target: ch.ColdTarget): Promise<string[]> {
  const r = await cold.query<{ name: string }>('SELECT name FROM system.tables WHERE database = {db:String} AND startsWith(name, {prefix:String})', {
    db: target.database,
    prefix: ch.rollupTablePrefix(spec),
  });
  return r.map((x) => x.name);
}

async function tablesExist(deps: ApplyDeps, spec: TieredTableSpec, target: ch.ColdTarget): Promise<boolean> {
  if (usesHot(spec)) {
    const r = await deps.hot.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [`${pg.hotTable(spec)}`]);
    if (!r.rows[0].t) return false;
  }
  if (usesCold(spec)) {
    const r = await deps.cold!.query<{ n: string }>('SELECT count() AS n FROM system.tables WHERE database = {db:String} AND name = {t:String}', {
      db: target.database,
      t: ch.rawTableName(spec),
    });
    if (Number(r[0].n) === 0) return false;
  }
  return true;
}

/** deletionPolicy Delete: drops both tiers and the catalog entry. Retain: only the catalog entry. */
export async function deleteTable(deps: ApplyDeps, spec: TieredTableSpec): Promise<void> {
  const target = { ...deps.coldTarget, cluster: spec.cold.cluster };
  if (spec.deletionPolicy === 'Delete') {
    if (usesCold(spec) && deps.cold) {
      await deps.cold.command(ch.dropTableSql(target.database, visibleViewName(spec), target), undefined, { idempotent: true });
      // Rollups removed from the spec earlier keep their tables (derived data): they go too.
      for (const t of await coldRollupTables(deps.cold, spec, target)) await deps.cold.command(ch.dropTableSql(target.database, t, target), undefined, { idempotent: true });
      await deps.cold.command(ch.dropTableSql(target.database, ch.rawTableName(spec), target), undefined, { idempotent: true });
    }
    if (usesHot(spec)) await deps.hot.query(pg.dropTableSql(spec));
  }
  await deps.hot.query('DELETE FROM strata.table_registry WHERE table_name = $1', [spec.table]);
}
