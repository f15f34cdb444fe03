import type { TieredTableSpec } from '../model/tiered-table';
import { parseDuration } from '../model/duration';
import {
  createPartitionSql,
  defaultPartitionName,
  hotTable,
  partitionsCovering,
  type HotFlavor,
  type PartitionRange,
} from '../ddl/postgres';
import { pgIdent, pgLiteral, pgQualified } from '../ddl/sql';
import type { Queryable } from '../catalog/queryable';
import { COLD_TIME_FROM, COLD_TIME_TO } from '../ddl/cold-range';

/**
 * Hot-tier partition management: make native partitions ahead of time, re-home
 * rows that landed in the default partition, and drop partitions or chunks that
 * lie wholly below the watermark once they are empty.
 */

export async function detectHotFlavor(db: Queryable): Promise<HotFlavor> {
  const r = await db.query("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'");
  return r.rowCount === 0 ? 'native' : 'timescaledb';
}

/**
 * Creates the partitions covering [from, to) that are missing. Rows already in the
 * default partition for a new partition's range are moved into it in the same
 * transaction (PostgreSQL refuses the partition otherwise). A partition whose lock
 * cannot be had within PARTITION_LOCK_TIMEOUT is left for the next call: its rows
 * stay readable in the default partition meanwhile.
 * `db` must be a single connection.
 */
export async function ensurePartitions(db: Queryable, spec: TieredTableSpec, from: Date, to: Date): Promise<number> {
  const existing = new Set((await listPartitions(db, spec)).map((p) => p.name));
  let created = 0;
  for (const p of partitionsCovering(spec, from, to)) {
    if (existing.has(p.name)) continue;
    if (await createPartitionMovingDefaultRows(db, spec, p)) created++;
  }
  return created;
}

/**
 * How long partition maintenance may wait for the parent table. While it waits, new
 * inserts queue behind it, so this bounds what maintenance can add to a writer's
 * latency; past it, maintenance gives way and retries on the next run.
 */
const PARTITION_LOCK_TIMEOUT = '2s';

/**
 * Why the parent, not only the default partition, is locked: an INSERT or COPY routes
 * each row with the partition bounds it read when it locked the parent. Locking only
 * the default partition (and ATTACH, which takes SHARE UPDATE EXCLUSIVE on the parent)
 * lets an insert that already routed a row to the default partition wait there, then
 * find the default's bounds shrunk under it: "new row for relation …_default violates
 * partition constraint", a refused writer. With ACCESS EXCLUSIVE on the parent, inserts
 * in flight finish first and later ones wait, then route with the new bounds. The
 * check for rows in the default partition runs under the same lock, so no row can land
 * there between the check and the CREATE.
 */
