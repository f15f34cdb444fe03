import type { Queryable } from './queryable';

/**
 * strata.quarantine: rows a tiering run set aside because the cold tier cannot hold a
 * value in them (see core/src/ddl/cold-range.ts), one jsonb row each (to_jsonb of the
 * hot row, so any table's rows fit and a fixed row can be re-inserted with
 * jsonb_populate_record). They leave the hot table in the run's own transaction: a run
 * that dies sets nothing aside, one that commits has moved every other row.
 *
 * Created where it is first needed (`strata apply`, and a run that meets such a row),
 * IF NOT EXISTS, so tables applied by an earlier version need no re-apply for a run to
 * set a row aside. It holds row data: no grant beyond its owner.
 */
export const QUARANTINE_TABLE = 'strata.quarantine';

export const CREATE_QUARANTINE_TABLE_SQL = [
  `CREATE TABLE IF NOT EXISTS ${QUARANTINE_TABLE} (
     id             bigserial PRIMARY KEY,
     table_name     text NOT NULL,
     gen            bigint,
     reason         text NOT NULL,
     row            jsonb NOT NULL,
     quarantined_at timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE INDEX IF NOT EXISTS quarantine_table_name_idx ON ${QUARANTINE_TABLE} (table_name, quarantined_at)`,
];

/**
 * Rows set aside per table, for status: empty when no run has set any aside, null when
 * this role may not read the quarantine (it holds row data).
 */
export async function quarantinedCounts(db: Queryable): Promise<Map<string, number> | null> {
  const exists = await db.query<{ t: string | null; readable: boolean | null }>(
    "SELECT to_regclass($1)::text AS t, CASE WHEN to_regclass($1) IS NOT NULL THEN has_table_privilege($1, 'SELECT') END AS readable",
    [QUARANTINE_TABLE],
  );
  if (exists.rows[0].t === null) return new Map();
  if (!exists.rows[0].readable) return null;
  const r = await db.query<{ table_name: string; n: string }>(`SELECT table_name, count(*)::text AS n FROM ${QUARANTINE_TABLE} GROUP BY table_name`);
  return new Map(r.rows.map((x) => [x.table_name, Number(x.n)]));
}
