import type { QueryParams } from '../cold/cold-store';
import { GEN_COLUMN } from '../ddl/clickhouse';
import { chIdent, chLiteral } from '../ddl/sql';
import type { Queryable } from './queryable';

/**
 * Cold deletes ("tombstones", `strata.cold_deletes`): the cold part of a DELETE or
 * TRUNCATE of a tiered table, recorded in PostgreSQL in the deleting transaction.
 *
 * A tombstone says: cold rows of generations ≤ max_gen that match `predicate` are gone.
 * Generations bound it because a row's generation is the tiering run that moved it: rows
 * of later runs were still in PostgreSQL when the statement ran, and the statement's
 * own hot part decided their fate there. So the tombstone commits or rolls back with the
 * client's transaction; readers AND `NOT (gen ≤ max_gen AND predicate)` into their cold
 * queries for every unapplied tombstone they see in their snapshot; the tierer applies
 * it to ClickHouse (a synchronous mutation) and only then sets applied_at, after which
 * filtering it is redundant but harmless.
 *
 * The predicate is ClickHouse SQL as the proxy's translator writes it, values as
 * `{name:Type}` placeholders with the values in `params`. Any role with DELETE on the
 * hot table may insert a tombstone (row-level security on strata.cold_deletes checks
 * that), so the text is untrusted: it is accepted only in the translator's small
 * grammar (column identifiers, placeholders, comparison and boolean operators,
 * IN / IS NULL / LIKE, a few pure functions such as JSONExtractString, isNaN and match, the
 * constants 0 and 1) and the values are
 * inlined as `CAST('…', 'Type')` of the four types the translator uses. No subquery,
 * function or literal of the writer's choosing reaches ClickHouse.
 */

export interface ColdDelete {
  id: string;
  table: string;
  /** ClickHouse condition with `{name:Type}` placeholders. */
  predicate: string;
  params: QueryParams;
  /** Only cold rows of generations ≤ maxGen are deleted. */
  maxGen: bigint;
}

export const COLD_DELETE_ERROR_CODES = { malformed: 'COLD_DELETE_MALFORMED' } as const;

export class ColdDeleteError extends Error {
  readonly code = COLD_DELETE_ERROR_CODES.malformed;
  constructor(message: string) {
    super(message);
    this.name = 'ColdDeleteError';
  }
}

/**
 * Unapplied tombstones of the given tables ($1 = text[] of table names), oldest first;
 * text columns only, so a text-mode session reads them as they are (coldDeleteFromRow).
 */
export const UNAPPLIED_COLD_DELETES_SQL = `SELECT id::text AS id, table_name, predicate, params::text AS params, max_gen::text AS max_gen
  FROM strata.cold_deletes WHERE table_name = ANY($1::text[]) AND applied_at IS NULL ORDER BY id`;

/** SQL recording a tombstone ($1 table, $2 predicate, $3 params as JSON text, $4 max_gen); returns its id. */
export const RECORD_COLD_DELETE_SQL = `INSERT INTO strata.cold_deletes (table_name, predicate, params, max_gen)
  VALUES ($1, $2, $3::jsonb, $4::bigint) RETURNING id::text AS id`;

/** A row of UNAPPLIED_COLD_DELETES_SQL, as text. */
export function coldDeleteFromRow(row: ReadonlyArray<string | null> | Record<string, string | null>): ColdDelete {
  const [id, table, predicate, params, maxGen] = Array.isArray(row)
    ? row
    : ['id', 'table_name', 'predicate', 'params', 'max_gen'].map((k) => (row as Record<string, string | null>)[k]);
  if (id === null || table === null || predicate === null || params === null || maxGen === null) {
    throw new ColdDeleteError('a strata.cold_deletes row has a NULL column');
  }
  return { id, table, predicate, params: JSON.parse(params) as QueryParams, maxGen: BigInt(maxGen) };
}

export async function listUnappliedColdDeletes(db: Queryable, tables: readonly string[]): Promise<ColdDelete[]> {
  const r = await db.query<Record<string, string>>(UNAPPLIED_COLD_DELETES_SQL, [tables]);
  return r.rows.map(coldDeleteFromRow);
}

