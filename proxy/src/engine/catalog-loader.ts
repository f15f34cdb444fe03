import { listRegisteredTables, type Queryable } from '@strata/core';
import { catalogSnapshot, type CatalogSnapshot } from '../router/catalog-snapshot';

/** Reads strata.table_registry into the snapshot the router and engine take. */
export async function loadCatalogSnapshot(db: Queryable): Promise<CatalogSnapshot> {
  const exists = await db.query<{ t: string | null; db: string }>("SELECT to_regclass('strata.table_registry')::text AS t, current_database() AS db");
  const database = exists.rows[0].db;
  if (!exists.rows[0].t) return { tables: [], database };
  return { ...catalogSnapshot(await listRegisteredTables(db)), database };
}
