import { chIdent, chQualified, floatSumPartialCh, pgIdent, pgQualified } from '@strata/core';
import type { CatalogSnapshot, TieredRelation } from '../router/catalog-snapshot';
import type { PgNode } from '../router/sql-parser';
import { findTieredRefs } from '../router/tiered-refs';
import { andOf, columnRefs, conjuncts, visit } from '../translate/ast';
import { ChParams } from '../translate/ch-params';
import { conditionToClickHouse } from '../translate/ch-condition';
import { columnOf, isFloatKind, type ColumnScope } from '../translate/column-scope';
import type { Instant } from '../translate/instant';
import {
  FULL_RANGE,
  belowRange,
  hasSlack,
  intersectRanges,
  isEmptyRange,
  rangeOf,
  timePredicateOf,
  timePredicateToClickHouse,
  type TimePredicate,
  type TimeRange,
} from '../translate/time-predicate';
import type { ColdSpan } from './cold-spans';
import { coldTimeConditions } from './cold-time-conditions';
import { filteredPartialExprs } from './filtered-partials';
import { floatGroupSql } from './float-equality-key';
import { exactPartialColumn } from './exact-partials';
import { NotPartial, ROWS_COLUMN, rewriteForPartials, type PartialShape } from './partial-aggregate';
import { rollupCandidate, rollupColdQuery, type RollupCandidate, type RollupRead } from './rollup-plan';
import { rollupRelationSource } from './rollup-relation';
import { replaceNode, selectOf } from './sql-snippets';
import { topKOf, topKOfPartitionedTopN, topKQualifySql, type TopK } from './top-k';
import { orderKeysSql, topNOf, type TopN } from './top-n';
import { LATEST_PARTS_SETTINGS, readsLatestParts } from './latest-parts';
import { latestPartsBound } from './latest-parts-bound';
import { wholeChExpr, wholePgType } from './whole-aggregate';
import { wholeColdQuery } from './whole-pushdown';
import { NO_HOT_ROWS, rawColumnName } from './whole-split';

/**
 * How one statement over tiered tables is answered. Each place it reads a tiered
 * table (an "occurrence") becomes, in the statement PostgreSQL finally runs, a derived
 * table: the hot table UNION ALL a temporary table holding that occurrence's cold
 * rows, fetched from ClickHouse with the time predicates and the conditions that
 * translate exactly. Cold rows are either raw (PostgreSQL re-applies the whole
 * WHERE) or partial aggregates (see partial-aggregate.ts). PostgreSQL evaluates the
 * query itself, so names, types, NULL rules, time zones and text output are its own.
 */
export interface OccurrencePlan {
  index: number;
  relation: TieredRelation;
  refName: string;
  tempTable: string;
  /** ANDed predicates on the time column; their bounds index StatementPlan.bounds. */
  timePredicates: TimePredicate[];
  /** ClickHouse conditions (parameters in `params`) that match PostgreSQL's exactly. */
  pushed: string[];
  params: ChParams;
  mode: 'raw' | 'partial';
  partial?: PartialShape;
  /** Raw mode: the columns the statement can read (others are fetched as NULL). */
  rawColumns: Set<string> | 'all';
  /** Raw mode: only the first rows in the statement's order are needed (top-n.ts). */
  topN?: TopN;
  /** Raw mode: only the candidates of a top-k per partition are needed (top-k.ts). */
  topK?: TopK;
  /**
   * Partial mode with whole aggregates (partial.wholes): ClickHouse computes every group
   * over its cold rows and the hot rows, read with the statement's own WHERE and shipped
   * to it (whole-pushdown.ts); PostgreSQL reads no hot row itself — unless the groups are
   * split at W by a time bucket (partial.split, whole-split.ts): then PostgreSQL reads the
   * hot rows of buckets past W's (`hotSide`, its condition `above` set once W is known)
   * and only the others are shipped.
   */
  shipHot?: { where: PgNode | undefined; hotSide?: PgNode; above?: PgNode; before?: PgNode };
  /** Columns the pushed conditions read. */
  pushedColumns: Set<string>;
  /** Partial mode: a rollup whose rows can stand for raw partials (rollup-plan.ts). */
  rollup?: RollupCandidate;
  /** Set once the bounds are known: the whole buckets the rollup is read for. */
  rollupRead?: RollupRead;
  /**
   * Set once the generations are known, where the engine has read it: the span of the
   * visible cold rows of a raw table (cold-spans.ts), so the read leaves out time
   * conditions they all meet.
   */
  coldSpan?: ColdSpan;
  /**
   * Every row ClickHouse groups (cold rows, shipped hot rows) lies at or after 1970: time
   * cells are plain integer divisions (flooredTime), without the correction for negative times.
   */
  timesFrom1970?: boolean;
  /**
   * Partial mode reading hot rows beside the cold partials: the derived table's hot branch
   * (each hot row its own partial), so PostgreSQL can aggregate it into the partial table
   * while ClickHouse reads (hot-partials.ts) and the branch then read no row.
   */
  hotBranch?: { select: PgNode };
}

