import type { PgNode } from '../router/sql-parser';
import { chIdent } from '@strata/core/ddl';
import { funcName, numberConst, opName, stringConst } from './ast';
import { equalsAsBytes, type ColumnScope } from './column-scope';
import type { ChParams } from './ch-params';
import { likePatternToClickHouse } from './like-pattern';
import { isPortableRegex } from './regex-subset';
import { ASCII_FOLDING, foldAscii, foldedColumn, foldedLikePrefilter, foldingFor, isAscii, type FoldCase, type TextFolding } from './text-folding';
import { textOperand } from './text-order';

/**
 * Log-search conditions on a text column as ClickHouse SQL that accepts exactly the rows
 * PostgreSQL's would, or undefined (PostgreSQL evaluates them then):
 * - `LIKE`/`NOT LIKE` (`~~`, `!~~`, with ESCAPE), any pattern PostgreSQL accepts;
 * - `ILIKE`/`NOT ILIKE` (`~~*`, `!~~*`) and `lower(col)`/`upper(col)` compared with `=`,
 *   `<>` or LIKE, for ASCII patterns, where the column's collation folds as the
 *   database default whose folding was probed, or as C (ASCII only: a `COLLATE "C"`
 *   column, or `col COLLATE "C"` in the statement); other collations (ICU, other libc
 *   locales) fold their own way and stay in PostgreSQL (text-folding.ts says why);
 * - `~`, `!~`, `~*`, `!~*` for patterns in the portable subset (regex-subset.ts); the
 *   case-insensitive ones on ASCII-lowered text with the pattern lowered, because
 *   PostgreSQL's regex folds the pattern's ASCII letters only (chr(8490), the Kelvin
 *   sign, is ILIKE 'k' but not ~* 'k') — under the same collations as ILIKE;
 * - `position(x IN col)` / `strpos(col, x)` compared with an integer (ClickHouse's
 *   positionUTF8 counts code points, as PostgreSQL counts characters), `starts_with`
 *   and `^@`.
 * NULL in, NULL out on both sides, so NOT and three-valued logic carry over.
 * None of them on a column of a nondeterministic collation (column-scope.ts
 * equalsAsBytes): PostgreSQL refuses LIKE, regular expressions, position and starts_with
 * there (0A000), and lower()/upper() compared under it is not byte equality; PostgreSQL
 * evaluates them, so its error reaches the client as it would without the cold tier.
 */
export function textMatchToClickHouse(scope: ColumnScope, n: PgNode, params: ChParams): string | undefined {
  if (n?.FuncCall) return startsWith(scope, n.FuncCall.args, funcName(n.FuncCall) === 'starts_with', params);
  const e = n?.A_Expr;
  if (!e || !['AEXPR_OP', 'AEXPR_LIKE', 'AEXPR_ILIKE'].includes(e.kind)) return undefined;
  const op = opName(e);
  switch (op) {
    case '~~':
    case '!~~':
    case '~~*':
    case '!~~*':
      return like(scope, e, op, params);
    case '~':
    case '!~':
    case '~*':
    case '!~*':
      return regex(scope, e, op, params);
    case '^@':
      return startsWith(scope, [e.lexpr, e.rexpr], true, params);
    case '=':
    case '<>':
    case '!=':
    case '<':
    case '<=':
    case '>':
    case '>=':
      return positionComparison(scope, e, op, params) ?? foldedEquality(scope, e, op, params);
  }
  return undefined;
}

/** A text column whose equality is byte equality, possibly inside lower()/upper(). */
interface MatchOperand {
  column: string;
  fold?: FoldCase;
  /** How PostgreSQL folds its case here (text-folding.ts); undefined: not as ClickHouse can, PostgreSQL folds. */
  folding?: TextFolding;
}

/**
 * `col`, `col COLLATE "C"` (or "POSIX", "ucs_basic": deterministic and ASCII-folding
 * whatever the column's collation), or either inside lower()/upper(). Any other explicit
 * COLLATE is left to PostgreSQL, as is a COLLATE around lower()/upper() or on the
 * constant: it changes the comparison's collation, not the folding's.
 */
function matchOperand(scope: ColumnScope, n: PgNode): MatchOperand | undefined {
  const named = textOperand(scope, n);
  if (named) {
    const col = named.column;
    if (col === scope.relation.timeColumn) return undefined;
    if (named.collated) return { column: col, folding: ASCII_FOLDING };
    if (!equalsAsBytes(scope, col)) return undefined;
    const caseFolding = scope.relation.columns.find((c) => c.name === col)?.caseFolding;
    return { column: col, folding: foldingFor(caseFolding, scope.textFolding) };
  }
  const f = n?.FuncCall;
  const name = f ? funcName(f) : undefined;
  if ((name !== 'lower' && name !== 'upper') || f.args?.length !== 1 || f.agg_star || f.over) return undefined;
  const inner = matchOperand(scope, f.args[0]);
  return inner && !inner.fold ? { ...inner, fold: name } : undefined;
}

/** The operand in ClickHouse, compared with `against`; undefined when it is folded and its folding is not known. */
function operandSql(t: MatchOperand, against: string, params: ChParams): string | undefined {
  if (!t.fold) return chIdent(t.column);
  return t.folding ? foldedColumn(t.column, t.fold, t.folding, against, params) : undefined;
}

