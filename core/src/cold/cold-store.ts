import type { Readable } from 'node:stream';

/**
 * The cold tier as the rest of Strata sees it. Two implementations run the same SQL:
 * `HttpColdStore` (a ClickHouse server over HTTP, production) and `EmbeddedColdStore`
 * (the ClickHouse engine in-process through chDB, single-node mode).
 *
 * SQL passed here is ClickHouse SQL built with `core/ddl/sql.ts` quoting helpers;
 * values travel as `{name:Type}` query parameters, never spliced into text.
 */
export interface ColdStore {
  readonly kind: 'http' | 'embedded';
  /** Resolves when the engine answers `SELECT 1`; rejects with ColdStoreError otherwise. */
  ping(): Promise<void>;
  /**
   * DDL and mutations; no result. A lost response is retried only when repeating the
   * statement is harmless: `idempotent` (e.g. CREATE … IF NOT EXISTS), or an INSERT …
   * SELECT carrying `dedupToken` (sent as insert_deduplication_token, so a repeat is
   * dropped by the table's deduplication window). Anything else fails on the first
   * lost response rather than risk running twice.
   */
  command(sql: string, params?: QueryParams, options?: CommandOptions): Promise<void>;
  /** A SELECT; rows as objects (JSONEachRow, 64-bit integers as strings). */
  query<T = Record<string, unknown>>(sql: string, params?: QueryParams): Promise<T[]>;
  /**
   * A SELECT's result as ClickHouse TabSeparated text (backslash escapes, `\N` for
   * NULL): close enough to PostgreSQL's COPY text format that the proxy feeds it to
   * `COPY … FROM STDIN` without re-encoding each value.
   */
  queryTsv(sql: string, params?: QueryParams): Promise<string>;
  /**
   * The same bytes as a stream, read as the consumer reads (backpressure): a large cold
   * result never sits whole in memory. The store's other operations wait until the
   * stream ends or is destroyed (the embedded engine runs one query at a time).
   */
  queryTsvStream(sql: string, params?: QueryParams): Promise<Readable>;
  /**
   * Insert TabSeparated rows (ClickHouse TSV escaping, `\N` for NULL) into `table`.
   * `dedupToken` makes a retried insert of the same batch a no-op (ClickHouse
   * `insert_deduplication_token`; the table must have a deduplication window).
   */
  insertTsv(req: TsvInsert): Promise<void>;
  close(): Promise<void>;
}

export interface CommandOptions {
  idempotent?: boolean;
  dedupToken?: string;
}

export type QueryParams = Record<string, string | number | boolean | null>;

export interface TsvInsert {
  /** Database-qualified or bare table name, already quoted with chIdent. */
  table: string;
  /** Column names, unquoted; sent quoted. */
  columns: string[];
  /** The rows: a Buffer holds a whole batch, a Readable streams one. */
  data: Buffer | Readable;
  dedupToken?: string;
  settings?: Record<string, string | number>;
  /**
   * Gzip the rows on the way (the HTTP store; default: its `compression` setting). false
   * where a statement waits for the insert: gzip can cost more time than the bytes take.
   */
  compress?: boolean;
}

/** Every failure of the cold tier, with ClickHouse's numeric error code when it gave one. */
export class ColdStoreError extends Error {
  readonly code = 'COLD_STORE_ERROR' as const;
  constructor(
    message: string,
    readonly clickhouseCode?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ColdStoreError';
  }
}
