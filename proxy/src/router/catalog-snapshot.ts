import { normalizePgType, type PgTypeKind, type RollupSpec, type TieredTableSpec } from '@strata/core/model';
import type { CaseFolding, TextFolding } from '../translate/text-folding';
import type { DatabaseTextOrder } from '../translate/text-order';
import { rollupRelations, type RollupOf } from './rollup-relations';
import type { PgNode } from './sql-parser';

/**
 * What the router and engine know about tiered tables: a plain, immutable value built
 * from strata.table_registry (engine/catalog-loader.ts reads it). Pure code gets it as
 * an argument and never queries the catalog itself.
 */
export interface TieredColumnInfo {
  name: string;
  /** As written in DDL, e.g. `double precision`. */
  pgType: string;
  kind: PgTypeKind;
  /**
   * Text: PostgreSQL orders it byte-wise, as ClickHouse does (translate/text-order.ts) —
   * set per statement from its collation in PostgreSQL (engine/statement-tables.ts).
   */
  bytewise?: boolean;
  /**
   * Text: its collation in PostgreSQL is nondeterministic, or not known to be
   * deterministic, so PostgreSQL's equality is not byte equality ('abc' = 'ABC' under a
   * case-insensitive ICU collation) and LIKE, regular expressions and substring searches
   * are errors there — nothing that relies on byte equality reaches ClickHouse
   * (column-scope.ts equalsAsBytes). Set per statement like `bytewise`.
   */
  nondeterministic?: boolean;
  /**
   * Text: how PostgreSQL's lower()/upper()/ILIKE/`~*` fold it, by its collation
   * (translate/text-folding.ts CaseFolding) — set per statement like `bytewise`; unset:
   * not known, case-insensitive conditions on it stay in PostgreSQL.
   */
  caseFolding?: CaseFolding;
}

export interface TieredRelation {
  schema: string;
  table: string;
  timeColumn: string;
  mode: TieredTableSpec['mode'];
  columns: TieredColumnInfo[];
  /** The spec's rollups (engine/rollup-plan.ts serves bucketed aggregates from them). */
  rollups?: RollupSpec[];
  /** spec.cold.retention: raw cold rows older than this may be gone. */
  coldRetention?: string;
  /** spec.cold.orderBy: the cold table's sort key (engine/latest-parts.ts reads it). */
  coldSortKey?: string[];
  /** A rollup read over the wire (rollup-relations.ts): read-only, cold-only. */
  rollupOf?: RollupOf;
}

/** A plain view that reads a tiered table (directly or through other views). */
export interface TieredView {
  schema: string;
  name: string;
  /** pg_get_viewdef: a SELECT whose output names are the view's columns. */
  definition: string;
  /** Its parse tree, made once on first use. */
  parsed?: unknown;
}

/** A relation's schema and name. */
export interface RelationName {
  schema: string;
  name: string;
}

/** A view whose definition was not read: another session held it locked. */
export interface LockedView extends RelationName {
  /** Its definition as read before is in the snapshot's `views`. */
  known?: boolean;
}

/** Whether a RangeVar names `rel` (unqualified: taken to resolve to it, as findRelation takes tables). */
export function namesRelation(rv: PgNode, rel: RelationName): boolean {
  return rv.relname === rel.name && (rv.schemaname === undefined || rv.schemaname === rel.schema);
}

/** The first of `rels` that a RangeVar anywhere in `node` names (as namesRelation judges), or undefined. */
export function firstRelationNamed<T extends RelationName>(node: PgNode, rels: readonly T[]): T | undefined {
  if (rels.length === 0 || node === null || typeof node !== 'object') return undefined;
  if (Array.isArray(node)) {
    for (const n of node) {
      const found = firstRelationNamed(n, rels);
      if (found) return found;
    }
    return undefined;
  }
  const named = node.RangeVar ? rels.find((r) => namesRelation(node.RangeVar, r)) : undefined;
  if (named) return named;
  for (const v of Object.values(node)) {
    const found = firstRelationNamed(v, rels);
    if (found) return found;
  }
  return undefined;
}

export interface CatalogSnapshot {
  tables: TieredRelation[];
  views?: TieredView[];
  /** Materialized views reading a tiered table (their REFRESH is refused: it would read the hot tier alone). */
  matviews?: RelationName[];
  /**
   * Views over tiered tables another session held locked (ACCESS EXCLUSIVE: a view DDL in
   * its open block) when they were read, so their definitions were not read
   * (engine/catalog-loader.ts). Those `known` stay in `views` as last read; the others
   * cannot be expanded, and statements naming them are refused until they are read.
   */
  lockedViews?: LockedView[];
  /**
   * The database holding strata's catalog and the tiered tables. A client of another
   * database reads its own tables of the same names, untouched. Unset: any (tests).
   */
  database?: string;
  /** That database's case folding (engine/text-folding-probe.ts); unset: case-insensitive conditions stay in PostgreSQL. */
  textFolding?: TextFolding;
  /** That database's default collation order (engine/text-order-probe.ts); unset: text ordering stays in PostgreSQL. */
  textOrder?: DatabaseTextOrder;
}

export function catalogSnapshot(specs: readonly TieredTableSpec[]): CatalogSnapshot {
  return {
    tables: specs
      // Hot-only tables never have cold rows: PostgreSQL answers them alone.
      .filter((s) => s.mode !== 'hot-only')
      .map((s): TieredRelation => ({
        schema: s.schema,
        table: s.table,
        timeColumn: s.timeColumn,
        mode: s.mode,
        columns: s.columns.map((c) => {
          const t = normalizePgType(c.type);
          return { name: c.name, pgType: t.pgName, kind: t.kind };
        }),
        ...(s.rollups.length > 0 ? { rollups: s.rollups } : {}),
        ...(s.cold.retention ? { coldRetention: s.cold.retention } : {}),
        coldSortKey: [...s.cold.orderBy],
      }))
      .concat(specs.flatMap(rollupRelations)),
  };
}

/**
 * `snapshot` with the given tables' relations rebuilt from their specs as just read (the
 * rest unchanged). Returns `snapshot` itself when nothing changed.
 */
export function withCurrentSpecs(snapshot: CatalogSnapshot, specs: readonly TieredTableSpec[]): CatalogSnapshot {
  const fresh = catalogSnapshot(specs).tables;
  const changed = fresh.filter((f) => {
    const old = snapshot.tables.find((t) => t.table === f.table);
    return !old || JSON.stringify(old) !== JSON.stringify(f);
  });
  if (changed.length === 0) return snapshot;
  const names = new Set(changed.map((c) => c.table));
  return { ...snapshot, tables: [...snapshot.tables.filter((t) => !names.has(t.table)), ...changed] };
}

export function findRelation(snapshot: CatalogSnapshot, schema: string | undefined, table: string): TieredRelation | undefined {
  // An unqualified name is taken to resolve to the tiered table: Strata's tables live
  // in schemas on the default search_path (public by default).
  return snapshot.tables.find((t) => t.table === table && (schema === undefined || schema === t.schema));
}
