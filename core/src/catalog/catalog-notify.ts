import type { Queryable } from './queryable';

/**
 * The channel PostgreSQL notifies when what the proxy routes by changes: which tables are
 * tiered (strata.table_registry) and which views read them. The proxy LISTENs on it and
 * re-reads its catalog at once (proxy catalog-refresh.ts); without it, a view created
 * straight in PostgreSQL would be unknown to the proxy until its periodic re-read, and a
 * read through that view would be relayed and see the hot tier alone.
 */
export const CATALOG_CHANNEL = 'strata_catalog';

/**
 * The registry's share (a migration): a table registered, dropped, or its spec changed.
 * A statement trigger for INSERT / DELETE; UPDATE only when the spec itself changed (an
 * operator's reconcile rewrites rows with the same spec, which the proxy need not re-read).
 */
export const REGISTRY_NOTIFY_MIGRATION_SQL = [
  `CREATE FUNCTION strata.notify_registry_changed() RETURNS trigger LANGUAGE plpgsql
     SET search_path = pg_catalog, pg_temp AS $$
   BEGIN
     PERFORM pg_notify('${CATALOG_CHANNEL}', 'tables');
     RETURN NULL;
   END $$`,
  `CREATE TRIGGER registry_changed AFTER INSERT OR DELETE ON strata.table_registry
     FOR EACH STATEMENT EXECUTE FUNCTION strata.notify_registry_changed()`,
  `CREATE TRIGGER registry_spec_changed AFTER UPDATE ON strata.table_registry
     FOR EACH ROW WHEN (OLD.schema IS DISTINCT FROM NEW.schema) EXECUTE FUNCTION strata.notify_registry_changed()`,
];

/** Names of the event triggers that notify view DDL (ensureViewNotifications). */
export const VIEW_EVENT_TRIGGERS = ['strata_views_changed', 'strata_views_dropped'] as const;

/**
 * Command tags that can create, change or drop a view (or what names one: a schema, a
 * rule). The trigger function is called for these alone: the tier engine creates and
 * drops temporary tables per statement, and a DROP TABLE … CASCADE can drop a view.
 */
const VIEW_DDL_TAGS = [
  'CREATE VIEW',
  'ALTER VIEW',
  'CREATE RULE',
  'ALTER RULE',
  'ALTER TABLE',
  'CREATE SCHEMA',
  'ALTER SCHEMA',
  'CREATE MATERIALIZED VIEW',
  'ALTER MATERIALIZED VIEW',
];
const VIEW_DROP_TAGS = ['DROP VIEW', 'DROP RULE', 'DROP SCHEMA', 'DROP TABLE', 'DROP MATERIALIZED VIEW', 'DROP OWNED'];

/** Object types whose change can change which views read a tiered table, or their names. */
const VIEW_OBJECT_TYPES = `('view', 'materialized view', 'rule', 'schema')`;

const VIEW_NOTIFY_FUNCTION_SQL = `CREATE OR REPLACE FUNCTION strata.notify_views_changed() RETURNS event_trigger LANGUAGE plpgsql
   SET search_path = pg_catalog, pg_temp AS $$
 BEGIN
   IF TG_EVENT = 'sql_drop' THEN
     IF EXISTS (SELECT 1 FROM pg_event_trigger_dropped_objects() WHERE object_type IN ${VIEW_OBJECT_TYPES}) THEN
       PERFORM pg_notify('${CATALOG_CHANNEL}', 'views');
     END IF;
   ELSIF EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands() WHERE object_type IN ${VIEW_OBJECT_TYPES}) THEN
     PERFORM pg_notify('${CATALOG_CHANNEL}', 'views');
   END IF;
 END $$`;

const tagList = (tags: string[]) => tags.map((t) => `'${t}'`).join(', ');

/**
 * View DDL run anywhere in the database — through the proxy or straight in PostgreSQL —
 * notifies CATALOG_CHANNEL, from event triggers. Creating an event trigger needs a
 * superuser (PostgreSQL's rule, managed services' "rds_superuser"-like roles included), so
 * this is not a migration: it is ensured on every migrate(), and a role that may not
 * create them leaves them absent (false) — the proxy then says so at start and finds new
 * views on its periodic re-read (docs/routing.md, "Views").
 */
export async function ensureViewNotifications(db: Queryable): Promise<boolean> {
  if (await viewNotificationsPresent(db)) return true;
  const r = await db.query<{ superuser: boolean }>('SELECT rolsuper AS superuser FROM pg_catalog.pg_roles WHERE rolname = current_user');
  if (!r.rows[0]?.superuser) return false;
  await db.query('BEGIN');
  try {
    await db.query("SELECT pg_advisory_xact_lock(hashtext('strata.migrations'))");
    await db.query(VIEW_NOTIFY_FUNCTION_SQL);
    for (const name of VIEW_EVENT_TRIGGERS) await db.query(`DROP EVENT TRIGGER IF EXISTS ${name}`);
    await db.query(`CREATE EVENT TRIGGER ${VIEW_EVENT_TRIGGERS[0]} ON ddl_command_end WHEN TAG IN (${tagList(VIEW_DDL_TAGS)}) EXECUTE FUNCTION strata.notify_views_changed()`);
    await db.query(`CREATE EVENT TRIGGER ${VIEW_EVENT_TRIGGERS[1]} ON sql_drop WHEN TAG IN (${tagList(VIEW_DROP_TAGS)}) EXECUTE FUNCTION strata.notify_views_changed()`);
    await db.query('COMMIT');
  } catch (err) {
    await db.query('ROLLBACK');
    throw err;
  }
  return true;
}

/** Whether view DDL notifies the proxy in this database (the event triggers exist). */
export async function viewNotificationsPresent(db: Queryable): Promise<boolean> {
  const r = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM pg_catalog.pg_event_trigger WHERE evtname = ANY($1::text[])', [[...VIEW_EVENT_TRIGGERS]]);
  return Number(r.rows[0].n) === VIEW_EVENT_TRIGGERS.length;
}
