import type { Pool } from 'pg';
import type { ColdStore } from '@strata/core';
import type { CatalogSnapshot } from '../router/catalog-snapshot';
import type { RefusedConstruct } from './errors';
import { DEFAULT_MIN_ROWS_PER_ROLLUP_ROW } from './rollup-density';
import { RollupReadPolicy } from './rollup-read-policy';
import { DEFAULT_PART_LISTING_MS, PartListings } from './part-listings';
import { ColdSpans } from './cold-spans';

/** The part of a pino logger the engine uses. Never given SQL, parameters or values. */
export interface EngineLogger {
  debug(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
}

export interface TierEngineOptions {
  cold: ColdStore;
  /** ClickHouse database holding the cold tables. */
  coldDatabase: string;
  /** The tiered tables: a snapshot, or a getter for the current one. */
  catalog: CatalogSnapshot | (() => CatalogSnapshot);
  /**
   * Connections for callers that bring no session of their own (tests, benchmarks, the
   * in-process corpus run). The proxy passes none: every statement runs in the client's
   * session.
   */
  hot?: Pick<Pool, 'connect'>;
  logger?: EngineLogger;
  /** Rows fetched from PostgreSQL per page while a result streams. Default 1000. */
  pageRows?: number;
  /** READ ONLY blocks: most bytes of cold rows held as parameters per statement (default 64 MiB; past it 54000). */
  maxInlineColdBytes?: number;
  /**
   * Raw cold rows one statement may stage in PostgreSQL (the last-resort plan: rows
   * finished there); past either bound the statement gets 54000 naming it, never a full
   * disk. Defaults: 20 million rows, 4 GiB of text.
   */
  maxRawColdRows?: number;
  maxRawColdBytes?: number;
  /**
   * Partitions a window function offset against a top-N's statement may have
   * (left-out-offsets.ts: each returned row looks its partition up); past it the engine
   * reads the range's raw rows. Default 1000.
   */
  maxOffsetPartitions?: number;
  /**
   * A SELECT's cold answer up to this many bytes of text travels as parameters, not in a
   * temporary table (small-cold-answer.ts). Default 1 MiB; 0 stages every answer.
   */
  smallColdAnswerBytes?: number;
  /**
   * statement_timeout for each statement the engine runs in a block of its own (outside a
   * client's transaction) when the session has none: the rewritten statement, and the COPY
   * that lasts as long as ClickHouse streams. Default 0: none (the proxy's default is
   * STRATA_PROXY_STATEMENT_TIMEOUT_MS, 5 minutes).
   */
  statementTimeoutMs?: number;
  /**
   * A rollup is read only where its raw table holds at least this many rows per rollup
   * row (rollup-density.ts). Default 4; 0 reads every rollup that covers a statement.
   */
  minRowsPerRollupRow?: number;
  /**
   * Rollups are read where the session sets no `strata.rollups` (default true); a session
   * that does not want them says `SET strata.rollups = off` (or ALTER ROLE / DATABASE …
   * SET), and with false a session opts in with `SET strata.rollups = on`.
   */
  rollupReads?: boolean;
  /**
   * How long a listing of a cold table's parts is used for the latest-parts bound
   * (part-listings.ts). Default 60 s; 0: each top-N's statement reads system.parts itself.
   */
  partListingMs?: number;
  /**
   * Leave out time conditions every visible cold row meets, from the span read once per
   * generation set (cold-spans.ts). Default true; false sends every condition (tests that
   * read the statements ClickHouse is sent).
   */
  coldSpans?: boolean;
}

export type TierRoute = 'hot' | 'cold' | 'split';

export interface EngineStats extends Record<TierRoute | 'refused', number> {
  /** Refusals by what was refused. */
  refusals: Partial<Record<RefusedConstruct, number>>;
  /**
   * ClickHouse reads by what they return: `partial` = aggregation pushed down (partial
   * aggregates per group), `raw` = rows for PostgreSQL to aggregate. The pushdown ratio
   * is partial / (partial + raw). `candidates`: of the raw reads, those cut to a top-k
   * per partition's candidates (top-k.ts), not every row in range.
   */
  coldReads: { partial: number; raw: number; candidates: number };
}

/** What every step of the engine shares: its options, its counters and the current catalog. */
export interface EngineContext {
  readonly opts: TierEngineOptions;
  readonly stats: EngineStats;
  readonly rollupPolicy: RollupReadPolicy;
  readonly partListings: PartListings;
  /** Where each raw table's visible cold rows lie, per generation set (cold-spans.ts); absent with coldSpans: false. */
  readonly coldSpans?: ColdSpans;
  snapshot(): CatalogSnapshot;
}

export function engineContext(opts: TierEngineOptions): EngineContext {
  return {
    opts,
    stats: { hot: 0, cold: 0, split: 0, refused: 0, refusals: {}, coldReads: { partial: 0, raw: 0, candidates: 0 } },
    rollupPolicy: new RollupReadPolicy(opts.cold, opts.coldDatabase, {
      minRowsPerRollupRow: opts.minRowsPerRollupRow ?? DEFAULT_MIN_ROWS_PER_ROLLUP_ROW,
      readByDefault: opts.rollupReads ?? true,
    }),
    partListings: new PartListings(opts.cold, opts.coldDatabase, opts.partListingMs ?? DEFAULT_PART_LISTING_MS, opts.logger),
    ...(opts.coldSpans === false ? {} : { coldSpans: new ColdSpans(opts.cold, opts.coldDatabase, opts.logger) }),
    snapshot: () => (typeof opts.catalog === 'function' ? opts.catalog() : opts.catalog),
  };
}
