import type { CatalogSnapshot } from './catalog-snapshot';
import { parseStatements, type PgNode } from './sql-parser';
import { classifyTiered, type TieredStatement } from './tiered-statement';
import { expandViews } from './view-expansion';

/**
 * What the router found in a statement text, handed to the engine with the route so
 * nothing downstream parses or classifies it again: each statement of the text, its
 * parse tree with views over tiered tables expanded, and how it reads tiered tables.
 */
export interface RoutedStatement {
  /** The statement's own text, as the client wrote it. */
  text: string;
  tree: PgNode;
  tiered?: TieredStatement;
}

export interface RoutedPlan {
  statements: readonly RoutedStatement[];
}

/** Parses and classifies `sql` against `snapshot` (throws SqlParseError on bad SQL). */
export function routedPlan(sql: string, snapshot: CatalogSnapshot): RoutedPlan {
  return {
    statements: parseStatements(sql).map((s) => {
      const tree = expandViews(s.stmt, snapshot);
      return { text: s.text, tree, tiered: classifyTiered(tree, snapshot) };
    }),
  };
}
