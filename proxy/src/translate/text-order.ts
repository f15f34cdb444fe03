import type { PgNode } from '../router/sql-parser';
import { strings } from './ast';
import { columnKind, columnOf, isTextKind, type ColumnScope } from './column-scope';

/**
 * Where PostgreSQL orders text exactly as ClickHouse compares String: byte by byte
 * (memcmp, a prefix before its extensions). Text ORDER BY keys (engine/top-n.ts, top-k.ts)
 * and text `<`, `>`, BETWEEN (ch-condition.ts) reach ClickHouse only there; elsewhere
 * PostgreSQL orders and compares them itself.
 *
 * Byte order in PostgreSQL:
 * - the collations "C", "POSIX" and "ucs_basic" (libc C in PostgreSQL ≤ 16): PostgreSQL
 *   compares with memcmp itself (lc_collate_is_c), for any text, on any platform;
 * - libc "C.UTF-8" (a column's or the database default): PostgreSQL hands it to strcoll,
 *   so its order is the C library's. glibc ≥ 2.35 defines it as code point order, which
 *   for UTF-8 is byte order, but older glibc and distributions' own C.UTF-8 patches have
 *   differed. Accepted only when engine/text-order-probe.ts saw PostgreSQL order a set of
 *   strings built to catch those differences exactly as the C collation does — once per
 *   process and database; any other locale or provider (ICU, en_US, …) is never byte order.
 * PostgreSQL text holds no NUL and, in a UTF-8 database, only valid UTF-8, so byte order
 * on either side never meets a case where memcmp and strcmp disagree.
 */

/** The database default collation's order, measured once (engine/text-order-probe.ts). */
export interface DatabaseTextOrder {
  /** The default collation orders as bytes (C, POSIX, or a probed libc C.UTF-8). */
  defaultBytewise: boolean;
  /** The database default is a libc C.UTF-8 that the probe found byte-ordered: another libc C.UTF-8 collation is the same locale. */
  cUtf8Bytewise: boolean;
}

/** Collations that are byte order by PostgreSQL's own definition, as a statement may name them. */
const BYTEWISE_COLLATIONS = new Set(['C', 'POSIX', 'ucs_basic']);

/**
 * The text column `n` names and whether PostgreSQL orders it byte-wise there: a bare
 * column by its effective collation (TieredColumnInfo.bytewise, set per statement), a
 * column under an explicit `COLLATE "C"`/"POSIX"/"ucs_basic" (`collated`) always.
 * Undefined for anything else, an explicit other collation included (it may even be
 * nondeterministic, where equality differs too). Also ch-text-match.ts's column operand.
 */
export function textOperand(scope: ColumnScope, n: PgNode): { column: string; bytewise: boolean; collated?: true } | undefined {
  const collate = n?.CollateClause;
  const ref = collate ? collate.arg?.ColumnRef : n?.ColumnRef;
  const column = ref ? columnOf(scope, ref) : undefined;
  if (!column || !isTextKind(columnKind(scope, column))) return undefined;
  if (collate) return isBytewiseCollationName(collate.collname) ? { column, bytewise: true, collated: true } : undefined;
  return { column, bytewise: scope.relation.columns.find((c) => c.name === column)?.bytewise === true };
}

/** `COLLATE "C"` or `pg_catalog."C"` (and POSIX, ucs_basic). */
export function isBytewiseCollationName(collname: PgNode[] | undefined): boolean {
  const names = strings(collname);
  if (names.length !== (collname?.length ?? 0)) return false;
  const [schema, name] = names.length === 2 ? names : ['pg_catalog', names[0]];
  return names.length <= 2 && schema === 'pg_catalog' && BYTEWISE_COLLATIONS.has(name);
}

/**
 * Whether a collation orders as bytes: `provider` and `locale` as pg_collation has them
 * (collprovider, collcollate), or 'd' for the database default.
 */
export function collationOrdersAsBytes(provider: string, locale: string | null, database: DatabaseTextOrder | undefined): boolean {
  if (provider === 'd') return database?.defaultBytewise === true;
  if (provider !== 'c' || locale === null) return false;
  if (locale === 'C' || locale === 'POSIX') return true;
  return isCUtf8(locale) && database?.cUtf8Bytewise === true;
}

/** 'C.UTF-8', 'C.utf8': the spellings of glibc's C.UTF-8 locale. */
export function isCUtf8(locale: string): boolean {
  return /^C\.utf-?8$/i.test(locale);
}
