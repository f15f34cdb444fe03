import { listRegisteredTables, pgQualified, type Queryable } from '@strata/core';
import { catalogSnapshot, type CatalogSnapshot, type LockedView, type RelationName, type TieredView } from '../router/catalog-snapshot';
import { probeTextFolding } from './text-folding-probe';
import { probeTextOrder } from './text-order-probe';

/**
 * Reads strata.table_registry into the snapshot the router and engine take. `previous`:
 * the snapshot it replaces, whose view definitions stand for views locked meanwhile.
 */
export async function loadCatalogSnapshot(db: Queryable, previous?: CatalogSnapshot): Promise<CatalogSnapshot> {
  const exists = await db.query<{ t: string | null; db: string }>("SELECT to_regclass('strata.table_registry')::text AS t, current_database() AS db");
  const database = exists.rows[0].db;
  if (!exists.rows[0].t) return { tables: [], database };
  const snapshot = catalogSnapshot(await listRegisteredTables(db));
  return { ...snapshot, database, ...(await loadTieredViews(db, { ...snapshot, views: previous?.views })), textFolding: await probeTextFolding(db, database), textOrder: await probeTextOrder(db, database) };
}

/**
 * Plain views that read a tiered table, directly or through other views (pg_depend
 * through the views' rewrite rules), as `$1` (the hot tables, qualified) are read in the
 * snapshot of whoever runs it: the catalog's connection, or a client's own block after
 * it created or changed views (client-session.ts). Materialized views reading them (kind
 * 'm') are listed apart: their rows are PostgreSQL's own, stored when last refreshed, and
 * only their REFRESH reads the tiered table (refused: it would read the hot tier alone).
 */
const TIERED_VIEWS_SQL = `WITH RECURSIVE reads(oid, kind) AS (
       SELECT to_regclass(t)::oid, 'r'::"char" FROM unnest($1::text[]) AS t WHERE to_regclass(t) IS NOT NULL
       UNION
       -- A materialized view's readers read its stored rows: the walk stops there.
       SELECT v.oid, v.relkind FROM reads
         JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = reads.oid AND d.classid = 'pg_rewrite'::regclass
         JOIN pg_rewrite w ON w.oid = d.objid
         JOIN pg_class v ON v.oid = w.ev_class AND v.relkind IN ('v', 'm') AND v.oid <> reads.oid
        WHERE reads.kind <> 'm'
     ),
     -- pg_get_viewdef opens the view (ACCESS SHARE): it would wait behind another
     -- session's ACCESS EXCLUSIVE lock, granted or queued (CREATE OR REPLACE / ALTER / DROP
     -- VIEW in an open block). Such views are not read; their committed definition is
     -- the one already known (readTieredViews). The lock table is read once.
     held AS (
       SELECT l.relation FROM pg_locks l
        WHERE l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock'
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND l.pid IS DISTINCT FROM pg_backend_pid()
     )
     SELECT n.nspname::text AS schema, c.relname::text AS name,
            CASE WHEN c.relkind = 'v' AND NOT locked.held THEN pg_get_viewdef(c.oid) END AS definition, c.relkind::text AS kind,
            locked.held::text AS locked
       FROM reads JOIN pg_class c ON c.oid = reads.oid AND c.relkind IN ('v', 'm') JOIN pg_namespace n ON n.oid = c.relnamespace
       CROSS JOIN LATERAL (SELECT c.oid IN (SELECT relation FROM held) AS held) AS locked`;

/** The hot tables views can read (cold-only tables have no PostgreSQL table), for TIERED_VIEWS_SQL's $1. */
function hotTableNames(snapshot: CatalogSnapshot): string[] {
  return snapshot.tables.filter((t) => t.mode !== 'cold-only').map((t) => pgQualified(t.schema, t.table));
}

type ViewsRead = Pick<CatalogSnapshot, 'views' | 'matviews' | 'lockedViews'>;

/**
 * TIERED_VIEWS_SQL run by `query` (rows as arrays of text): the snapshot's views and
 * materialized views. A view another session holds locked keeps the definition `known`
 * has for it (its change is not committed; the commit notifies); one `known` lacks is
 * listed in `lockedViews`, read again later (CatalogRefresher's retry).
 */
export async function readTieredViews(
  known: CatalogSnapshot,
  query: (sql: string, tables: string[]) => Promise<ReadonlyArray<ReadonlyArray<string | null>>>,
): Promise<ViewsRead> {
  const tables = hotTableNames(known);
  if (tables.length === 0) return { views: [], matviews: [], lockedViews: [] };
  const rows = await query(TIERED_VIEWS_SQL, tables);
  const views: TieredView[] = [];
  const matviews: RelationName[] = [];
  const lockedViews: LockedView[] = [];
  for (const [schema, name, definition, kind, locked] of rows) {
    const rel = { schema: schema!, name: name! };
    if (kind === 'm') matviews.push(rel);
    else if (locked !== 'true') views.push({ ...rel, definition: definition!.replace(/;\s*$/, '') });
    else {
      const before = known.views?.find((v) => v.schema === rel.schema && v.name === rel.name);
      if (before) views.push(before);
      lockedViews.push({ ...rel, ...(before ? { known: true } : {}) });
    }
  }
  return { views, matviews, lockedViews };
}

function loadTieredViews(db: Queryable, known: CatalogSnapshot): Promise<ViewsRead> {
  return readTieredViews(known, async (sql, tables) => {
    const r = await db.query<{ schema: string; name: string; definition: string | null; kind: string; locked: string }>(sql, [tables]);
    return r.rows.map((row) => [row.schema, row.name, row.definition, row.kind, row.locked]);
  });
}
