import { firstRelationNamed, namesRelation, type CatalogSnapshot, type RelationName } from './catalog-snapshot';
import type { PgNode } from './sql-parser';
import { findTieredRefs, hasWrites, type TieredRef } from './tiered-refs';

/**
 * Every way a statement can read (or delete from) a tiered table, as the engine answers
 * it. Anything not listed reaches PostgreSQL untouched: writes into tiered tables go to
 * the hot tier as they are; statements that touch no tiered table are not the engine's.
 */
export type TieredStatementKind =
  /** SELECT without INTO or a data-modifying WITH. */
  | 'select'
  /** EXPLAIN of a statement that reads a tiered table: the engine's plan. */
  | 'explain'
  /** DECLARE … CURSOR FOR a query reading a tiered table. */
  | 'declare'
  /** COPY (query) TO STDOUT, or COPY table TO STDOUT of a tiered table. */
  | 'copy-out'
  /** CREATE TABLE AS / SELECT INTO / INSERT … SELECT / CREATE MATERIALIZED VIEW reading one. */
  | 'write-from-read'
  /** DELETE / TRUNCATE / UPDATE / MERGE of a tiered table, or a data-modifying WITH reading one. */
  | 'modify'
  /** SQL-level PREPARE of a statement on a tiered table (refused: EXECUTE would read the hot tier only). */
  | 'prepare'
  /** REFRESH of a materialized view that reads a tiered table (refused: it would store the hot tier's rows alone). */
  | 'refresh-matview'
  /** A statement naming a view over tiered tables whose definition is not read yet (refused: 55P03). */
  | 'locked-view';

export interface TieredStatement {
  kind: TieredStatementKind;
  /** The tiered tables the statement reads (or modifies), each place it names one. */
  refs: TieredRef[];
  /** 'locked-view': the view. */
  view?: RelationName;
  /** 'explain': what the explained statement is. */
  explained?: TieredStatementKind;
}

/** Statements that read (or modify) the relations they name: those classifyReads looks into. */
const READING_STATEMENTS = ['SelectStmt', 'ExplainStmt', 'DeclareCursorStmt', 'PrepareStmt', 'CopyStmt', 'CreateTableAsStmt', 'InsertStmt', 'DeleteStmt', 'UpdateStmt', 'MergeStmt'];

/** What the router and engine agree a statement is; undefined when it is not the engine's. */
export function classifyTiered(stmt: PgNode, snapshot: CatalogSnapshot): TieredStatement | undefined {
  const unread = (snapshot.lockedViews ?? []).filter((v) => !v.known);
  if (unread.length > 0 && READING_STATEMENTS.some((k) => stmt?.[k])) {
    // Neither expanded (its definition is unknown) nor relayed (it would read the hot tier alone).
    const view = firstRelationNamed(stmt, unread);
    if (view) return { kind: 'locked-view', refs: [], view };
  }
  return classifyReads(stmt, snapshot);
}

function classifyReads(stmt: PgNode, snapshot: CatalogSnapshot): TieredStatement | undefined {
  const reads = (node: PgNode) => findTieredRefs(node, snapshot);
  if (stmt?.SelectStmt) {
    if (hasWrites(stmt)) return nonEmpty('modify', [...modifiedTargets(stmt, snapshot), ...reads(stmt)]);
    return nonEmpty(stmt.SelectStmt.intoClause ? 'write-from-read' : 'select', reads(stmt));
  }
  if (stmt?.ExplainStmt) {
    // The explained statement's own refs: a DELETE's or UPDATE's target is among them (its
    // EXPLAIN ANALYZE, relayed, would modify the hot rows alone), a locked view refuses it.
    const inner = classifyTiered(stmt.ExplainStmt.query, snapshot);
    return inner?.kind === 'locked-view' ? inner : inner && { kind: 'explain', refs: inner.refs, explained: inner.kind };
  }
  if (stmt?.DeclareCursorStmt) return nonEmpty('declare', reads(stmt.DeclareCursorStmt.query));
  if (stmt?.PrepareStmt) return classifyTiered(stmt.PrepareStmt.query, snapshot) ? nonEmpty('prepare', reads(stmt.PrepareStmt.query)) : undefined;
  if (stmt?.CopyStmt) {
    const copy = stmt.CopyStmt;
    if (copy.is_from) return intoRollup(copy.relation, snapshot);
    return nonEmpty('copy-out', reads(copy.query ?? { RangeVar: copy.relation }));
  }
  if (stmt?.CreateTableAsStmt) return nonEmpty('write-from-read', reads(stmt.CreateTableAsStmt.query));
  if (stmt?.InsertStmt) {
    // The target is written (hot tier, as it is); only what the SELECT reads matters.
    const insert = stmt.InsertStmt;
    const rollup = intoRollup(insert.relation, snapshot);
    if (rollup) return rollup;
    const modified = modifiedTargets(insert.withClause ?? null, snapshot);
    if (modified.length > 0) return { kind: 'modify', refs: [...modified, ...reads(insert.selectStmt ?? null)] };
    return nonEmpty('write-from-read', [...reads(insert.selectStmt ?? null), ...reads(insert.withClause ?? null), ...reads(insert.onConflictClause ?? null)]);
  }
  const modified = stmt?.DeleteStmt ?? stmt?.UpdateStmt ?? stmt?.MergeStmt;
  if (modified) {
    // The target is a bare RangeVar in the tree: wrapped here so its ref keeps the same object.
    return nonEmpty('modify', [...reads({ RangeVar: modified.relation }), ...reads({ ...modified, relation: undefined })]);
  }
  if (stmt?.TruncateStmt) return nonEmpty('modify', reads({ list: stmt.TruncateStmt.relations }));
  const refreshed = stmt?.RefreshMatViewStmt?.relation;
  // Its tiered reads are in its stored definition, not the statement: no refs.
  if (refreshed && snapshot.matviews?.some((m) => namesRelation(refreshed, m))) {
    return { kind: 'refresh-matview', refs: [] };
  }
  return undefined;
}

/** A write into a rollup read over the wire (rollup-relations.ts): the engine refuses it. */
function intoRollup(target: PgNode, snapshot: CatalogSnapshot): TieredStatement | undefined {
  const refs = findTieredRefs({ RangeVar: target }, snapshot).filter((r) => r.relation.rollupOf);
  return refs.length > 0 ? { kind: 'modify', refs } : undefined;
}

/**
 * Tiered tables a data-modifying WITH (or any nested DELETE / UPDATE / MERGE) writes: their
 * targets are bare RangeVars, which findTieredRefs does not see. Such a statement is a
 * modification of the table, never a plain read or a relayed write.
 */
function modifiedTargets(node: PgNode, snapshot: CatalogSnapshot): TieredRef[] {
  const out: TieredRef[] = [];
  const visit = (n: PgNode): void => {
    if (n === null || typeof n !== 'object') return;
    if (Array.isArray(n)) return n.forEach(visit);
    for (const [k, v] of Object.entries(n)) {
      if ((k === 'DeleteStmt' || k === 'UpdateStmt' || k === 'MergeStmt') && (v as PgNode)?.relation) {
        out.push(...findTieredRefs({ RangeVar: (v as PgNode).relation }, snapshot));
      }
      visit(v);
    }
  };
  visit(node);
  return out;
}

function nonEmpty(kind: TieredStatementKind, refs: TieredRef[]): TieredStatement | undefined {
  return refs.length > 0 ? { kind, refs } : undefined;
}