export interface StatementPlan {
  /** The rewritten statement (a copy); the original tree is untouched. */
  stmt: PgNode;
  occurrences: OccurrencePlan[];
  /** Constant expressions bounding the time column, for PostgreSQL to evaluate. */
  bounds: PgNode[];
}

export interface PlanOptions {
  /** The session's TimeZone is UTC (calendar buckets are then UTC-aligned). */
  utc: boolean;
  /** false under `SET strata.route = 'cold'`: the cold tier alone answers. */
  includeHot: boolean;
  /**
   * Names of the temporary tables (default `_strata_cold_`). Statements whose tables
   * outlive them (a cursor) use a prefix of their own so the next statement's do not clash.
   */
  tempPrefix?: string;
  /** Plan whole aggregates with the hot rows shipped to ClickHouse (whole-aggregate.ts); default no. */
  whole?: boolean;
}

export function planStatement(stmt: PgNode, snapshot: CatalogSnapshot, opts: PlanOptions): StatementPlan {
  const tree = structuredClone(stmt);
  const refs = findTieredRefs(tree, snapshot);
  const bounds: PgNode[] = [];
  const used = usedColumns(tree, refs.map((r) => r.refName));
  const occurrences: OccurrencePlan[] = [];
  refs.forEach((ref, index) => {
    const tempTable = `${opts.tempPrefix ?? '_strata_cold_'}${index}`;
    const params = new ChParams(`p${index}_`);
    const occ: OccurrencePlan = {
      index,
      relation: ref.relation,
      refName: ref.refName,
      tempTable,
      timePredicates: [],
      pushed: [],
      params,
      mode: 'raw',
      rawColumns: used,
      pushedColumns: new Set(),
    };
    occurrences.push(occ);
    let rangeVarNode: PgNode = ref.node;
    const sel = ref.select;
    if (sel) {
      const scope: ColumnScope = { relation: ref.relation, refName: ref.refName, soleFromItem: sel.fromClause.length === 1, textFolding: snapshot.textFolding };
      const unpushed: PgNode[] = [];
      for (const c of conjuncts(sel.whereClause)) {
        const tp = timePredicateOf(scope, c, bounds, opts.utc);
        if (tp) {
          occ.timePredicates.push(tp);
          // An approximate bound only narrows the cold rows: PostgreSQL still applies it.
          if (hasSlack(tp)) unpushed.push(c);
          continue;
        }
        const ch = conditionToClickHouse(scope, c, params);
        if (ch !== undefined) {
          occ.pushed.push(ch);
          for (const ref of columnRefs(c)) occ.pushedColumns.add(columnOf(scope, ref) ?? '');
        } else unpushed.push(c);
      }
      const hotWhere = sel.whereClause ? structuredClone(sel.whereClause) : undefined;
      const originalRangeVar = structuredClone(ref.rangeVar);
      try {
        // Whole aggregates need every WHERE condition in ClickHouse (cold rows are not re-checked).
        const shape = rewriteForPartials(sel, scope, unpushed, opts.utc, opts.whole === true && unpushed.length === 0, (c) =>
          conditionToClickHouse(scope, c, params),
        );
        occ.mode = 'partial';
        occ.partial = shape;
        // A rollup keeps partials only: whole aggregates read every row.
        if (shape.wholes.length > 0) occ.shipHot = { where: hotWhere };
        else occ.rollup = rollupCandidate(occ);
        sel.whereClause = andOf(unpushed.map((u) => structuredClone(u)));
        rangeVarNode = sel.fromClause[0];
        replaceNode(rangeVarNode, derivedTable(occ, originalRangeVar, hotWhere, opts));
        return;
      } catch (err) {
        if (!(err instanceof NotPartial)) throw err;
      }
      if (unpushed.length === 0) {
        const topN = topNOf(sel, scope);
        // Windows reaching past the cut within partitions: each partition's first rows.
        if (topN?.partitionedBy) occ.topK = topKOfPartitionedTopN(topN, scope);
        else occ.topN = topN;
        if (!topN) occ.topK = topKOf(tree, sel, scope);
      }
    }
    replaceNode(rangeVarNode, derivedTable(occ, structuredClone(ref.rangeVar), undefined, opts));
  });
  return { stmt: tree, occurrences, bounds };
}

