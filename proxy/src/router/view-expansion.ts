import { findRelation, firstRelationNamed, namesRelation, type CatalogSnapshot, type TieredView } from './catalog-snapshot';
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
  if (!firstRelationNamed(stmt, views)) return stmt;
  const tree = structuredClone(stmt);
  expand(tree, snapshot, [], 0);
  return tree;
}

const MAX_DEPTH = 32;

function findView(views: readonly TieredView[], rv: PgNode): TieredView | undefined {
  return views.find((v) => namesRelation(rv, v));
}

function definitionOf(view: TieredView): PgNode {
  view.parsed ??= parseStatements(view.definition)[0].stmt;
  return structuredClone(view.parsed);
}

function expand(node: PgNode, snapshot: CatalogSnapshot, ctes: string[], depth: number): void {
  const views = snapshot.views ?? [];
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const n of node) expand(n, snapshot, ctes, depth);
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
      expand(subquery, snapshot, [], depth + 1);
      const alias = rv.alias ?? { aliasname: rv.relname };
      const base = wholeTable(subquery, snapshot);
      delete node.RangeVar;
      // A view that is its table's every column, unfiltered, reads as the table itself
      // under the view's name: the outer WHERE then bounds the table's time column, and
      // the engine reads only the cold rows it needs (as PostgreSQL's planner would).
      if (base && !alias.colnames) node.RangeVar = { ...base, alias };
      else node.RangeSubselect = { subquery, alias };
      continue;
    }
    expand(value, snapshot, scope, depth);
  }
}

/**
 * The table `def` (a view's definition, its own views expanded) reads when it is exactly
 * `SELECT <every column of the table, in its order> FROM table` — no filter, grouping,
 * ordering, limit or renaming; undefined otherwise.
 */
function wholeTable(def: PgNode, snapshot: CatalogSnapshot): PgNode | undefined {
  const s = def?.SelectStmt;
  if (!s || s.op !== 'SETOP_NONE' || s.fromClause?.length !== 1 || !s.fromClause[0].RangeVar) return undefined;
  for (const k of ['whereClause', 'groupClause', 'havingClause', 'distinctClause', 'sortClause', 'limitCount', 'limitOffset', 'windowClause', 'withClause', 'lockingClause', 'intoClause', 'valuesLists']) {
    if (s[k] !== undefined && !(Array.isArray(s[k]) && s[k].length === 0)) return undefined;
  }
  const rv = s.fromClause[0].RangeVar;
  const relation = findRelation(snapshot, rv.schemaname, rv.relname);
  if (!relation) return undefined;
  const refName = rv.alias?.aliasname ?? rv.relname;
  const names: string[] = [];
  for (const t of s.targetList ?? []) {
    const fields = t.ResTarget?.val?.ColumnRef?.fields as PgNode[] | undefined;
    if (!fields || fields.length > 2 || (fields.length === 2 && fields[0].String?.sval !== refName)) return undefined;
    const col = fields[fields.length - 1].String?.sval;
    if (typeof col !== 'string' || (t.ResTarget.name !== undefined && t.ResTarget.name !== col)) return undefined;
    names.push(col);
  }
  const columns = relation.columns.map((c) => c.name);
  if (names.length !== columns.length || names.some((n, i) => n !== columns[i])) return undefined;
  const { alias: _alias, ...table } = rv;
  return table;
}
