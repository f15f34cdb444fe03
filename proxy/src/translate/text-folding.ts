import { chIdent } from '@strata/core/ddl';
import type { ChParams } from './ch-params';

/**
 * How the database's lower() and upper() map characters into ASCII, as measured in it
 * (engine/text-folding-probe.ts). Case-insensitive conditions are pushed to ClickHouse
 * only with this known, and only for ASCII-only patterns and constants.
 *
 * Why that is exact: with the libc provider PostgreSQL folds one character to one
 * character (towlower/towupper). Against an ASCII pattern, a folded character that is
 * not ASCII can only be matched by `_` or `%` (or `.`/a negated class), whichever
 * character it is. So ClickHouse need not fold like PostgreSQL: it must only produce the
 * same ASCII characters in the same places. Its `lower`/`upper` fold ASCII letters only;
 * the few non-ASCII characters the database folds INTO ASCII (glibc: İ→i and K (Kelvin)
 * →k for lower, ı→I and ſ→S for upper) are translated first. ClickHouse's own `ilike`,
 * `lowerUTF8` and re2's `(?i)` are never used: they fold differently (full case mapping
 * İ→i̇, Unicode case orbits ſ≈s, K≈k, ς≈σ) and even disagree with themselves (`'ſ' ILIKE
 * 's'` is 1, `'xſx' ILIKE '%s%'` is 0 in ClickHouse 26.7).
 */
export interface TextFolding {
  /** Non-ASCII characters lower() maps to ASCII, as [from, to] pairs. */
  lowerToAscii: ReadonlyArray<readonly [string, string]>;
  /** Non-ASCII characters upper() maps to ASCII, as [from, to] pairs. */
  upperToAscii: ReadonlyArray<readonly [string, string]>;
}

export type FoldCase = 'lower' | 'upper';

/**
 * ClickHouse text that agrees with PostgreSQL's lower(col)/upper(col) on every ASCII
 * character `against` contains, and has a non-ASCII character wherever PostgreSQL's has
 * an ASCII one `against` lacks or a non-ASCII one. Compared with `against` (an ASCII
 * pattern, constant, needle or prefix), such a place matches only a wildcard in either
 * engine. So a character folded into ASCII is translated only when its ASCII image
 * occurs in `against`: `ILIKE '%error%'` becomes plain `lower(msg) LIKE '%error%'`,
 * which an index on lower(msg) serves.
 */
export function foldedColumn(column: string, fold: FoldCase, folding: TextFolding, against: string, params: ChParams): string {
  const pairs = (fold === 'lower' ? folding.lowerToAscii : folding.upperToAscii).filter(([, to]) => against.includes(to));
  const col = chIdent(column);
  if (pairs.length === 0) return `${fold}(${col})`;
  const from = pairs.map(([f]) => f).join('');
  const to = pairs.map(([, t]) => t).join('');
  return `${fold}(translateUTF8(${col}, ${params.add(from, 'String')}, ${params.add(to, 'String')}))`;
}

export function isAscii(s: string): boolean {
  return [...s].every((c) => c.charCodeAt(0) < 0x80);
}

/** PostgreSQL's lower()/upper() of an ASCII string in a database whose folding was probed (ASCII letters only). */
export function foldAscii(s: string, fold: FoldCase): string {
  return fold === 'lower' ? s.replace(/[A-Z]/g, (c) => c.toLowerCase()) : s.replace(/[a-z]/g, (c) => c.toUpperCase());
}