/** Column names the statement mentions anywhere; 'all' when it reads whole rows (`*`, `t.*`, `t`). */
function usedColumns(tree: PgNode, refNames: string[]): Set<string> | 'all' {
  const names = new Set<string>();
  let all = false;
  visit(tree, (n) => {
    if (!n.ColumnRef) return;
    const fields = n.ColumnRef.fields as PgNode[];
    const last = fields[fields.length - 1];
    if (last?.A_Star) all = true;
    else if (typeof last?.String?.sval === 'string') {
      names.add(last.String.sval);
      // A lone table name is a whole-row reference (row_to_json(m), SELECT m …).
      if (fields.length === 1 && refNames.includes(last.String.sval)) all = true;
    }
  });
  return all ? 'all' : names;
}

function derivedTable(occ: OccurrencePlan, rangeVar: PgNode, hotWhere: PgNode | undefined, opts: PlanOptions): PgNode {
  const rel = occ.relation;
  const hotTable = pgQualified(rel.schema, rel.table);
  const coldTable = `pg_temp.${pgIdent(occ.tempTable)}`;
  // A cold-only table has no PostgreSQL table at all.
  const includeHot = opts.includeHot && rel.mode !== 'cold-only';
  let union: PgNode;
  if (occ.mode === 'raw') {
    union = selectOf(includeHot ? `SELECT * FROM ${hotTable} UNION ALL SELECT * FROM ${coldTable}` : `SELECT * FROM ${coldTable}`);
  } else {
    const shape = occ.partial!;
    const alias = pgIdent(occ.refName);
    const cols = partialColumns(occ);
    // A split's whole aggregates read their inputs raw on PostgreSQL's hot rows (whole-split.ts).
    const raw = (shape.split?.rawColumns ?? []).map((c, i) => ({ name: pgIdent(rawColumnName(i)), hot: `${alias}.${pgIdent(c)}`, pgType: rel.columns.find((x) => x.name === c)!.pgType }));
    const hotExprs = [...cols.map((c) => `${c.hotExpr} AS ${pgIdent(c.name)}`), ...raw.map((r) => `${r.hot} AS ${r.name}`)];
    const hot = selectOf(`SELECT ${hotExprs.join(', ')} FROM ${hotTable} AS ${alias}`);
    if (hotWhere) hot.whereClause = hotWhere;
    const cold = selectOf(`SELECT *${raw.map((r) => `, NULL::${r.pgType} AS ${r.name}`).join('')} FROM ${coldTable}`);
    let readsHot = includeHot && !occ.shipHot;
    if (includeHot && occ.shipHot && shape.split) {
      // None until W is known (splitAtWatermark): every hot row ships meanwhile, as without a split.
      hot.whereClause = andOf([...(hotWhere ? [structuredClone(hotWhere)] : []), NO_HOT_ROWS()]);
      occ.shipHot.hotSide = hot;
      readsHot = true;
    }
    union = readsHot ? { op: 'SETOP_UNION', all: true, larg: hot, rarg: cold, limitOption: 'LIMIT_OPTION_DEFAULT' } : cold;
    if (readsHot && !occ.shipHot) occ.hotBranch = { select: hot };
  }
  const alias = rangeVar.alias ?? { aliasname: rangeVar.relname };
  return { RangeSubselect: { subquery: { SelectStmt: union }, alias } };
}

