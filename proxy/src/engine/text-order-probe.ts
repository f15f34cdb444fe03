import type { Queryable } from '@strata/core';
import { isCUtf8, type DatabaseTextOrder } from '../translate/text-order';

/**
 * Measures whether this database's default collation orders text byte-wise, as
 * ClickHouse does (translate/text-order.ts says why and where that matters). Byte order:
 * - libc "C" or "POSIX": by PostgreSQL's own definition, no probe needed;
 * - libc "C.UTF-8": only if PostgreSQL orders PROBE_STRINGS exactly as under COLLATE "C"
 *   (strcoll there is the C library's; glibc ≥ 2.35 makes it code point order);
 * - anything else (ICU, another libc locale): never.
 * One query, once per process and database (a few ms).
 */
const PROBE_SQL = `
  SELECT d.datlocprovider::text AS provider, d.datcollate AS locale,
         (SELECT array_agg(s ORDER BY s) = array_agg(s ORDER BY s COLLATE "C") FROM unnest($1::text[]) AS s) AS bytewise
    FROM pg_catalog.pg_database d WHERE d.datname = current_database()`;

/**
 * Strings whose byte order a locale's collation rules would upset: every ASCII character
 * (controls, punctuation, digits, both cases), prefixes and the empty string, UTF-8 of
 * each length with the boundaries between them (U+007F/U+0080, U+07FF/U+0800, U+FFFF/
 * U+10000, U+10FFFF), characters a collation folds or ignores (combining marks, ß/ss,
 * é/e + U+0301, Å/Å, ﬁ/fi, full-width letters, soft hyphen, no-break space), and each of
 * those after a common prefix and before an ASCII tail (orders decided past the first
 * character, and multi-level rules that weigh accents after letters).
 */
const SINGLES = [
  ...Array.from({ length: 127 }, (_, i) => String.fromCodePoint(i + 1)),
  ...[0x80, 0xa0, 0xad, 0xc5, 0xc9, 0xdf, 0xe9, 0xff, 0x131, 0x301, 0x7ff, 0x800, 0x212b, 0x4e2d, 0xfb01, 0xff21, 0xff41, 0xfffd, 0xffff].map((c) => String.fromCodePoint(c)),
  ...[0x10000, 0x1f600, 0x10ffff].map((c) => String.fromCodePoint(c)),
];
const WORDS = ['', 'a', 'ab', 'abc', 'aB', 'Ab', 'AB', 'b', 'B', 'a b', 'a-b', 'a_b', 'a.b', 'ab-', 'co-op', 'coop', 'co op', 'ss', 'sz', 'e\u0301', 'é', 'fi', 'ﬁ', 'Å', 'Å', 'A\u030a', '10', '9', '1-0'];
/** Exported for its test (test/proxy/text-order-probe.test.ts: ICU orders them otherwise). */
export const PROBE_STRINGS = [...new Set([...SINGLES, ...WORDS, ...SINGLES.flatMap((c) => [`a${c}`, `${c}b`, `x${c}y`]), ...WORDS.map((w) => `${w}z`)])];

const cache = new Map<string, DatabaseTextOrder>();

export async function probeTextOrder(db: Queryable, database: string): Promise<DatabaseTextOrder> {
  const known = cache.get(database);
  if (known) return known;
  const r = await db.query<{ provider: string; locale: string; bytewise: boolean }>(PROBE_SQL, [PROBE_STRINGS]);
  const order = textOrderOf(r.rows[0]);
  cache.set(database, order);
  return order;
}

function textOrderOf(row: { provider: string; locale: string; bytewise: boolean }): DatabaseTextOrder {
  if (row.provider !== 'c') return { defaultBytewise: false, cUtf8Bytewise: false };
  if (row.locale === 'C' || row.locale === 'POSIX') return { defaultBytewise: true, cUtf8Bytewise: false };
  const probed = isCUtf8(row.locale) && row.bytewise;
  return { defaultBytewise: probed, cUtf8Bytewise: probed };
}
