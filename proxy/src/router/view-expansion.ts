import type { CatalogSnapshot, TieredView } from './catalog-snapshot';
import { parseStatements, type PgNode } from './sql-parser';

/**
 * Views over tiered tables, read as PostgreSQL's rewriter reads them: each reference to
 * such a view becomes its definition as a subquery under the view's name, nested views
 * too, so the engine sees (and splits) every read of a tiered table the view makes.
 * Returns `stmt` itself when it names no such view.
 *
 * One difference from PostgreSQL: a view's reads are checked against the client's role,
 * not the view owner's (a role that may read the view but not its tables gets 42501
 * here, where PostgreSQL would answer); nothing becomes readable that PostgreSQL hides.
 */
export function expandViews(stmt: PgNode, snapshot: CatalogSnapshot): PgNode {
  const views = snapshot.views ?? [];
  if (views.length === 0 || !namesAView(stmt, views)) return stmt;
  const tree = structuredClone(stmt);
  expand(tree, views, [], 0);
  return tree;
}

const MAX_DEPTH = 32;

function findView(views: readonly TieredView[], rv: PgNode): TieredView | undefined {
  return views.find((v) => v.name === rv.relname && (rv.schemaname === undefined || rv.schemaname === v.schema));
}

function namesAView(node: PgNode, views: readonly TieredView[]): boolean {
  let found = false;
  const visit = (n: PgNode): void => {
    if (found || n === null || typeof n !== 'object') return;
    if (Array.isArray(n)) return n.forEach(visit);
    if (n.RangeVar && findView(views, n.RangeVar)) {
      found = true;
      return;
    }
    for (const v of Object.values(n)) visit(v);
  };
  visit(node);
  return found;
}

function definitionOf(view: TieredView): PgNode {
  view.parsed ??= parseStatements(view.definition)[0].stmt;
  return structuredClone(view.parsed);
}

function expand(node: PgNode, views: readonly TieredView[], ctes: string[], depth: number): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const n of node) expand(n, views, ctes, depth);
    return;
  }
  const select = node.SelectStmt;
  const scope = select?.withClause ? [...ctes, ...(select.withClause.ctes ?? []).map((c: PgNode) => c.CommonTableExpr?.ctename)] : ctes;
  for (const [key, value] of Object.entries(node)) {
    if (key === 'RangeVar') {
      const rv = value as PgNode;
      const view = rv.schemaname === undefined && scope.includes(rv.relname) ? undefined : findView(views, rv);
      if (!view) continue;
      if (depth >= MAX_DEPTH) throw new RangeError(`views nested deeper than ${MAX_DEPTH} levels`);
      const subquery = definitionOf(view);
      expand(subquery, views, [], depth + 1);
      delete node.RangeVar;
      node.RangeSubselect = { subquery, alias: rv.alias ?? { aliasname: rv.relname } };
      continue;
    }
    expand(value, views, scope, depth);
  }
}
