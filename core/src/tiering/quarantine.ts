import type { TieredTableSpec } from '../model/tiered-table';
import type { Queryable } from '../catalog/queryable';
import { CREATE_QUARANTINE_TABLE_SQL, QUARANTINE_TABLE } from '../catalog/quarantine';
import { coldRangeChecks, unholdableReasonSql, unholdableRowSql } from '../ddl/cold-range';
import { defaultPartitionName, hotTable, type HotFlavor } from '../ddl/postgres';
import { pgIdent, pgLiteral, pgQualified } from '../ddl/sql';

/**
 * Sets aside the hot rows the cold tier cannot hold: DELETE … RETURNING into
 * strata.quarantine, in one transaction of its own, so each row is exactly once, in
 * the hot table or the quarantine. It runs before partition maintenance and the move,
 * so neither meets such a row and W advances past it.
 *
 * Which rows: any whose time is out of range, wherever it lies (an `infinity` row is
 * never below W, and is no use in the hot table either); rows this run moves (time
 * below `target`) with an unholdable value in another column; and, with native
 * partitions, such rows in the default partition, which a run may re-home into a new
 * partition whose copied constraints would refuse them. When every range constraint
 * exists and is validated, PostgreSQL has refused such rows already: no scan.
 */
export async function setAsideUnholdableRows(db: Queryable, spec: TieredTableSpec, flavor: HotFlavor, gen: string, target: Date): Promise<number> {
  const checks = coldRangeChecks(spec);
  if (checks.length === 0 || (await allValidated(db, spec, checks.map((c) => c.constraint)))) return 0;
  const timeCheck = checks.find((c) => c.column === spec.timeColumn);
  const others = checks.filter((c) => c !== timeCheck);
  const time = pgIdent(spec.timeColumn);
  const sweeps: Array<{ relation: string; where: string }> = [];
  const onParent = [
    ...(timeCheck ? [`NOT ${timeCheck.holdable}`] : []),
    ...(others.length ? [`(${time} < ${pgLiteral(target.toISOString())}::timestamptz AND (${unholdableRowSql(others)}))`] : []),
  ];
  if (onParent.length) sweeps.push({ relation: hotTable(spec), where: onParent.join(' OR ') });
  if (others.length && flavor === 'native') sweeps.push({ relation: pgQualified(spec.schema, defaultPartitionName(spec)), where: unholdableRowSql(others)! });

  let moved = 0;
  await db.query('BEGIN');
  try {
    let created = false;
    for (const { relation, where } of sweeps) {
      const probe = await db.query(`SELECT 1 FROM ${relation} WHERE ${where} LIMIT 1`);
      if (probe.rowCount === 0) continue;
      if (!created) {
        // Concurrent runs of other tables may be the first to create it too.
        await db.query(`SELECT pg_advisory_xact_lock(hashtext(${pgLiteral(QUARANTINE_TABLE)}))`);
        for (const sql of CREATE_QUARANTINE_TABLE_SQL) await db.query(sql);
        created = true;
      }
      const r = await db.query(
        `WITH bad AS (DELETE FROM ${relation} AS r WHERE ${where} RETURNING to_jsonb(r) AS row, ${unholdableReasonSql(checks)} AS reason)
         INSERT INTO ${QUARANTINE_TABLE} (table_name, gen, reason, row) SELECT $1, $2, reason, row FROM bad`,
        [spec.table, gen],
      );
      moved += r.rowCount ?? 0;
    }
    await db.query('COMMIT');
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  return moved;
}

async function allValidated(db: Queryable, spec: TieredTableSpec, names: string[]): Promise<boolean> {
  const r = await db.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'c' AND convalidated AND conname = ANY($2)`,
    [hotTable(spec), names],
  );
  return Number(r.rows[0].n) === names.length;
}
