import { parseStatements, type PgNode } from '../router/sql-parser';

/**
 * AST fragments made by parsing SQL text Strata writes itself (identifiers through
 * pgIdent, no user values): safer than hand-built nodes, which would have to match
 * libpg_query's exact shapes.
 */
export function selectOf(sql: string): PgNode {
  const [s] = parseStatements(sql);
  return structuredClone(s.stmt.SelectStmt);
}

/** The expression of `SELECT <expr>`. */
export function exprOf(sql: string): PgNode {
  return selectOf(`SELECT ${sql}`).targetList[0].ResTarget.val;
}

/** Replaces the contents of `target` (a `{ Type: {...} }` wrapper) with `replacement`'s. */
export function replaceNode(target: PgNode, replacement: PgNode): void {
  for (const k of Object.keys(target)) delete target[k];
  Object.assign(target, replacement);
}
