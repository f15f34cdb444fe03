import type { PgNode } from '../router/sql-parser';
import { chIdent } from '@strata/core/ddl';
import { funcName, isNode, opName } from './ast';
import { isTimeColumn, type ColumnScope } from './column-scope';
import { CH_MAX_US, CH_MIN_US, NEG_INFINITY, POS_INFINITY, chDateTime64, type Instant } from './instant';
import type { ChParams } from './ch-params';

/**
 * Conditions on the time column that decide which tier holds the rows a statement
 * reads: comparisons with constant bounds (`BETWEEN` literals as Grafana's
 * $__timeFilter writes them, >=, <, now() - interval, to_timestamp(n), bind
 * parameters) combined with AND/OR. The bounds are expressions; the engine asks
 * PostgreSQL to evaluate them, in the statement's own transaction and session time
 * zone, so '2026-01-04', now() and $1 mean exactly what they mean to PostgreSQL.
 */
export type CmpOp = '<' | '<=' | '>' | '>=' | '=';
export type TimePredicate = { kind: 'cmp'; op: CmpOp; bound: number } | { kind: 'and' | 'or'; args: TimePredicate[] };

const FLIP: Record<CmpOp, CmpOp> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=', '=': '=' };

/** Stable functions whose value is fixed for a statement (now() is the transaction's start). */
const CONSTANT_FUNCTIONS = new Set([
  'now', 'to_timestamp', 'date_trunc', 'make_timestamptz', 'make_timestamp', 'make_interval', 'timezone',
  'date_bin', 'time_bucket', 'transaction_timestamp', 'statement_timestamp', 'to_date', 'date',
]);

/** An expression with no column, subquery or volatile function: one value per statement. */
export function isConstantExpr(n: PgNode): boolean {
  if (n === null || typeof n !== 'object') return false;
  if (n.A_Const || n.ParamRef || n.SQLValueFunction) return true;
  if (n.TypeCast) return isConstantExpr(n.TypeCast.arg);
  if (n.A_Expr && n.A_Expr.kind === 'AEXPR_OP' && ['+', '-', '*', '/'].includes(opName(n.A_Expr) ?? '')) {
    return (n.A_Expr.lexpr === undefined || isConstantExpr(n.A_Expr.lexpr)) && isConstantExpr(n.A_Expr.rexpr);
  }
  if (n.FuncCall) {
    const f = n.FuncCall;
    if (f.over || f.agg_star || f.agg_distinct || f.agg_filter || f.agg_order) return false;
    return CONSTANT_FUNCTIONS.has(funcName(f) ?? '') && (f.args ?? []).every(isConstantExpr);
  }
  return false;
}

/**
 * The conjunct as a time predicate, pushing its bound expressions to `bounds`; undefined
 * when it is not purely a condition on the time column against constants.
 */
export function timePredicateOf(scope: ColumnScope, n: PgNode, bounds: PgNode[]): TimePredicate | undefined {
  const mark = bounds.length;
  const p = build(scope, n, bounds);
  if (!p) bounds.length = mark;
  return p;
}

function build(scope: ColumnScope, n: PgNode, bounds: PgNode[]): TimePredicate | undefined {
  if (n?.BoolExpr && (n.BoolExpr.boolop === 'AND_EXPR' || n.BoolExpr.boolop === 'OR_EXPR')) {
    const args: TimePredicate[] = [];
    for (const a of n.BoolExpr.args as PgNode[]) {
      const p = build(scope, a, bounds);
      if (!p) return undefined;
      args.push(p);
    }
    return { kind: n.BoolExpr.boolop === 'AND_EXPR' ? 'and' : 'or', args };
  }
  const e = n?.A_Expr;
  if (!e) return undefined;
  if (e.kind === 'AEXPR_BETWEEN' && isTimeColumn(scope, e.lexpr)) {
    const [lo, hi] = (e.rexpr?.List?.items ?? []) as PgNode[];
    if (!isConstantExpr(lo) || !isConstantExpr(hi)) return undefined;
    bounds.push(lo, hi);
    return {
      kind: 'and',
      args: [
        { kind: 'cmp', op: '>=', bound: bounds.length - 2 },
        { kind: 'cmp', op: '<=', bound: bounds.length - 1 },
      ],
    };
  }
  if (e.kind !== 'AEXPR_OP') return undefined;
  const op = opName(e) as CmpOp;
  if (!(op in FLIP)) return undefined;
  if (isTimeColumn(scope, e.lexpr) && isConstantExpr(e.rexpr)) {
    bounds.push(e.rexpr);
    return { kind: 'cmp', op, bound: bounds.length - 1 };
  }
  if (isTimeColumn(scope, e.rexpr) && isConstantExpr(e.lexpr)) {
    bounds.push(e.lexpr);
    return { kind: 'cmp', op: FLIP[op], bound: bounds.length - 1 };
  }
  return undefined;
}

