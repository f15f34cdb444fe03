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
 * How PostgreSQL folds a text column's case, by the column's effective collation
 * (lower(), upper(), ILIKE and `~*` all fold under it, not under the database's):
 * - 'database': the database default collation — as the probe measured (TextFolding);
 * - 'ascii': a libc collation whose LC_CTYPE is C or POSIX ("C", "POSIX", "ucs_basic"):
 *   ASCII letters only, whatever the database (formatting.c str_tolower/str_toupper and
 *   like.c's ILIKE use pg_ascii_tolower/toupper there; the regex engine folds only
 *   characters below 128 under C) — lower('İ' COLLATE "C") is 'İ', which the database's
 *   translation table would have turned into 'i'.
 * Any other collation (ICU's full case mapping turns İ into i + U+0307; another libc
 * locale folds by its own table) is not known here: case-insensitive conditions on
 * such a column stay in PostgreSQL.
 */
export type CaseFolding = 'database' | 'ascii';

/** The folding of a C/POSIX collation: ASCII letters, nothing translated into ASCII. */
export const ASCII_FOLDING: TextFolding = { lowerToAscii: [], upperToAscii: [] };

/**
 * The case folding of a collation as pg_collation has it (collprovider, collctype; 'd'
 * for the database default), or undefined where it is not one this module can push.
 */
export function collationCaseFolding(provider: string, ctype: string | null | undefined): CaseFolding | undefined {
  if (provider === 'd') return 'database';
  return provider === 'c' && (ctype === 'C' || ctype === 'POSIX') ? 'ascii' : undefined;
}

/** The folding to push with: the database's probed one, ASCII's, or none (PostgreSQL folds). */
export function foldingFor(caseFolding: CaseFolding | undefined, database: TextFolding | undefined): TextFolding | undefined {
  if (caseFolding === 'ascii') return ASCII_FOLDING;
  return caseFolding === 'database' ? database : undefined;
}

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
  const pairs = translatedPairs(fold, folding, against);
  const col = chIdent(column);
  if (pairs.length === 0) return `${fold}(${col})`;
  const from = pairs.map(([f]) => f).join('');
  const to = pairs.map(([, t]) => t).join('');
  return `${fold}(translateUTF8(${col}, ${params.add(from, 'String')}, ${params.add(to, 'String')}))`;
}

/** The [from, to] pairs foldedColumn translates for `against`: those whose ASCII image it contains. */
function translatedPairs(fold: FoldCase, folding: TextFolding, against: string): ReadonlyArray<readonly [string, string]> {
  return (fold === 'lower' ? folding.lowerToAscii : folding.upperToAscii).filter(([, to]) => against.includes(to));
}

/**
 * A condition implied by `foldedColumn(…) LIKE chPattern` (a ClickHouse pattern, `against`
 * the ASCII pattern it came from) that needs no translateUTF8, for ClickHouse to test
 * first: undefined when foldedColumn translates nothing. translateUTF8 costs a pass over
 * every byte of every row in range (a 7-day ILIKE over 300k log lines: 20.4 → 15.0 ms
 * with this before it, chDB alone).
 *
 * Why it is implied: translateUTF8 maps one code point to one, so the translated and the
 * untranslated folded texts differ only where the column had a translated character (İ,
 * the Kelvin sign, …), and the translated text has that character's ASCII image there.
 * A match of the pattern against the translated text puts a wildcard or that ASCII letter
 * on such a place; the letter, turned into `_` (one code point, as in like-pattern.ts),
 * matches the untranslated character as well. Every other place is the same in both.
 */
export function foldedLikePrefilter(column: string, fold: FoldCase, folding: TextFolding, against: string, chPattern: string, params: ChParams): string | undefined {
  const into = new Set(translatedPairs(fold, folding, against).map(([, to]) => to));
  if (into.size === 0) return undefined;
  let loose = '';
  const chars = [...chPattern];
  for (let i = 0; i < chars.length; i++) {
    // ClickHouse's pattern escapes only %, _ and \ (like-pattern.ts): never a translated letter.
    if (chars[i] === '\\') loose += chars[i] + (chars[++i] ?? '');
    else loose += into.has(chars[i]) ? '_' : chars[i];
  }
  return `${fold}(${chIdent(column)}) LIKE ${params.add(loose, 'String')}`;
}

export function isAscii(s: string): boolean {
  return [...s].every((c) => c.charCodeAt(0) < 0x80);
}

/** PostgreSQL's lower()/upper() of an ASCII string in a database whose folding was probed (ASCII letters only). */
export function foldAscii(s: string, fold: FoldCase): string {
  return fold === 'lower' ? s.replace(/[A-Z]/g, (c) => c.toLowerCase()) : s.replace(/[a-z]/g, (c) => c.toUpperCase());
}
