import type { PgNode } from '../router/sql-parser';
import { chIdent } from '@strata/core/ddl';
import { funcName, isNode, opName } from './ast';
import { columnKind, isTimeColumn, type ColumnScope } from './column-scope';
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
/**
 * `slack`: the bound is only near the real one (see SLACK_US); the predicate then
 * stands for a wider range, and PostgreSQL must evaluate the condition itself.
 */
export type TimePredicate = { kind: 'cmp'; op: CmpOp; bound: number; slack?: boolean } | { kind: 'and' | 'or'; args: TimePredicate[] };

/**
 * A `timestamp` (without time zone) time column holds wall-clock readings, and the cold
 * tier stores them as if they were UTC instants (the tierer runs in UTC). Its bounds are
 * evaluated as wall-clock readings too: `timezone('UTC', (bound)::timestamp)`, the
 * reading's µs as if in UTC. That is exact for bounds PostgreSQL compares as
 * timestamps (literals, timestamp and date values). A timestamptz bound (now(),
 * TIMESTAMPTZ '…', a bind parameter sent as timestamptz) is compared by PostgreSQL as
 * an instant, the column converted in the session zone, which is not monotonic across
 * a DST gap: no single wall-clock bound is exact outside UTC. Such a bound's reading
 * is within SLACK_US of every wall-clock time on the right side of it (zone offsets
 * lie within -16 h .. +16 h), so the cold tier returns that wider range and PostgreSQL
 * decides on the rows.
 */
export const SLACK_US: Instant = 2n * 86_400n * 1_000_000n;

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
/**
 * `utc`: the session's TimeZone is UTC (a `timestamp` column's bounds are then exact,
 * whatever their type).
 */
export function timePredicateOf(scope: ColumnScope, n: PgNode, bounds: PgNode[], utc = true): TimePredicate | undefined {
  const mark = bounds.length;
  const wallClock = columnKind(scope, scope.relation.timeColumn) === 'timestamp';
  const bound = (b: PgNode, op: CmpOp): TimePredicate => {
    bounds.push(wallClock ? wallClockReading(b) : b);
    return wallClock && !utc && !isWallClockValue(b) ? { kind: 'cmp', op, bound: bounds.length - 1, slack: true } : { kind: 'cmp', op, bound: bounds.length - 1 };
  };
  const p = build(scope, n, bound);
  if (!p) bounds.length = mark;
  return p;
}

/** True when some bound of `p` is approximate: PostgreSQL must evaluate the condition. */
export function hasSlack(p: TimePredicate): boolean {
  return p.kind === 'cmp' ? p.slack === true : p.args.some(hasSlack);
}

type BoundOf = (b: PgNode, op: CmpOp) => TimePredicate;

function build(scope: ColumnScope, n: PgNode, bound: BoundOf): TimePredicate | undefined {
  if (n?.BoolExpr && (n.BoolExpr.boolop === 'AND_EXPR' || n.BoolExpr.boolop === 'OR_EXPR')) {
    const args: TimePredicate[] = [];
    for (const a of n.BoolExpr.args as PgNode[]) {
      const p = build(scope, a, bound);
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
    return { kind: 'and', args: [bound(lo, '>='), bound(hi, '<=')] };
  }
  if (e.kind !== 'AEXPR_OP') return undefined;
  const op = opName(e) as CmpOp;
  if (!(op in FLIP)) return undefined;
  if (isTimeColumn(scope, e.lexpr) && isConstantExpr(e.rexpr)) return bound(e.rexpr, op);
  if (isTimeColumn(scope, e.rexpr) && isConstantExpr(e.lexpr)) return bound(e.lexpr, FLIP[op]);
  return undefined;
}

const sval = (s: string): PgNode => ({ String: { sval: s } });

/** `timezone('UTC', (b)::timestamp)`: the wall-clock reading of `b` as a UTC instant. */
function wallClockReading(b: PgNode): PgNode {
  return {
    FuncCall: {
      funcname: [sval('pg_catalog'), sval('timezone')],
      args: [
        { A_Const: { sval: { sval: 'UTC' } } },
        { TypeCast: { arg: structuredClone(b), typeName: { names: [sval('pg_catalog'), sval('timestamp')], typemod: -1 } } },
      ],
      funcformat: 'COERCE_EXPLICIT_CALL',
    },
  };
}

/** The type a TypeCast names, e.g. 'timestamp', 'timestamptz', 'date', 'interval'. */
function castType(n: PgNode): string | undefined {
  const names = (n?.TypeCast?.typeName?.names ?? []) as PgNode[];
  return names.length > 0 ? names[names.length - 1]?.String?.sval : undefined;
}

/**
 * A bound PostgreSQL compares with a `timestamp` column as a timestamp: an untyped
 * literal (it takes the column's type), a timestamp or date value, LOCALTIMESTAMP,
 * CURRENT_DATE, such a value ± an interval or days. Anything else (now(), $1, …) may be
 * a timestamptz.
 */
function isWallClockValue(n: PgNode): boolean {
  if (n?.A_Const) return n.A_Const.sval !== undefined;
  return isTypedWallClock(n);
}

function isTypedWallClock(n: PgNode): boolean {
  if (n?.TypeCast) return castType(n) === 'timestamp' || castType(n) === 'date';
  if (n?.SQLValueFunction) return ['SVFOP_LOCALTIMESTAMP', 'SVFOP_LOCALTIMESTAMP_N', 'SVFOP_CURRENT_DATE'].includes(n.SQLValueFunction.op);
  if (n?.FuncCall) return funcName(n.FuncCall) === 'make_timestamp';
  const e = n?.A_Expr;
  if (e?.kind === 'AEXPR_OP' && (opName(e) === '+' || opName(e) === '-') && e.lexpr !== undefined) {
    return isTypedWallClock(e.lexpr) && (e.rexpr?.A_Const !== undefined || castType(e.rexpr) === 'interval');
  }
  return false;
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
      if (p.slack) return slackRange(p.op, b);
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

/** The wall-clock times a comparison with an approximate bound `b` may accept. */
function slackRange(op: CmpOp, b: Instant): TimeRange {
  const lo = op === '<' || op === '<=' ? NEG_INFINITY : b - SLACK_US;
  const hi = op === '>' || op === '>=' ? POS_INFINITY : b + SLACK_US;
  return { lo: lo < NEG_INFINITY ? NEG_INFINITY : lo, loInclusive: true, hi: hi > POS_INFINITY ? POS_INFINITY : hi, hiInclusive: true };
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
      if (p.slack) {
        const r = slackRange(p.op, b);
        if (r.lo > CH_MAX_US || r.hi < CH_MIN_US) return '0';
        const parts: string[] = [];
        if (r.lo >= CH_MIN_US) parts.push(`${chIdent(column)} >= ${params.add(chDateTime64(r.lo), "DateTime64(6, 'UTC')")}`);
        if (r.hi <= CH_MAX_US) parts.push(`${chIdent(column)} <= ${params.add(chDateTime64(r.hi), "DateTime64(6, 'UTC')")}`);
        return parts.length > 0 ? `(${parts.join(' AND ')})` : '1';
      }
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
