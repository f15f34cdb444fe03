import type { PgNode } from '../router/sql-parser';
import { chIdent } from '@strata/core/ddl';
import { numberConst, opName, stringConst } from './ast';
import { columnKind, columnOf, equalsAsBytes, isFloatKind, isTextKind, type ColumnScope } from './column-scope';
import type { ChParams } from './ch-params';
import { textMatchToClickHouse } from './ch-text-match';
import { textOperand } from './text-order';

/**
 * A WHERE conjunct as ClickHouse SQL that accepts exactly the rows PostgreSQL's would,
 * or undefined. Only forms whose semantics agree in both engines translate:
 * comparisons of numbers, equality of text under a deterministic collation (equality is
 * byte equality there; under a nondeterministic one 'abc' may equal 'ABC', so it stays in
 * PostgreSQL: column-scope.ts equalsAsBytes), ordering comparisons and
 * BETWEEN of text PostgreSQL orders byte-wise as ClickHouse does (text-order.ts: a column
 * of such a collation, or under `COLLATE "C"`), IN lists, BETWEEN of numbers, IS [NOT]
 * NULL, AND/OR/NOT (both use three-valued logic), jsonb `->>`
 * equality with a string and `@>` with an object of strings, and the log-search forms of
 * ch-text-match.ts (LIKE, ILIKE, regular expressions, position, lower/upper). Anything
 * else stays for PostgreSQL to evaluate.
 *
 * Floats: PostgreSQL orders NaN above every number and equal to itself (float8.c,
 * "NaN = NaN, NaN > non-NaN"); ClickHouse follows IEEE 754, where every comparison
 * with NaN is false except `!=`. Constants here are always numbers, so only `>` and
 * `>=` differ, and they say `OR isNaN(x)`. ClickHouse's IN looks values up by their
 * bits, so -0 IN (0) is false there and true in PostgreSQL: a float IN list is a
 * disjunction of `=`, which compares -0 and 0 as equal in both.
 */
export function conditionToClickHouse(scope: ColumnScope, n: PgNode, params: ChParams): string | undefined {
  if (n?.BoolExpr) {
    const b = n.BoolExpr;
    const args = (b.args as PgNode[]).map((a) => conditionToClickHouse(scope, a, params));
    if (args.some((a) => a === undefined)) return undefined;
    if (b.boolop === 'NOT_EXPR') return `(NOT ${args[0]})`;
    return '(' + args.join(b.boolop === 'AND_EXPR' ? ' AND ' : ' OR ') + ')';
  }
  if (n?.NullTest) {
    const col = plainColumn(scope, n.NullTest.arg);
    if (!col) return undefined;
    return `${chIdent(col)} ${n.NullTest.nulltesttype === 'IS_NULL' ? 'IS NULL' : 'IS NOT NULL'}`;
  }
  const text = textMatchToClickHouse(scope, n, params);
  if (text !== undefined) return text;
  const e = n?.A_Expr;
  if (!e) return undefined;
  if (e.kind === 'AEXPR_IN') {
    const col = plainColumn(scope, e.lexpr);
    const items = e.rexpr?.List?.items as PgNode[] | undefined;
    if (!col || !items || items.length === 0 || !equalsAsBytes(scope, col)) return undefined;
    const values = items.map((i) => constantFor(scope, col, i, params));
    if (values.some((v) => v === undefined)) return undefined;
    const negated = opName(e) === '<>';
    if (isFloatKind(columnKind(scope, col))) {
      const any = '(' + values.map((v) => `${chIdent(col)} = ${v}`).join(' OR ') + ')';
      return negated ? `(NOT ${any})` : any;
    }
    return `${chIdent(col)} ${negated ? 'NOT IN' : 'IN'} (${values.join(', ')})`;
  }
  if (e.kind === 'AEXPR_BETWEEN' || e.kind === 'AEXPR_NOT_BETWEEN') {
    // x BETWEEN a AND b is x >= a AND x <= b (SYMMETRIC, which may swap them, is not translated).
    const col = plainColumn(scope, e.lexpr) ?? bytewiseText(scope, e.lexpr);
    const [lo, hi] = (e.rexpr?.List?.items ?? []) as PgNode[];
    const kind = col ? columnKind(scope, col) : undefined;
    const ordered = kind !== undefined && (NUMERIC_KINDS.has(kind) || (isTextKind(kind) && bytewiseText(scope, e.lexpr) !== undefined));
    if (!col || !ordered || lo === undefined || hi === undefined) return undefined;
    const a = constantFor(scope, col, lo, params);
    const b = constantFor(scope, col, hi, params);
    if (a === undefined || b === undefined) return undefined;
    return e.kind === 'AEXPR_BETWEEN'
      ? `(${comparison(col, kind, '>=', a)} AND ${comparison(col, kind, '<=', b)})`
      : `(${comparison(col, kind, '<', a)} OR ${comparison(col, kind, '>', b)})`;
  }
  if (e.kind !== 'AEXPR_OP') return undefined;
  const op = opName(e);
  if (op === '@>') return containmentToClickHouse(scope, e, params);
  if (!op || !['=', '<>', '!=', '<', '<=', '>', '>='].includes(op)) return undefined;
  const jsonText = jsonFieldText(scope, e.lexpr);
  if (jsonText && op === '=') {
    const s = stringConst(e.rexpr);
    if (s === undefined || !isUnambiguousJsonString(s)) return undefined;
    return `JSONExtractString(${chIdent(jsonText.column)}, ${params.add(jsonText.key, 'String')}) = ${params.add(s, 'String')}`;
  }
  let [side, other] = [e.lexpr, e.rexpr];
  let oper = op === '!=' ? '<>' : op;
  if (!plainColumn(scope, side) && !textOperand(scope, side)) {
    [side, other] = [e.rexpr, e.lexpr];
    oper = ({ '<': '>', '<=': '>=', '>': '<', '>=': '<=' } as Record<string, string>)[oper] ?? oper;
  }
  const col = plainColumn(scope, side) ?? textOperand(scope, side)?.column;
  if (!col) return undefined;
  const kind = columnKind(scope, col);
  // Text equality is byte equality under any deterministic collation; ordering only under byte-order ones.
  if (isTextKind(kind) && bytewiseText(scope, side) === undefined && ((oper !== '=' && oper !== '<>') || !equalsAsBytes(scope, col))) return undefined;
  const value = constantFor(scope, col, other, params);
  return value === undefined ? undefined : comparison(col, kind, oper, value);
}

