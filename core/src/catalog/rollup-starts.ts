import type { Queryable } from './queryable';

/**
 * The first generation each rollup added to an existing table is built for.
 *
 * A rollup's ClickHouse table outlives its removal from the spec (the rollup is only no
 * longer built), so a rollup added back holds rows of the generations before it was
 * removed and none of those tiered while it was absent. What the rollup covers cannot be
 * read from its own rows then (their lowest generation lies below the gap): readers take
 * the generations from this one on from the rollup, and those below it from raw rows.
 * Every rollup added to a registered table gets one, so a first addition is covered the
 * same way; a rollup the table was created with needs none (every run built it).
 *
 * Why a recorded generation rather than dropping the stale table when the rollup comes
 * back: readers cache what a rollup covers per set of visible generations
 * (proxy rollup-coverage.ts), on the ground that a committed generation's rollup rows
 * never change; a dropped and re-created table would break that with no new generation
 * to tell them. Here nothing in ClickHouse changes and the floor is read in the reader's
 * own snapshot, with the generations it bounds.
 *
 * Exactly once: every run with a generation at or above the floor must have built the
 * rollup. The floor is drawn from the generation sequence under the table's tier_state
 * row lock, and a tiering run draws its generation under that lock too and reads its spec
 * after (tiering/tierer.ts): a run that drew earlier has a lower generation (its rollup
 * rows, if any, are not read); one that drew later waited for the apply to commit and
 * reads the spec with the rollup in it.
 */
export const ROLLUP_STARTS_MIGRATION_SQL = [
  `CREATE TABLE strata.rollup_starts (
     table_name  text NOT NULL REFERENCES strata.table_registry (table_name) ON DELETE CASCADE,
     rollup      text NOT NULL,
     first_gen   bigint NOT NULL,
     PRIMARY KEY (table_name, rollup)
   )`,
  // Read by the proxy in the client's session, as the client's role (as tier_state is).
  `GRANT SELECT ON strata.rollup_starts TO PUBLIC`,
];

/**
 * Records, inside the caller's transaction (the apply that adds them), that `rollups` of
 * `table` are built from the next generation on. The table must be registered.
 */
export async function recordRollupStarts(db: Queryable, table: string, rollups: readonly string[]): Promise<bigint | undefined> {
  if (rollups.length === 0) return undefined;
  await db.query('SELECT 1 FROM strata.tier_state WHERE table_name = $1 FOR UPDATE', [table]);
  const r = await db.query<{ gen: string }>("SELECT nextval('strata.tier_gen_seq')::text AS gen");
  const gen = r.rows[0].gen;
  await db.query(
    `INSERT INTO strata.rollup_starts (table_name, rollup, first_gen) SELECT $1, unnest($2::text[]), $3::bigint
     ON CONFLICT (table_name, rollup) DO UPDATE SET first_gen = EXCLUDED.first_gen`,
    [table, rollups, gen],
  );
  return BigInt(gen);
}

/**
 * SQL reading the recorded starts of the tables in $1 (a text[] literal) as one JSON text:
 * `[[table, rollup, first_gen], ...]` or NULL when there are none.
 */
export const READ_ROLLUP_STARTS_SQL = `SELECT json_agg(json_build_array(table_name, rollup, first_gen::text))::text
   FROM strata.rollup_starts WHERE table_name = ANY($1::text[])`;

/** READ_ROLLUP_STARTS_SQL's text as `table\u0000rollup` → first generation. */
export function parseRollupStarts(text: string | null | undefined): Map<string, bigint> {
  const rows = JSON.parse(text ?? '[]') as Array<[string, string, string]>;
  return new Map(rows.map(([table, rollup, gen]) => [rollupStartKey(table, rollup), BigInt(gen)]));
}

export function rollupStartKey(table: string, rollup: string): string {
  return `${table}\u0000${rollup}`;
}