export interface PartialTableColumn {
  name: string;
  pgType: string;
  /** The value on a hot row (the hot side is not pre-aggregated: each row is its own partial). */
  hotExpr: string;
  /** The value per cold group, ClickHouse SQL, as text PostgreSQL's COPY reads. */
  chExpr: string;
  /** ClickHouse GROUP BY key, for grouping columns. */
  chKey?: string;
}

export function chText(expr: string, kind: string | undefined): string {
  // PostgreSQL reads a timestamptz without an offset in the session time zone: say UTC.
  return kind === 'timestamptz' ? `concat(toString(${expr}), '+00')` : expr;
}

/**
 * ClickHouse: a DateTime64 column floored to g µs from the epoch, as the grouping key (the
 * cell's number, an Int64: grouping by it measured ~10% less CPU than by the floored
 * instant) and the instant PostgreSQL reads (the cell's start). g ≤ 1: the column itself.
 * g goes in as an Int64: as a UInt64 literal (g ≥ 2^32 µs, about 72 minutes) ClickHouse's
 * `%` and intDiv of a negative count turn unsigned, and instants before 1970 landed in
 * wrong day or week cells.
 */
export function flooredTime(raw: string, g: bigint, from1970 = false): { key: string; instant: string } {
  if (g <= 1n) return { key: raw, instant: raw };
  const us = `toUnixTimestamp64Micro(${raw})`;
  // intDiv truncates toward zero: below 0 it rounds up, so the cell is one less where a remainder is left.
  const key = from1970 ? `intDiv(${us}, toInt64(${g}))` : `intDiv(${us}, toInt64(${g})) - (${us} % toInt64(${g}) < 0)`;
  return { key, instant: `fromUnixTimestamp64Micro((${key}) * toInt64(${g}), 'UTC')` };
}

export function partialColumns(occ: OccurrencePlan): PartialTableColumn[] {
  const rel = occ.relation;
  const shape = occ.partial!;
  const alias = pgIdent(occ.refName);
  const col = (name: string) => rel.columns.find((c) => c.name === name)!;
  const out: PartialTableColumn[] = [];
  if (shape.timeGranularity !== undefined) {
    const t = col(rel.timeColumn);
    const floored = flooredTime(chIdent(t.name), shape.timeGranularity, occ.timesFrom1970);
    out.push({ name: t.name, pgType: t.pgType, hotExpr: `${alias}.${pgIdent(t.name)}`, chExpr: chText(floored.instant, t.kind), chKey: floored.key });
  }
  for (const name of shape.groupColumns) {
    const c = col(name);
    // Whole aggregates need PostgreSQL's groups from ClickHouse, floats included (-0 = 0, NaN = NaN).
    const float = shape.wholes.length > 0 && isFloatKind(c.kind) ? floatGroupSql(chIdent(name)) : undefined;
    out.push({ name, pgType: c.pgType, hotExpr: `${alias}.${pgIdent(name)}`, chExpr: float?.value ?? chText(chIdent(name), c.kind), chKey: float?.key ?? chIdent(name) });
  }
  out.push({ name: ROWS_COLUMN, pgType: 'bigint', hotExpr: '1::int8', chExpr: 'count()' });
  for (const p of shape.partials) {
    const c = col(p.column);
    const ref = `${alias}.${pgIdent(p.column)}`;
    const ch = chIdent(p.column);
    if (p.filter) {
      const pgType = p.fn === 'rows' || p.fn === 'count' ? 'bigint' : p.fn === 'sum' ? 'double precision' : p.fn === 'min' || p.fn === 'max' ? c.pgType : 'numeric';
      const { hotExpr, chExpr } = filteredPartialExprs(p, p.filter, ref, ch, c);
      out.push({ name: p.name, pgType, hotExpr, chExpr: chText(chExpr, c?.kind) });
      continue;
    }
    switch (p.fn) {
      case 'count':
        out.push({ name: p.name, pgType: 'bigint', hotExpr: `(CASE WHEN ${ref} IS NULL THEN 0 ELSE 1 END)::int8`, chExpr: `count(${ch})` });
        break;
      case 'sum':
        out.push({ name: p.name, pgType: 'double precision', hotExpr: `${ref}::float8`, chExpr: floatSumPartialCh(p.signedZero, ch) });
        break;
      case 'min':
      case 'max': {
        // PostgreSQL orders NaN above every number: max is NaN if any is, min only if all are.
        const isFloat = isFloatKind(c.kind);
        const expr = !isFloat
          ? `${p.fn}(${ch})`
          : p.fn === 'max'
            ? `if(countIf(isNaN(${ch})) > 0, nan, max(${ch}))`
            : `if(countIf(NOT isNaN(${ch})) > 0, minIf(${ch}, NOT isNaN(${ch})), if(countIf(isNaN(${ch})) > 0, nan, NULL))`;
        out.push({ name: p.name, pgType: c.pgType, hotExpr: ref, chExpr: chText(expr, c.kind) });
        break;
      }
      case 'esum':
      case 'esum2':
        out.push({ name: p.name, ...exactPartialColumn(p.fn, c, ref, ch) });
        break;
    }
  }
  for (const w of shape.wholes) {
    const pgType = wholePgType(w, col(w.column).pgType);
    // Never a hot row's: shipped to ClickHouse, or read by PostgreSQL for a group of its own (whole-split.ts).
    out.push({ name: w.name, pgType, hotExpr: `NULL::${pgType}`, chExpr: wholeChExpr(w) });
  }
  return out;
}

