import type { Client } from 'pg';
import type { TieredTableObject } from './kube/resources';

/**
 * Which TieredTable owns a table: strata.table_registry's owner columns (catalog
 * migration 4). A table name is global to a database, TieredTables are namespaced: the
 * first TieredTable to provision a table owns it, and no other (another namespace, or the
 * same name re-created with another uid) may change or drop it.
 */
export interface TableOwner {
  namespace: string;
  name: string;
  uid: string;
}

export type Ownership =
  /** Not in the registry: whoever provisions it first becomes its owner. */
  | { kind: 'unregistered' }
  /** Registered by `strata apply` or before owners were recorded: adopted by its first TieredTable. */
  | { kind: 'unowned' }
  | { kind: 'mine' }
  | { kind: 'elsewhere'; owner: TableOwner };

export function ownerOf(obj: TieredTableObject): TableOwner {
  return { namespace: obj.metadata.namespace ?? 'default', name: obj.metadata.name, uid: obj.metadata.uid ?? '' };
}

export const describeOwner = (o: TableOwner): string => `TieredTable ${o.namespace}/${o.name} (uid ${o.uid})`;

/**
 * Serialises the reconciles and finalizers of one table name (two TieredTables naming it
 * are two work-queue keys, processed by different workers) from the ownership check to
 * the end of the reconcile: a session lock, released when the connection ends.
 */
export async function lockTableName(db: Client, table: string): Promise<void> {
  await db.query("SELECT pg_advisory_lock(hashtext('strata.table_owner'), hashtext($1))", [table]);
}

export async function readOwnership(db: Client, table: string, me: TableOwner): Promise<Ownership> {
  const r = await db.query<{ owner_namespace: string | null; owner_name: string | null; owner_uid: string | null }>(
    'SELECT owner_namespace, owner_name, owner_uid FROM strata.table_registry WHERE table_name = $1',
    [table],
  );
  if (r.rowCount === 0) return { kind: 'unregistered' };
  const row = r.rows[0];
  if (row.owner_uid === null) return { kind: 'unowned' };
  if (row.owner_uid === me.uid && row.owner_namespace === me.namespace && row.owner_name === me.name) return { kind: 'mine' };
  return { kind: 'elsewhere', owner: { namespace: row.owner_namespace!, name: row.owner_name!, uid: row.owner_uid } };
}

/** Records the owner of a registered table that has none; returns whether `me` owns it now. */
export async function recordOwner(db: Client, table: string, me: TableOwner): Promise<boolean> {
  const r = await db.query<{ owner_uid: string }>(
    `UPDATE strata.table_registry SET owner_namespace = COALESCE(owner_namespace, $2), owner_name = COALESCE(owner_name, $3), owner_uid = COALESCE(owner_uid, $4)
      WHERE table_name = $1 RETURNING owner_uid`,
    [table, me.namespace, me.name, me.uid],
  );
  return r.rowCount === 1 && r.rows[0].owner_uid === me.uid;
}
