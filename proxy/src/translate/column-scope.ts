import type { PgNode } from '../router/sql-parser';
import type { TieredRelation } from '../router/catalog-snapshot';
import { strings } from './ast';
import type { TextFolding } from './text-folding';

/**
 * Which column of the tiered relation a ColumnRef names, inside one SELECT whose FROM
 * holds that relation. Unqualified names count only when the relation is the SELECT's
 * only FROM item (otherwise another item could own the name).
 */
export interface ColumnScope {
  relation: TieredRelation;
  refName: string;
  /** True when unqualified column names resolve to this relation. */
  soleFromItem: boolean;
  /** The database's case folding, when probed; case-insensitive conditions stay in PostgreSQL without it. */
  textFolding?: TextFolding;
}

export function columnOf(scope: ColumnScope, ref: PgNode): string | undefined {
  const fields = ref?.fields as PgNode[] | undefined;
  if (!fields || fields.some((f) => f.A_Star)) return undefined;
  const parts = strings(fields);
  if (parts.length !== fields.length) return undefined;
  let col: string;
  if (parts.length === 1 && scope.soleFromItem) col = parts[0];
  else if (parts.length === 2 && parts[0] === scope.refName) col = parts[1];
  else return undefined;
  return scope.relation.columns.some((c) => c.name === col) ? col : undefined;
}

export function isTimeColumn(scope: ColumnScope, n: PgNode): boolean {
  return n?.ColumnRef !== undefined && columnOf(scope, n.ColumnRef) === scope.relation.timeColumn;
}

/** The kind of the relation's column `name` (a scope, or an occurrence: anything with its relation). */
export function columnKind(scope: Pick<ColumnScope, 'relation'>, name: string) {
  return scope.relation.columns.find((c) => c.name === name)?.kind;
}

export function isTextKind(kind: string | undefined): boolean {
  return kind === 'text' || kind === 'varchar';
}

/** real or double precision: -0 = 0, NaN = NaN and NaN above every number in PostgreSQL, not in ClickHouse. */
export function isFloatKind(kind: string | undefined): boolean {
  return kind === 'float8' || kind === 'float4';
}

/**
 * Whether ClickHouse's equality of `name`'s values (bytes, for String) is PostgreSQL's:
 * false only for a text column whose collation is nondeterministic or unknown
 * (TieredColumnInfo.nondeterministic). Conditions and groupings that need equal values
 * to be equal in both engines (=, <>, IN, LIKE, regular expressions, count(DISTINCT),
 * whole-aggregate groups) stay in PostgreSQL otherwise.
 */
export function equalsAsBytes(scope: ColumnScope, name: string): boolean {
  return scope.relation.columns.find((c) => c.name === name)?.nondeterministic !== true;
}
