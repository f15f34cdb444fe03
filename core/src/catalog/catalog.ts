import type { TieredTableSpec } from '../model/tiered-table';
import type { Queryable } from './queryable';

/**
 * The catalog in PostgreSQL: what tables Strata manages (`strata.table_registry`,
 * the seed's registry with the whole spec as JSONB) and where each stands
 * (`strata.tier_state`). `db` is a single connection where a transaction is implied.
 */

export interface TierState {
  table: string;
  /** Rows with time < watermark live in ClickHouse; -Infinity before the first move. */
  watermark: Date | null;
  watermarkText: string;
  committedGen: bigint;
  runningGen: bigint | null;
  excludedGens: bigint[];
  lastStartedAt: Date | null;
  lastFinishedAt: Date | null;
  lastRows: number | null;
  lastBytes: number | null;
  lastDurationMs: number | null;
  lastError: string | null;
  totalRowsMoved: number;
}

export interface RegisteredTable {
  spec: TieredTableSpec;
  createdAt: Date;
  updatedAt: Date;
}

export async function getRegisteredTable(db: Queryable, table: string): Promise<RegisteredTable | null> {
  const r = await db.query<{ schema: TieredTableSpec; created_at: Date; updated_at: Date }>(
    'SELECT schema, created_at, updated_at FROM strata.table_registry WHERE table_name = $1',
    [table],
  );
  if (r.rowCount === 0) return null;
  const row = r.rows[0];
  return { spec: row.schema, createdAt: row.created_at, updatedAt: row.updated_at };
}

export async function listRegisteredTables(db: Queryable): Promise<TieredTableSpec[]> {
  const r = await db.query<{ schema: TieredTableSpec }>('SELECT schema FROM strata.table_registry ORDER BY table_name');
  return r.rows.map((x) => x.schema);
}

/** Registers or updates a table and makes sure it has a tier_state row. */
export async function upsertRegisteredTable(db: Queryable, spec: TieredTableSpec, initialWatermark: string): Promise<void> {
  await db.query(
    `INSERT INTO strata.table_registry (table_name, schema) VALUES ($1, $2)
     ON CONFLICT (table_name) DO UPDATE SET schema = EXCLUDED.schema, updated_at = now()
     WHERE strata.table_registry.schema IS DISTINCT FROM EXCLUDED.schema`,
    [spec.table, JSON.stringify(spec)],
  );
  await db.query(
    `INSERT INTO strata.tier_state (table_name, watermark) VALUES ($1, $2::timestamptz) ON CONFLICT (table_name) DO NOTHING`,
    [spec.table, initialWatermark],
  );
}

export async function deleteRegisteredTable(db: Queryable, table: string): Promise<void> {
  await db.query('DELETE FROM strata.table_registry WHERE table_name = $1', [table]);
}

const TIER_STATE_COLUMNS = `table_name, watermark, watermark::text AS watermark_text, committed_gen::text, running_gen::text,
  excluded_gens::text[] AS excluded_gens, last_started_at, last_finished_at, last_rows::float8 AS last_rows,
  last_bytes::float8 AS last_bytes, last_duration_ms::float8 AS last_duration_ms, last_error,
  total_rows_moved::float8 AS total_rows_moved`;

interface TierStateRow {
  table_name: string;
  watermark: Date | number | string;
  watermark_text: string;
  committed_gen: string;
  running_gen: string | null;
  excluded_gens: string[];
  last_started_at: Date | null;
  last_finished_at: Date | null;
  last_rows: number | null;
  last_bytes: number | null;
  last_duration_ms: number | null;
  last_error: string | null;
  total_rows_moved: number;
}

function toTierState(r: TierStateRow): TierState {
  const w = r.watermark;
  return {
    table: r.table_name,
    // node-postgres parses ±infinity timestamps to ±Infinity numbers.
    watermark: w instanceof Date ? w : null,
    watermarkText: r.watermark_text,
    committedGen: BigInt(r.committed_gen),
    runningGen: r.running_gen === null ? null : BigInt(r.running_gen),
    excludedGens: r.excluded_gens.map((g) => BigInt(g)),
    lastStartedAt: r.last_started_at,
    lastFinishedAt: r.last_finished_at,
    lastRows: r.last_rows,
    lastBytes: r.last_bytes,
    lastDurationMs: r.last_duration_ms,
    lastError: r.last_error,
    totalRowsMoved: r.total_rows_moved,
  };
}

export async function getTierState(db: Queryable, table: string, forUpdate = false): Promise<TierState | null> {
  const r = await db.query<TierStateRow>(
    `SELECT ${TIER_STATE_COLUMNS} FROM strata.tier_state WHERE table_name = $1${forUpdate ? ' FOR UPDATE' : ''}`,
    [table],
  );
  return r.rowCount === 0 ? null : toTierState(r.rows[0]);
}

export async function listTierStates(db: Queryable): Promise<TierState[]> {
  const r = await db.query<TierStateRow>(`SELECT ${TIER_STATE_COLUMNS} FROM strata.tier_state ORDER BY table_name`);
  return r.rows.map(toTierState);
}
