import type { Queryable } from '@strata/core';
import type { TextFolding } from '../translate/text-folding';

/**
 * Measures how this database's lower() and upper() fold text (translate/text-folding.ts
 * says what the translation needs from it). Undefined, and case-insensitive conditions
 * stay in PostgreSQL, unless:
 * - the default collation's provider is libc ('c'): one character folds to one
 *   character (ICU's full mapping turns İ into two);
 * - every ASCII character folds as in the C locale (a Turkish locale lowers I to ı);
 * - every non-ASCII code point up to U+1FFFF that folds into ASCII is listed (all of
 *   Unicode's cased letters lie below U+20000; scanning the 17 planes would take ~2 s).
 * One query (0.4–0.5 s measured here, 2 busy cores), run once per process and database.
 */
const PROBE_SQL = `
  SELECT (SELECT datlocprovider::text FROM pg_catalog.pg_database WHERE datname = current_database()) AS provider,
         lower(a.s) AS lower_ascii, upper(a.s) AS upper_ascii, a.s AS ascii,
         (SELECT coalesce(string_agg(chr(cp) || lower(chr(cp)), '') FILTER (WHERE ascii(lower(chr(cp))) < 128), '') || '/' ||
                 coalesce(string_agg(chr(cp) || upper(chr(cp)), '') FILTER (WHERE ascii(upper(chr(cp))) < 128), '')
            FROM generate_series(128, 131071) AS cp WHERE cp < 55296 OR cp > 57343) AS into_ascii
    FROM (SELECT string_agg(chr(cp), '' ORDER BY cp) AS s FROM generate_series(1, 127) AS cp) AS a`;

const cache = new Map<string, TextFolding | undefined>();

export async function probeTextFolding(db: Queryable, database: string): Promise<TextFolding | undefined> {
  if (cache.has(database)) return cache.get(database);
  const r = await db.query<{ provider: string; lower_ascii: string; upper_ascii: string; ascii: string; into_ascii: string }>(PROBE_SQL);
  const folding = textFoldingOf(r.rows[0]);
  cache.set(database, folding);
  return folding;
}

function textFoldingOf(row: { provider: string; lower_ascii: string; upper_ascii: string; ascii: string; into_ascii: string }): TextFolding | undefined {
  if (row.provider !== 'c') return undefined;
  if (row.lower_ascii !== row.ascii.toLowerCase() || row.upper_ascii !== row.ascii.toUpperCase()) return undefined;
  const [lower, upper] = row.into_ascii.split('/');
  return { lowerToAscii: pairs(lower), upperToAscii: pairs(upper) };
}

/** 'İiKk' → [['İ', 'i'], ['K', 'k']] */
function pairs(s: string): Array<[string, string]> {
  const chars = [...s];
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < chars.length; i += 2) out.push([chars[i], chars[i + 1]]);
  return out;
}