/** A set of instants [lo, hi] with open/closed ends; empty when lo > hi. */
export interface TimeRange {
  lo: Instant;
  loInclusive: boolean;
  hi: Instant;
  hiInclusive: boolean;
}

export const FULL_RANGE: TimeRange = { lo: NEG_INFINITY, loInclusive: true, hi: POS_INFINITY, hiInclusive: true };

export function isEmptyRange(r: TimeRange): boolean {
  return r.lo > r.hi || (r.lo === r.hi && !(r.loInclusive && r.hiInclusive));
}

export function intersectRanges(a: TimeRange, b: TimeRange): TimeRange {
  const lo = a.lo > b.lo ? a : b.lo > a.lo ? b : { lo: a.lo, loInclusive: a.loInclusive && b.loInclusive };
  const hi = a.hi < b.hi ? a : b.hi < a.hi ? b : { hi: a.hi, hiInclusive: a.hiInclusive && b.hiInclusive };
  return { lo: lo.lo, loInclusive: lo.loInclusive, hi: hi.hi, hiInclusive: hi.hiInclusive };
}

function hull(a: TimeRange, b: TimeRange): TimeRange {
  if (isEmptyRange(a)) return b;
  if (isEmptyRange(b)) return a;
  const lo = a.lo < b.lo ? a : b.lo < a.lo ? b : { lo: a.lo, loInclusive: a.loInclusive || b.loInclusive };
  const hi = a.hi > b.hi ? a : b.hi > a.hi ? b : { hi: a.hi, hiInclusive: a.hiInclusive || b.hiInclusive };
  return { lo: lo.lo, loInclusive: lo.loInclusive, hi: hi.hi, hiInclusive: hi.hiInclusive };
}

/** The smallest range holding every instant the predicate accepts. */
export function rangeOf(p: TimePredicate, values: Instant[]): TimeRange {
  switch (p.kind) {
    case 'and':
      return p.args.map((a) => rangeOf(a, values)).reduce(intersectRanges, FULL_RANGE);
    case 'or':
      return p.args.map((a) => rangeOf(a, values)).reduce(hull, { ...FULL_RANGE, lo: POS_INFINITY, hi: NEG_INFINITY });
    case 'cmp': {
      const b = values[p.bound];
      switch (p.op) {
        case '<':
          return { lo: NEG_INFINITY, loInclusive: true, hi: b, hiInclusive: false };
        case '<=':
          return { lo: NEG_INFINITY, loInclusive: true, hi: b, hiInclusive: true };
        case '>':
          return { lo: b, loInclusive: false, hi: POS_INFINITY, hiInclusive: true };
        case '>=':
          return { lo: b, loInclusive: true, hi: POS_INFINITY, hiInclusive: true };
        case '=':
          return { lo: b, loInclusive: true, hi: b, hiInclusive: true };
      }
    }
  }
}

/** `time < W` as a range. */
export function belowRange(w: Instant): TimeRange {
  return { lo: NEG_INFINITY, loInclusive: true, hi: w, hiInclusive: false };
}

/**
 * The predicate as ClickHouse SQL over the cold table's time column, bounds bound as
 * DateTime64 parameters. Bounds outside ClickHouse's range compare like infinities
 * (no cold row lies outside it).
 */
export function timePredicateToClickHouse(p: TimePredicate, values: Instant[], column: string, params: ChParams): string {
  switch (p.kind) {
    case 'and':
    case 'or':
      return '(' + p.args.map((a) => timePredicateToClickHouse(a, values, column, params)).join(p.kind === 'and' ? ' AND ' : ' OR ') + ')';
    case 'cmp': {
      const b = values[p.bound];
      if (b < CH_MIN_US) return p.op === '>' || p.op === '>=' ? '1' : '0';
      if (b > CH_MAX_US) return p.op === '<' || p.op === '<=' ? '1' : '0';
      return `${chIdent(column)} ${p.op} ${params.add(chDateTime64(b), "DateTime64(6, 'UTC')")}`;
    }
  }
}

/** The cold tier's share of a range as ClickHouse SQL (used with the extracted range). */
export function rangeToClickHouse(r: TimeRange, column: string, params: ChParams): string {
  const parts: string[] = [];
  if (r.lo > NEG_INFINITY && r.lo >= CH_MIN_US) parts.push(`${chIdent(column)} ${r.loInclusive ? '>=' : '>'} ${params.add(chDateTime64(r.lo), "DateTime64(6, 'UTC')")}`);
  if (r.hi < POS_INFINITY && r.hi <= CH_MAX_US) parts.push(`${chIdent(column)} ${r.hiInclusive ? '<=' : '<'} ${params.add(chDateTime64(r.hi), "DateTime64(6, 'UTC')")}`);
  return parts.length > 0 ? parts.join(' AND ') : '1';
}

export { isNode };