/** The temporary table's columns in the order the cold query returns them. */
export function tempTableColumns(occ: OccurrencePlan): string[] {
  return occ.mode === 'raw' ? occ.relation.columns.map((c) => c.name) : partialColumns(occ).map((c) => c.name);
}

/** The DDL of an occurrence's temporary table (dropped with the transaction). */
export function tempTableSql(occ: OccurrencePlan): string {
  const name = pgIdent(occ.tempTable);
  if (occ.mode === 'raw' && occ.relation.mode === 'cold-only') {
    return `CREATE TEMP TABLE ${name} (${occ.relation.columns.map((c) => `${pgIdent(c.name)} ${c.pgType}`).join(', ')}) ON COMMIT DROP`;
  }
  if (occ.mode === 'raw') {
    return `CREATE TEMP TABLE ${name} ON COMMIT DROP AS SELECT * FROM ${pgQualified(occ.relation.schema, occ.relation.table)} WITH NO DATA`;
  }
  const cols = partialColumns(occ).map((c) => `${pgIdent(c.name)} ${c.pgType}`);
  return `CREATE TEMP TABLE ${name} (${cols.join(', ')}) ON COMMIT DROP`;
}

/** The occurrence's range of time (before intersecting with the cold tier's share). */
export function occurrenceRange(occ: OccurrencePlan, values: Instant[]): TimeRange {
  return occ.timePredicates.map((p) => rangeOf(p, values)).reduce(intersectRanges, FULL_RANGE);
}

export function coldRange(occ: OccurrencePlan, values: Instant[], watermark: Instant): TimeRange {
  // The hot tier holds a top-N's first rows (hot-top-n.ts): no cold row is needed.
  if (occ.topN?.hotHolds) return { lo: watermark, loInclusive: false, hi: watermark, hiInclusive: false };
  return intersectRanges(occurrenceRange(occ, values), belowRange(watermark));
}

export { isEmptyRange };

export interface ColdQuery {
  sql: string;
  params: ChParams['values'];
  /** A read bounded by part metadata, exact only if it returns `rows` rows; else `unbounded` is read (latest-parts-bound.ts). */
  latest?: { rows: bigint; unbounded: ColdQuery };
}

/**
 * The ClickHouse statement fetching an occurrence's cold rows (TabSeparated, COPY-ready).
 * `shipped`: the table holding the occurrence's hot rows, for whole aggregates.
 */