async function createPartitionMovingDefaultRows(db: Queryable, spec: TieredTableSpec, p: PartitionRange): Promise<boolean> {
  const def = pgQualified(spec.schema, defaultPartitionName(spec));
  const time = pgIdent(spec.timeColumn);
  const part = pgQualified(spec.schema, p.name);
  await db.query('BEGIN');
  try {
    await db.query(`SET LOCAL lock_timeout = ${pgLiteral(PARTITION_LOCK_TIMEOUT)}`);
    await db.query(`LOCK TABLE ${hotTable(spec)} IN ACCESS EXCLUSIVE MODE`);
    const exists = await db.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [part]);
    if (exists.rows[0].t !== null) {
      await db.query('COMMIT');
      return false; // made meanwhile by another session (`strata apply`)
    }
    const moving = await db.query(
      `SELECT 1 FROM ${def} WHERE ${time} >= $1 AND ${time} < $2 LIMIT 1`,
      [p.from.toISOString(), p.to.toISOString()],
    );
    if (moving.rowCount === 0) {
      await db.query(createPartitionSql(spec, p));
    } else {
      await db.query(`CREATE TABLE ${part} (LIKE ${hotTable(spec)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
      await db.query(
        `WITH moved AS (DELETE FROM ${def} WHERE ${time} >= $1 AND ${time} < $2 RETURNING *) INSERT INTO ${part} SELECT * FROM moved`,
        [p.from.toISOString(), p.to.toISOString()],
      );
      await db.query(
        `ALTER TABLE ${hotTable(spec)} ATTACH PARTITION ${part} FOR VALUES FROM (${pgLiteral(p.from.toISOString())}) TO (${pgLiteral(p.to.toISOString())})`,
      );
    }
    await db.query('COMMIT');
    return true;
  } catch (err) {
    await db.query('ROLLBACK');
    // 55P03 lock_not_available: long transactions hold the table; the next call tries again.
    if ((err as { code?: string }).code === '55P03') return false;
    throw err;
  }
}

export interface HotPartition {
  schema: string;
  name: string;
  /** null for the default partition. */
  from: Date | null;
  to: Date | null;
}

export async function listPartitions(db: Queryable, spec: TieredTableSpec): Promise<HotPartition[]> {
  const r = await db.query<{ schema: string; name: string; bound: string }>(
    `SELECT n.nspname AS schema, c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE i.inhparent = to_regclass($1)`,
    [`${pgIdent(spec.schema)}.${pgIdent(spec.table)}`],
  );
  return r.rows.map((row) => {
    const m = /FROM \('([^']+)'\) TO \('([^']+)'\)/.exec(row.bound);
    return { schema: row.schema, name: row.name, from: m ? new Date(m[1]) : null, to: m ? new Date(m[2]) : null };
  });
}

async function listChunksBelow(db: Queryable, spec: TieredTableSpec, watermark: Date): Promise<HotPartition[]> {
  const r = await db.query<{ schema: string; name: string; range_start: Date; range_end: Date }>(
    `SELECT chunk_schema AS schema, chunk_name AS name, range_start, range_end
       FROM timescaledb_information.chunks
      WHERE hypertable_schema = $1 AND hypertable_name = $2 AND range_end <= $3`,
    [spec.schema, spec.table, watermark.toISOString()],
  );
  return r.rows.map((x) => ({ schema: x.schema, name: x.name, from: x.range_start, to: x.range_end }));
}

/**
 * Drops partitions/chunks wholly below the watermark, each only if it is empty under
 * an exclusive lock: a late row that arrived after the move is never dropped with its
 * chunk; the next run's sweep moves it first. The parent is locked first, in the same
 * order an INSERT locks (parent, then partition), so a concurrent writer waits
 * briefly instead of deadlocking.
 */
export async function dropPartitionsBelow(db: Queryable, spec: TieredTableSpec, flavor: HotFlavor, watermark: Date): Promise<number> {
  const candidates =
    flavor === 'timescaledb'
      ? await listChunksBelow(db, spec, watermark)
      : (await listPartitions(db, spec)).filter((p) => p.to !== null && p.to.getTime() <= watermark.getTime());
  if (candidates.length === 0) return 0;
  let dropped = 0;
  await db.query('BEGIN');
  try {
    await db.query("SET LOCAL lock_timeout = '5s'");
    await db.query(`LOCK TABLE ${hotTable(spec)} IN ACCESS EXCLUSIVE MODE`);
    for (const p of candidates) {
      const rel = pgQualified(p.schema, p.name);
      const rows = await db.query(`SELECT 1 FROM ${rel} LIMIT 1`);
      if (rows.rowCount === 0) {
        await db.query(`DROP TABLE ${rel}`);
        dropped++;
      }
    }
    await db.query('COMMIT');
  } catch (err) {
    await db.query('ROLLBACK');
    // 55P03 lock_not_available: long readers hold the table; the next run tries again.
    if ((err as { code?: string }).code !== '55P03') throw err;
    return 0;
  }
  return dropped;
}

/** Native partitions for the next `ahead` of time, and for rows ≥ W parked in the default partition. */
export async function maintainPartitions(
  db: Queryable,
  spec: TieredTableSpec,
  now: Date,
  watermark: Date | null,
  ahead = parseDuration('24h'),
): Promise<number> {
  const width = parseDuration(spec.hot.chunkInterval);
  let created = await ensurePartitions(db, spec, new Date(now.getTime() - width), new Date(now.getTime() + ahead));
  const def = pgQualified(spec.schema, defaultPartitionName(spec));
  const time = pgIdent(spec.timeColumn);
  // Only values a partition can be made for: ±infinity and years past 2255 (which a
  // table with a cold tier refuses, see ddl/cold-range.ts) stay in the default partition.
  const parked = await db.query<{ start: Date }>(
    `SELECT DISTINCT to_timestamp(floor(extract(epoch FROM ${time}) / $1) * $1) AS start FROM ${def}
      WHERE ${time} >= $2 AND ${time} >= $3 AND ${time} < $4 ORDER BY 1 LIMIT 1000`,
    [width / 1000, watermark ? watermark.toISOString() : '-infinity', `${COLD_TIME_FROM}+00`, `${COLD_TIME_TO}+00`],
  );
  for (const row of parked.rows) {
    created += await ensurePartitions(db, spec, row.start, new Date(row.start.getTime() + 1));
  }
  return created;
}
