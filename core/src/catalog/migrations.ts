import type { Queryable } from './queryable';
import { ensureViewNotifications, REGISTRY_NOTIFY_MIGRATION_SQL } from './catalog-notify';
import { ROLLUP_STARTS_MIGRATION_SQL } from './rollup-starts';

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
  {
    version: 2,
    name: 'tier state readable by every role',
    // The proxy's tier engine runs in the client's own session, as the client's role: that
    // role reads W, the committed generation and the registered columns in its own
    // snapshot. Nothing here is row data; writes stay with the owner.
    sql: [
      `GRANT USAGE ON SCHEMA strata TO PUBLIC`,
      `GRANT SELECT ON strata.table_registry, strata.tier_state TO PUBLIC`,
    ],
  },
  {
    version: 3,
    name: 'cold deletes',
    // The cold part of a DELETE/TRUNCATE of a tiered table (see cold-deletes.ts). The
    // client's role records it in its own transaction, so privileges are decided here:
    // - every role reads tombstones (a reader must filter what it cannot see deleted yet);
    // - a role may insert one only for a registered table whose hot table it may DELETE
    //   from (TRUNCATE: it may truncate, predicate '1'), with max_gen no later than the
    //   committed generation; row-level security checks that as the inserting role
    //   (a SECURITY DEFINER function could not: there current_user is the owner, and
    //   session_user is not the role after SET ROLE);
    // - only the owner (the tierer) marks one applied; nobody else updates or deletes.
    // The heads row makes concurrent deletes of one table conflict: in READ COMMITTED the
    // second waits for the first (and then counts without the rows it deleted), in
    // REPEATABLE READ / SERIALIZABLE it fails with 40001 as PostgreSQL's own concurrent
    // delete of a row would. The trigger writes it as the owner.
    sql: [
      `CREATE TABLE strata.cold_deletes (
         id          bigserial PRIMARY KEY,
         table_name  text NOT NULL REFERENCES strata.table_registry (table_name) ON DELETE CASCADE,
         predicate   text NOT NULL,
         params      jsonb NOT NULL DEFAULT '{}',
         max_gen     bigint NOT NULL,
         deleted_by  text NOT NULL DEFAULT current_user,
         created_at  timestamptz NOT NULL DEFAULT now(),
         applied_at  timestamptz
       )`,
      `CREATE INDEX cold_deletes_unapplied ON strata.cold_deletes (table_name, id) WHERE applied_at IS NULL`,
      `CREATE TABLE strata.cold_delete_heads (
         table_name  text PRIMARY KEY REFERENCES strata.table_registry (table_name) ON DELETE CASCADE,
         last_id     bigint NOT NULL
       )`,
      `CREATE FUNCTION strata.cold_delete_head() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
         SET search_path = pg_catalog, pg_temp AS $$
       BEGIN
         INSERT INTO strata.cold_delete_heads (table_name, last_id) VALUES (NEW.table_name, NEW.id)
           ON CONFLICT (table_name) DO UPDATE SET last_id = EXCLUDED.last_id;
         RETURN NULL;
       END $$`,
      `REVOKE ALL ON FUNCTION strata.cold_delete_head() FROM PUBLIC`,
      `CREATE TRIGGER cold_delete_head AFTER INSERT ON strata.cold_deletes FOR EACH ROW EXECUTE FUNCTION strata.cold_delete_head()`,
      `ALTER TABLE strata.cold_deletes ENABLE ROW LEVEL SECURITY`,
      `CREATE POLICY cold_deletes_read ON strata.cold_deletes FOR SELECT USING (true)`,
      `CREATE POLICY cold_deletes_record ON strata.cold_deletes FOR INSERT WITH CHECK (
         applied_at IS NULL AND deleted_by = current_user AND EXISTS (
           SELECT 1 FROM strata.table_registry r JOIN strata.tier_state s USING (table_name)
            WHERE r.table_name = cold_deletes.table_name
              AND cold_deletes.max_gen <= s.committed_gen
              AND (has_table_privilege(format('%I.%I', r.schema->>'schema', r.table_name), 'DELETE')
                   OR (cold_deletes.predicate = '1'
                       AND has_table_privilege(format('%I.%I', r.schema->>'schema', r.table_name), 'TRUNCATE')))))`,
      `GRANT SELECT ON strata.cold_deletes TO PUBLIC`,
      `GRANT INSERT (table_name, predicate, params, max_gen) ON strata.cold_deletes TO PUBLIC`,
      `GRANT USAGE ON SEQUENCE strata.cold_deletes_id_seq TO PUBLIC`,
    ],
  },
  {
    version: 4,
    name: 'table owners',
    // Which TieredTable (namespace, name, uid) manages each table, so the operator can
    // refuse a second TieredTable (another namespace, or a re-created one with another
    // uid) naming a table it does not own. NULL: registered by `strata apply` or before
    // this migration; the first TieredTable to reconcile it records itself. All or none.
    sql: [
      `ALTER TABLE strata.table_registry
         ADD COLUMN owner_namespace text,
         ADD COLUMN owner_name text,
         ADD COLUMN owner_uid text,
         ADD CONSTRAINT table_registry_owner_whole CHECK (
           (owner_namespace IS NULL) = (owner_name IS NULL) AND (owner_name IS NULL) = (owner_uid IS NULL))`,
    ],
  },
  {
    version: 5,
    name: 'rollup starts',
    // The first generation a rollup added to an existing table is built for (see rollup-starts.ts).
    sql: ROLLUP_STARTS_MIGRATION_SQL,
  },
  {
    version: 6,
    name: 'registry changes notified',
    // The proxy re-reads its catalog when a table is registered, dropped or respecified (catalog-notify.ts).
    sql: REGISTRY_NOTIFY_MIGRATION_SQL,
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
  // Not a migration: it needs a superuser, and is retried on every run until one runs it.
  await ensureViewNotifications(db);
  return applied;
}