export function coldQuery(occ: OccurrencePlan, values: Instant[], watermark: Instant, visibility: string, database: string, shipped?: string, rawSelect?: string[]): ColdQuery {
  const rel = occ.relation;
  const { from, where, params } = coldSource(occ, values, watermark, visibility, database);
  if (occ.mode === 'raw') {
    // `rawSelect`: the same rows, other columns of them (cold-rows.ts measures a cut's rows).
    const cols =
      rawSelect ??
      rel.columns.map((c) => (occ.rawColumns === 'all' || occ.rawColumns.has(c.name) || c.name === rel.timeColumn ? chText(chIdent(c.name), c.kind) : 'NULL'));
    const cut = rawCutSql(occ);
    const unbounded = { sql: `SELECT ${cols.join(', ')} FROM ${from} WHERE ${where.join(' AND ')}${cut}`, params: { ...params.values } };
    // The latest rows: partitions pruned to the newest that hold n + m rows, kept when proven (latest-parts-bound.ts).
    const bound = occ.topN && latestPartsBound(rel, occ.topN, { database, range: coldRange(occ, values, watermark), params });
    if (!bound) return unbounded;
    const sql = `SELECT ${cols.join(', ')} FROM ${from} WHERE ${[bound.condition, ...where].join(' AND ')}${cut}`;
    return { sql, params: params.values, latest: { rows: bound.rows, unbounded } };
  }
  const cols = partialColumns(occ);
  if (occ.shipHot) return { sql: wholeColdQuery(occ, cols, from, where, shipped), params: params.values };
  if (occ.rollupRead) return rollupColdQuery(occ, occ.rollupRead, cols, { from, where, database });
  const keys = cols.filter((c) => c.chKey !== undefined).map((c) => c.chKey!);
  const groupBy = keys.length > 0 ? ` GROUP BY ${keys.join(', ')}` : '';
  // HAVING: an empty cold side contributes no group (an ungrouped count() would give one).
  return {
    sql: `SELECT ${cols.map((c) => c.chExpr).join(', ')} FROM ${from} WHERE ${where.join(' AND ')}${groupBy} HAVING count() > 0`,
    params: params.values,
  };
}

/** The raw read's cut: a top-N's ORDER BY … LIMIT … WITH TIES, a top-k's QUALIFY, else none ('' ). */
function rawCutSql(occ: OccurrencePlan): string {
  if (occ.topN) return ` ORDER BY ${orderKeysSql(occ.topN.keys)} LIMIT ${occ.topN.rows} WITH TIES${readsLatestParts(occ.relation, occ.topN) ? ` SETTINGS ${LATEST_PARTS_SETTINGS}` : ''}`;
  return occ.topK ? topKQualifySql(occ.topK) : '';
}

/** What an occurrence's cold query reads: its ClickHouse table and the conditions of its range, its pushed WHERE and its visible rows (parameters in `params`). */
export function coldSource(occ: OccurrencePlan, values: Instant[], watermark: Instant, visibility: string, database: string): { from: string; where: string[]; params: ChParams } {
  const rel = occ.relation;
  // Parameters numbered after the ones the pushed conditions already use.
  const params = occ.params;
  // Raw rows of committed generations all lie below W (cold-time-conditions.ts); a rollup's keep `time < W`.
  const timeConditions =
    rel.rollupOf !== undefined || occ.rollupRead !== undefined
      ? [
          ...occ.timePredicates.map((p) => timePredicateToClickHouse(p, values, rel.timeColumn, params)),
          timePredicateToClickHouse({ kind: 'cmp', op: '<', bound: 0 }, [watermark], rel.timeColumn, params),
        ]
      : coldTimeConditions(occ.timePredicates, values, watermark, rel.timeColumn, params, occ.coldSpan);
  const where = [
    ...timeConditions,
    ...occ.pushed,
    // A rollup read over the wire filters its generations before combining them.
    rel.rollupOf ? '1' : visibility,
  ];
  const from = rel.rollupOf ? rollupRelationSource(rel, visibility, database) : chQualified(database, rel.table);
  return { from, where, params };
}
