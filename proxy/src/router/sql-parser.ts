import { loadModule, parseSync } from 'libpg-query';
import { FrameFaithfulDeparser, withWindowRefsInlined } from './window-frame';

/**
 * PostgreSQL's own parser (libpg_query compiled to WASM). Loading it is asynchronous
 * and happens once per process; after that parsing is synchronous, which is what the
 * pure router needs. Parse trees are cached by statement text: dashboards send the
 * same text every refresh.
 */

/** A node of libpg_query's JSON parse tree: `{ NodeType: { ...fields } }`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type PgNode = any;

export interface ParsedStatement {
  /** The statement node, e.g. `{ SelectStmt: {...} }`. */
  stmt: PgNode;
  /** The statement's own text (without the separating semicolon). */
  text: string;
}

export class SqlParseError extends Error {
  readonly code = 'SQL_PARSE_ERROR' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SqlParseError';
  }
}

let loaded: Promise<void> | undefined;
let ready = false;

/** Call once at start-up (idempotent) before createRouter / parseStatements. */
export function loadSqlParser(): Promise<void> {
  loaded ??= loadModule().then(() => {
    ready = true;
  });
  return loaded;
}

export function sqlParserLoaded(): boolean {
  return ready;
}

const CACHE_LIMIT = 2048;
const cache = new Map<string, ParsedStatement[] | SqlParseError>();

/** Parses a string of one or more statements; throws SqlParseError. Cached (LRU). */
export function parseStatements(sql: string): ParsedStatement[] {
  const hit = cache.get(sql);
  if (hit !== undefined) {
    cache.delete(sql);
    cache.set(sql, hit);
    if (hit instanceof SqlParseError) throw hit;
    return hit;
  }
  let result: ParsedStatement[] | SqlParseError;
  try {
    result = parseUncached(sql);
  } catch (err) {
    result = err instanceof SqlParseError ? err : new SqlParseError((err as Error).message, { cause: err });
  }
  cache.set(sql, result);
  if (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  if (result instanceof SqlParseError) throw result;
  return result;
}

function parseUncached(sql: string): ParsedStatement[] {
  if (!ready) throw new SqlParseError('the SQL parser is not loaded: await loadSqlParser() at start-up');
  const tree = parseSync(sql) as { stmts?: Array<{ stmt: PgNode; stmt_location?: number; stmt_len?: number }> };
  const bytes = Buffer.from(sql, 'utf8');
  return (tree.stmts ?? []).map((s) => {
    // Locations are byte offsets into the UTF-8 text; stmt_len 0 means "to the end".
    const start = s.stmt_location ?? 0;
    const end = s.stmt_len ? start + s.stmt_len : bytes.length;
    return { stmt: s.stmt, text: bytes.subarray(start, end).toString('utf8').trim() };
  });
}

/** The statements of a simple-query string, each with its text, e.g. to route them one by one. */
export function splitStatements(sql: string): string[] {
  return parseStatements(sql).map((s) => s.text);
}

/** SQL text of a statement node (used for statements Strata rewrites); windows as PostgreSQL parsed them (window-frame.ts). */
export function deparseStatement(stmt: PgNode): string {
  return new FrameFaithfulDeparser(withWindowRefsInlined(stmt)).deparseQuery();
}

/** Deep copy of a parse tree, so rewrites never touch cached trees. */
export function cloneNode<T>(node: T): T {
  return structuredClone(node);
}
