import type { PgNode } from './sql-parser';
import { findRelation, type CatalogSnapshot, type TieredRelation } from './catalog-snapshot';

/** One place a statement reads a tiered table. */
export interface TieredRef {
  relation: TieredRelation;
  /** The RangeVar's fields (the object inside `{ RangeVar: … }`), in the tree walked. */
  rangeVar: PgNode;
  /** The `{ RangeVar }` wrapper node, whose contents a rewrite replaces. */
  node: PgNode;
  /** The SelectStmt fields whose FROM list holds this RangeVar directly, if any. */
  select: PgNode | undefined;
  /** The name columns are qualified with in that SELECT: alias or table name. */
  refName: string;
}

/**
 * Every RangeVar naming a tiered table, skipping names a WITH clause in scope defines
 * (a CTE called like the table shadows it).
 */
export function findTieredRefs(stmt: PgNode, snapshot: CatalogSnapshot): TieredRef[] {
  const out: TieredRef[] = [];
  walk(stmt, [], undefined, snapshot, out);
  return out;
}

function cteNames(withClause: PgNode): string[] {
  const ctes = withClause?.ctes ?? [];
  return ctes.map((c: PgNode) => c.CommonTableExpr?.ctename).filter((n: unknown): n is string => typeof n === 'string');
}

function walk(node: PgNode, scope: string[], directFrom: PgNode | undefined, snapshot: CatalogSnapshot, out: TieredRef[]): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const n of node) walk(n, scope, undefined, snapshot, out);
    return;
  }
  for (const [key, value] of Object.entries(node)) {
    if (key === 'RangeVar') {
      const rv = value as PgNode;
      if (!(rv.schemaname === undefined && scope.includes(rv.relname))) {
        const relation = findRelation(snapshot, rv.schemaname, rv.relname);
        if (relation) out.push({ relation, rangeVar: rv, node, select: directFrom, refName: rv.alias?.aliasname ?? rv.relname });
      }
      continue;
    }
    if (key === 'SelectStmt' || key === 'InsertStmt' || key === 'UpdateStmt' || key === 'DeleteStmt' || key === 'MergeStmt') {
      const s = value as PgNode;
      const inner = s.withClause ? [...scope, ...cteNames(s.withClause)] : scope;
      for (const [k, v] of Object.entries(s)) {
        if (k === 'fromClause' && Array.isArray(v)) {
          // Items directly in FROM belong to this SELECT; deeper ones (joins) do not.
          for (const item of v) {
            if (item && typeof item === 'object' && 'RangeVar' in item) walk(item, inner, s, snapshot, out);
            else walk(item, inner, undefined, snapshot, out);
          }
        } else walk(v, inner, undefined, snapshot, out);
      }
      continue;
    }
    walk(value, scope, undefined, snapshot, out);
  }
}

/** True when the tree holds a data-modifying statement (e.g. in a WITH). */
export function hasWrites(stmt: PgNode): boolean {
  let found = false;
  const visit = (n: PgNode): void => {
    if (found || n === null || typeof n !== 'object') return;
    if (Array.isArray(n)) return n.forEach(visit);
    for (const [k, v] of Object.entries(n)) {
      if (k === 'InsertStmt' || k === 'UpdateStmt' || k === 'DeleteStmt' || k === 'MergeStmt') {
        found = true;
        return;
      }
      visit(v);
    }
  };
  visit(stmt);
  return found;
}