/** `col oper value` for a number `value`, with PostgreSQL's NaN ordering for float columns. */
function comparison(col: string, kind: string | undefined, oper: string, value: string): string {
  const plain = `${chIdent(col)} ${oper} ${value}`;
  return isFloatKind(kind) && (oper === '>' || oper === '>=') ? `(${plain} OR isNaN(${chIdent(col)}))` : plain;
}

/** A text column (bare, or under `COLLATE "C"`) that PostgreSQL orders byte-wise there, as ClickHouse does. */
function bytewiseText(scope: ColumnScope, n: PgNode): string | undefined {
  const t = textOperand(scope, n);
  return t?.bytewise ? t.column : undefined;
}

function plainColumn(scope: ColumnScope, n: PgNode): string | undefined {
  if (!n?.ColumnRef) return undefined;
  const col = columnOf(scope, n.ColumnRef);
  return col !== undefined && col !== scope.relation.timeColumn ? col : undefined;
}

const NUMERIC_KINDS = new Set(['float8', 'float4', 'int8', 'int4', 'int2']);

/** A constant compared with `col`, as a ClickHouse parameter of the column's type. */
function constantFor(scope: ColumnScope, col: string, n: PgNode, params: ChParams): string | undefined {
  const kind = columnKind(scope, col);
  if (isTextKind(kind)) {
    const s = stringConst(n);
    return s === undefined ? undefined : params.add(s, 'String');
  }
  if (kind && NUMERIC_KINDS.has(kind)) {
    const num = numberConst(n);
    if (num === undefined || !/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(num)) return undefined;
    // Integers compare exactly as Int64; fractions only against float columns.
    if (/^-?\d+$/.test(num)) return Number.isSafeInteger(Number(num)) ? params.add(num, 'Int64') : undefined;
    return isFloatKind(kind) ? params.add(num, 'Float64') : undefined;
  }
  return undefined;
}

function jsonFieldText(scope: ColumnScope, n: PgNode): { column: string; key: string } | undefined {
  const e = n?.A_Expr;
  if (!e || e.kind !== 'AEXPR_OP' || opName(e) !== '->>') return undefined;
  const col = plainColumn(scope, e.lexpr);
  const key = stringConst(e.rexpr);
  if (!col || key === undefined || columnKind(scope, col) !== 'jsonb') return undefined;
  return { column: col, key };
}

/**
 * `->>` of a non-string JSON value is its JSON text (5, true, null, {...}); ClickHouse's
 * JSONExtractString gives '' for those. A non-empty string that no such text can equal
 * compares the same in both.
 */
function isUnambiguousJsonString(s: string): boolean {
  return s !== '' && !/^[-0-9{["]/.test(s) && !['true', 'false', 'null'].includes(s);
}

function containmentToClickHouse(scope: ColumnScope, e: PgNode, params: ChParams): string | undefined {
  const col = plainColumn(scope, e.lexpr);
  const text = stringConst(e.rexpr) ?? stringConst(e.rexpr?.TypeCast?.arg);
  if (!col || text === undefined || columnKind(scope, col) !== 'jsonb') return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return undefined;
  const entries = Object.entries(doc as Record<string, unknown>);
  // Top-level string values: containment is "has this key with this string".
  if (entries.length === 0 || !entries.every(([, v]) => typeof v === 'string' && v !== '')) return undefined;
  return (
    '(' +
    entries
      .map(([k, v]) => `JSONExtractString(${chIdent(col)}, ${params.add(k, 'String')}) = ${params.add(v as string, 'String')}`)
      .join(' AND ') +
    ')'
  );
}
