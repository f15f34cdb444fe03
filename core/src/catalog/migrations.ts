import type { Queryable } from './queryable';

/**
 * Versioned migrations of the `strata` catalog schema. Append only: a released
 * migration is never edited, a change is a new entry.
 */
export const MIGRATIONS: ReadonlyArray<{ version: number; name: string; sql: string[] }> = [
  {
    version: 1,
    name: 'table registry and tier state',
    sql: [
      `CREATE TABLE strata.table_registry (
         table_name  text PRIMARY KEY,
         schema      jsonb NOT NULL,
         created_at  timestamptz NOT NULL DEFAULT now(),
         updated_at  timestamptz NOT NULL DEFAULT now()
       )`,
      // watermark W: rows with time < W are authoritative in ClickHouse (once their
      // run's generation is visible), rows still in PostgreSQL are always authoritative.
      `CREATE TABLE strata.tier_state (
         table_name      text PRIMARY KEY REFERENCES strata.table_registry (table_name) ON DELETE CASCADE,
         watermark       timestamptz NOT NULL DEFAULT '-infinity',
         committed_gen   bigint NOT NULL DEFAULT 0,
         running_gen     bigint,
         excluded_gens   bigint[] NOT NULL DEFAULT '{}',
         last_started_at timestamptz,
         last_finished_at timestamptz,
         last_rows       bigint,
         last_bytes      bigint,
         last_duration_ms bigint,
         last_error      text,
         total_rows_moved bigint NOT NULL DEFAULT 0
       )`,
      `CREATE SEQUENCE strata.tier_gen_seq`,
    ],
  },
];

export async function migrate(db: Queryable): Promise<number[]> {
  await db.query('CREATE SCHEMA IF NOT EXISTS strata');
  await db.query(`CREATE TABLE IF NOT EXISTS strata.schema_migrations (
    version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    await db.query('BEGIN');
    try {
      // Serialises concurrent migrators (two CLIs, operator replicas) on one database.
      await db.query("SELECT pg_advisory_xact_lock(hashtext('strata.migrations'))");
      const done = await db.query('SELECT 1 FROM strata.schema_migrations WHERE version = $1', [m.version]);
      if (done.rowCount === 0) {
        for (const stmt of m.sql) await db.query(stmt);
        await db.query('INSERT INTO strata.schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        applied.push(m.version);
      }
      await db.query('COMMIT');
    } catch (err) {
      await db.query('ROLLBACK');
      throw err;
    }
  }
  return applied;
}
