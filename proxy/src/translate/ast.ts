import type { PgNode } from '../router/sql-parser';

/** Small readers over libpg_query's JSON tree. */

export function strings(list: PgNode[] | undefined): string[] {
  return (list ?? []).map((n: PgNode) => n?.String?.sval).filter((s: unknown): s is string => typeof s === 'string');
}

/** `a AND b AND c` → [a, b, c]; anything else → [node]. */
export function conjuncts(where: PgNode | undefined): PgNode[] {
  if (!where) return [];
  const b = where.BoolExpr;
  if (b && b.boolop === 'AND_EXPR') return (b.args as PgNode[]).flatMap(conjuncts);
  return [where];
}

export function andOf(nodes: PgNode[]): PgNode | undefined {
  if (nodes.length === 0) return undefined;
  if (nodes.length === 1) return nodes[0];
  return { BoolExpr: { boolop: 'AND_EXPR', args: nodes } };
}

export function opName(aexpr: PgNode): string | undefined {
  const names = strings(aexpr?.name);
  // `OPERATOR(pg_catalog.=)` spells the schema too; the operator is the last part.
  return names.length > 0 ? names[names.length - 1] : undefined;
}

export function funcName(fc: PgNode): string | undefined {
  const names = strings(fc?.funcname);
  if (names.length === 0) return undefined;
  if (names.length === 2 && names[0] !== 'pg_catalog' && names[0] !== 'public') return undefined;
  return names[names.length - 1].toLowerCase();
}

/** A string constant's value, e.g. `'2026-01-04'` or `'300.000s'`. */
export function stringConst(n: PgNode): string | undefined {
  const c = n?.A_Const;
  if (!c || c.isnull) return undefined;
  return typeof c.sval?.sval === 'string' ? c.sval.sval : undefined;
}

/** An integer or float constant as its literal text. */
export function numberConst(n: PgNode): string | undefined {
  const c = n?.A_Const;
  if (!c || c.isnull) return undefined;
  if (c.ival !== undefined) return String(c.ival.ival ?? 0);
  if (c.fval !== undefined) return String(c.fval.fval);
  return undefined;
}

export function isNode(n: PgNode, type: string): boolean {
  return n !== null && typeof n === 'object' && !Array.isArray(n) && type in n;
}

/** Visits every object in the tree (pre-order); return false to skip a subtree. */
export function visit(node: PgNode, fn: (n: PgNode) => boolean | void): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const x of node) visit(x, fn);
    return;
  }
  if (fn(node) === false) return;
  for (const v of Object.values(node)) visit(v, fn);
}

/** Column references in a subtree, as their name lists (e.g. ['m', 'host']). */
export function columnRefs(node: PgNode): PgNode[] {
  const out: PgNode[] = [];
  visit(node, (n) => {
    if (n.ColumnRef) out.push(n.ColumnRef);
  });
  return out;
}