function like(scope: ColumnScope, e: PgNode, op: string, params: ChParams): string | undefined {
  const t = matchOperand(scope, e.lexpr);
  if (!t) return undefined;
  let pattern = stringConst(e.rexpr);
  let escape = '\\';
  const esc = e.rexpr?.FuncCall;
  if (pattern === undefined && esc && funcName(esc) === 'like_escape' && esc.args?.length === 2) {
    pattern = stringConst(esc.args[0]);
    const given = stringConst(esc.args[1]);
    if (given === undefined) return undefined;
    escape = given;
  }
  if (pattern === undefined) return undefined;
  const insensitive = op === '~~*' || op === '!~~*';
  let subject: MatchOperand = t;
  if (insensitive) {
    // ILIKE is lower(col) LIKE lower(pattern) in PostgreSQL (like.c, multibyte encodings);
    // lowering commutes with the escape only when the escape is not a letter.
    if (t.fold || /[A-Za-z]/.test(escape)) return undefined;
    subject = { ...t, fold: 'lower' };
    pattern = foldAscii(pattern, 'lower');
  }
  if (subject.fold && !isAscii(pattern)) return undefined;
  const chPattern = likePatternToClickHouse(pattern, escape);
  const lhs = operandSql(subject, pattern, params);
  if (chPattern === undefined || lhs === undefined) return undefined;
  const cond = `${lhs} ${op.startsWith('!') ? 'NOT LIKE' : 'LIKE'} ${params.add(chPattern, 'String')}`;
  // A match (not a NOT LIKE) first tested without translateUTF8, on the rows that pass only.
  const first = !op.startsWith('!') && subject.fold && subject.folding ? foldedLikePrefilter(subject.column, subject.fold, subject.folding, pattern, chPattern, params) : undefined;
  return first ? `(${first} AND ${cond})` : cond;
}

function regex(scope: ColumnScope, e: PgNode, op: string, params: ChParams): string | undefined {
  const t = matchOperand(scope, e.lexpr);
  const pattern = stringConst(e.rexpr);
  if (!t || pattern === undefined || !isPortableRegex(pattern)) return undefined;
  const insensitive = op.endsWith('*');
  let lhs: string | undefined;
  let chPattern = pattern;
  if (insensitive) {
    if (t.fold || !t.folding) return undefined;
    lhs = `lower(${chIdent(t.column)})`;
    chPattern = foldAscii(pattern, 'lower');
  } else lhs = operandSql(t, pattern, params);
  if (lhs === undefined) return undefined;
  const m = `match(${lhs}, ${params.add(chPattern, 'String')})`;
  return op.startsWith('!') ? `(NOT ${m})` : m;
}

function startsWith(scope: ColumnScope, args: PgNode[] | undefined, isStartsWith: boolean, params: ChParams): string | undefined {
  if (!isStartsWith || args?.length !== 2) return undefined;
  const t = matchOperand(scope, args[0]);
  const prefix = stringConst(args[1]);
  if (!t || prefix === undefined || (t.fold && !isAscii(prefix))) return undefined;
  const lhs = operandSql(t, prefix, params);
  return lhs === undefined ? undefined : `startsWith(${lhs}, ${params.add(prefix, 'String')})`;
}

const MIRRORED: Record<string, string> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=' };

/** `position(x IN col) > 0`, `strpos(col, x) = 0`, `0 < position(…)`, …: compared with an integer. */
function positionComparison(scope: ColumnScope, e: PgNode, op: string, params: ChParams): string | undefined {
  let call = e.lexpr?.FuncCall;
  let other = e.rexpr;
  let oper = op === '!=' ? '<>' : op;
  if (!call) {
    call = e.rexpr?.FuncCall;
    other = e.lexpr;
    oper = MIRRORED[oper] ?? oper;
  }
  const name = call ? funcName(call) : undefined;
  if ((name !== 'position' && name !== 'strpos') || call.args?.length !== 2) return undefined;
  // Both spell (haystack, needle) in the parse tree: position(x IN col) is position(col, x).
  const t = matchOperand(scope, call.args[0]);
  const needle = stringConst(call.args[1]);
  const num = numberConst(other);
  if (!t || needle === undefined || num === undefined || !/^-?\d+$/.test(num) || !Number.isSafeInteger(Number(num))) return undefined;
  if (t.fold && !isAscii(needle)) return undefined;
  const lhs = operandSql(t, needle, params);
  return lhs === undefined ? undefined : `positionUTF8(${lhs}, ${params.add(needle, 'String')}) ${oper} ${params.add(num, 'Int64')}`;
}

/** `lower(col) = 'abc'`, `upper(col) <> 'ABC'` (either side) with an ASCII constant. */
function foldedEquality(scope: ColumnScope, e: PgNode, op: string, params: ChParams): string | undefined {
  if (op !== '=' && op !== '<>' && op !== '!=') return undefined;
  let t = matchOperand(scope, e.lexpr);
  let value = stringConst(e.rexpr);
  if (!t) {
    t = matchOperand(scope, e.rexpr);
    value = stringConst(e.lexpr);
  }
  if (!t?.fold || value === undefined || !isAscii(value)) return undefined;
  const lhs = operandSql(t, value, params);
  return lhs === undefined ? undefined : `${lhs} ${op === '=' ? '=' : '<>'} ${params.add(value, 'String')}`;
}