/** Value types the translator binds (ch-condition.ts, time-predicate.ts). */
const PARAM_TYPES = new Set(['String', 'Int64', 'Float64', "DateTime64(6, 'UTC')"]);
/** Keywords and pure scalar functions (none reads a table, a setting or the outside). */
const WORDS = new Set([
  'AND', 'OR', 'NOT', 'IS', 'NULL', 'IN', 'LIKE', 'BETWEEN', 'TRUE', 'FALSE',
  'JSONExtractString', 'isNaN', 'isNull', 'isNotNull', 'ifNull', 'if', 'nan', 'inf', 'toFloat64',
  // Log search (proxy/translate/ch-text-match.ts); re2's match runs in linear time.
  'match', 'positionUTF8', 'startsWith', 'lower', 'upper', 'translateUTF8',
]);
const VALUE_FORMAT: Record<string, RegExp> = {
  Int64: /^-?\d+$/,
  Float64: /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/,
  "DateTime64(6, 'UTC')": /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?$/,
};

/**
 * The tombstone's predicate with its values inlined, checked against the grammar above;
 * throws ColdDeleteError on anything else.
 */
export function renderColdDeletePredicate(d: Pick<ColdDelete, 'predicate' | 'params'>): string {
  const token = /\s+|`(?:[^`\\]|\\.)*`|\{([A-Za-z0-9_]+):([^{}]+)\}|<=|>=|<>|[()=<>,]|[A-Za-z_][A-Za-z0-9_]*|[01]\b/y;
  let out = '';
  let depth = 0;
  while (token.lastIndex < d.predicate.length) {
    const at = token.lastIndex;
    const m = token.exec(d.predicate);
    if (!m) throw new ColdDeleteError(`cold delete predicate: unexpected text at offset ${at}`);
    const t = m[0];
    if (m[1] !== undefined) {
      const [name, type] = [m[1], m[2]];
      if (!PARAM_TYPES.has(type) || !Object.hasOwn(d.params, name)) throw new ColdDeleteError(`cold delete predicate: bad parameter ${name}`);
      const v = d.params[name];
      if (typeof v !== 'string' && typeof v !== 'number') throw new ColdDeleteError(`cold delete predicate: parameter ${name} is not a value`);
      const text = String(v);
      if (VALUE_FORMAT[type] && !VALUE_FORMAT[type].test(text)) throw new ColdDeleteError(`cold delete predicate: parameter ${name} is not a ${type}`);
      out += `CAST(${chLiteral(text)}, ${chLiteral(type)})`;
      continue;
    }
    if (/^[A-Za-z_]/.test(t) && !WORDS.has(t)) throw new ColdDeleteError(`cold delete predicate: unexpected word at offset ${at}`);
    if (t === '(') depth++;
    if (t === ')' && --depth < 0) throw new ColdDeleteError('cold delete predicate: unbalanced parentheses');
    out += t;
  }
  if (depth !== 0 || out.trim() === '') throw new ColdDeleteError('cold delete predicate: unbalanced or empty');
  return out;
}

/**
 * `gen ≤ max_gen AND predicate`, true or false (never NULL): the cold rows the tombstone
 * deletes. A row its predicate gives NULL for was not deleted (PostgreSQL deletes where
 * the WHERE is true), and NOT of NULL would hide it from readers.
 */
export function coldDeleteConditionSql(d: Pick<ColdDelete, 'predicate' | 'params' | 'maxGen'>): string {
  return `(${chIdent(GEN_COLUMN)} <= ${d.maxGen.toString()} AND ifNull((${renderColdDeletePredicate(d)}), 0))`;
}

/**
 * The ClickHouse condition keeping the cold rows no tombstone deletes: `NOT (…) AND …`,
 * or `1` when there are none. Self-contained (no parameters), to AND into a cold read's
 * visibility condition.
 */
export function coldDeletesFilterSql(deletes: ReadonlyArray<Pick<ColdDelete, 'predicate' | 'params' | 'maxGen'>>): string {
  if (deletes.length === 0) return '1';
  return deletes.map((d) => `NOT ${coldDeleteConditionSql(d)}`).join(' AND ');
}
