import { listRegisteredTables, pgIdent, type Queryable } from '@strata/core';
import { catalogSnapshot, type CatalogSnapshot, type TieredView } from '../router/catalog-snapshot';
import { probeTextFolding } from './text-folding-probe';
import { probeTextOrder } from './text-order-probe';

/** Reads strata.table_registry into the snapshot the router and engine take. */
export async function loadCatalogSnapshot(db: Queryable): Promise<CatalogSnapshot> {
  const exists = await db.query<{ t: string | null; db: string }>("SELECT to_regclass('strata.table_registry')::text AS t, current_database() AS db");
  const database = exists.rows[0].db;
  if (!exists.rows[0].t) return { tables: [], database };
  const snapshot = catalogSnapshot(await listRegisteredTables(db));
  return { ...snapshot, database, views: await loadTieredViews(db, snapshot), textFolding: await probeTextFolding(db, database), textOrder: await probeTextOrder(db, database) };
}

/**
 * Plain views that read a tiered table, directly or through other views (pg_depend
 * through the views' rewrite rules). Materialized views are not among them: their rows
 * are PostgreSQL's own, stored when they were last refreshed.
 */
async function loadTieredViews(db: Queryable, snapshot: CatalogSnapshot): Promise<TieredView[]> {
  const tables = snapshot.tables.filter((t) => t.mode !== 'cold-only').map((t) => `${pgIdent(t.schema)}.${pgIdent(t.table)}`);
  if (tables.length === 0) return [];
  const r = await db.query<{ schema: string; name: string; definition: string }>(
    `WITH RECURSIVE reads(oid) AS (
       SELECT to_regclass(t)::oid FROM unnest($1::text[]) AS t WHERE to_regclass(t) IS NOT NULL
       UNION
       SELECT v.oid FROM reads
         JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = reads.oid AND d.classid = 'pg_rewrite'::regclass
         JOIN pg_rewrite w ON w.oid = d.objid
         JOIN pg_class v ON v.oid = w.ev_class AND v.relkind = 'v' AND v.oid <> reads.oid
     )
     SELECT n.nspname AS schema, c.relname AS name, pg_get_viewdef(c.oid) AS definition
       FROM reads JOIN pg_class c ON c.oid = reads.oid AND c.relkind = 'v' JOIN pg_namespace n ON n.oid = c.relnamespace`,
    [tables],
  );
  return r.rows.map((row) => ({ schema: row.schema, name: row.name, definition: row.definition.replace(/;\s*$/, '') }));
}
