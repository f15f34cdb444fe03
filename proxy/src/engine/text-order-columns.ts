import type { CatalogSnapshot, TieredRelation } from '../router/catalog-snapshot';
import { isTextKind } from '../translate/column-scope';
import { collationCaseFolding } from '../translate/text-folding';
import { collationOrdersAsBytes } from '../translate/text-order';

/** A hot table's column collation as pg_attribute/pg_collation have it (collprovider, collcollate, collctype; 'd' for the default). */
export interface ColumnCollation {
  provider: string | null;
  locale: string | null;
  /** collctype: what lower()/upper() fold by (text-folding.ts collationCaseFolding). */
  ctype?: string | null;
  /** collisdeterministic; null where the column has no collation row (none is read as unknown). */
  deterministic?: boolean | null;
}

/**
 * `snapshot` with each tiered table's text columns marked `bytewise` where PostgreSQL
 * orders them as ClickHouse does (translate/text-order.ts): a hot table's by the column's
 * collation (`collations`, keyed by table then column, read in the statement's
 * describe/tier-state round trip), a cold-only table's by the database default (its cold
 * rows reach PostgreSQL in tables of the default collation). A hot table's text columns
 * are also marked `nondeterministic` unless their collation is known to be deterministic
 * (the database default always is: PostgreSQL refuses a nondeterministic one there),
 * and with their `caseFolding` where it is the database's or ASCII's (text-folding.ts).
 * Rollup relations keep their order and determinism unmarked; their rows, like a
 * cold-only table's, reach PostgreSQL as text of the default collation, so they fold as
 * the database does.
 */
export function withTextOrder(snapshot: CatalogSnapshot, collations: ReadonlyMap<string, ReadonlyMap<string, ColumnCollation>>): CatalogSnapshot {
  const order = snapshot.textOrder;
  const mark = (rel: TieredRelation): TieredRelation => {
    if (!rel.columns.some((c) => isTextKind(c.kind))) return rel;
    if (rel.rollupOf) return { ...rel, columns: rel.columns.map((c) => (isTextKind(c.kind) ? { ...c, caseFolding: 'database' as const } : c)) };
    const own = collations.get(rel.table);
    if (rel.mode !== 'cold-only' && !own) return rel;
    const columns = rel.columns.map((c) => {
      if (!isTextKind(c.kind)) return c;
      const coll = rel.mode === 'cold-only' ? { provider: 'd', locale: null } : own!.get(c.name);
      const bytewise = coll?.provider ? collationOrdersAsBytes(coll.provider, coll.locale, order) : false;
      const caseFolding = coll?.provider ? collationCaseFolding(coll.provider, coll.ctype) : undefined;
      const folds = caseFolding ? { caseFolding } : {};
      return rel.mode === 'cold-only' ? { ...c, bytewise, ...folds } : { ...c, bytewise, nondeterministic: coll?.deterministic !== true, ...folds };
    });
    return { ...rel, columns };
  };
  return { ...snapshot, tables: snapshot.tables.map(mark) };
}
