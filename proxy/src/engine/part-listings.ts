import type { ColdStore } from '@strata/core';
import type { EngineLogger } from './engine-context';

/**
 * The cold tables' active parts as the engine last listed them (system.parts: each part's
 * rows and the partition key's min_time / max_time), for the latest-parts bound
 * (latest-parts-bound.ts). With a listing the proxy computes the bound itself and sends it
 * as a literal, or sends none where it would prune no part; without one the statement
 * computes it by a scalar subquery over system.parts, which cost chDB 4–5 ms of a top-N
 * that reads 6–8 ms (issue 14, overhead: the latest 100 log lines at 1M rows, one part).
 *
 * A listing is a hint, never a premise: the bounded read stands only when it returns n + m
 * rows, whatever B is (latest-parts-bound.ts), so a listing that has aged (parts merged, or
 * written by a run that has not committed) costs a wider read or a second one, never a
 * row. It is used only under the committed generations it was read under (a tiering run
 * that commits adds parts), and for at most `maxAgeMs`; it is read off the statement's
 * path: a statement that finds none (or a stale one) is bounded by the subquery, and the
 * listing is read again behind it.
 */
export interface ListedPart {
  /** The part's least and greatest partition-key time (whole seconds), in µs since the epoch. */
  minUs: bigint;
  maxUs: bigint;
  rows: bigint;
}

/** How long a listing is used by default (engine option partListingMs). */
export const DEFAULT_PART_LISTING_MS = 60_000;

const LIST_PARTS_SQL = `SELECT toUnixTimestamp(min_time), toUnixTimestamp(max_time), rows FROM system.parts
  WHERE database = {db:String} AND table = {table:String} AND active`;

export class PartListings {
  private readonly listed = new Map<string, { at: number; generations: string; parts: ListedPart[] }>();
  private readonly reading = new Set<string>();

  /** `maxAgeMs` 0: never listed (every bound is the statement's subquery). */
  constructor(
    private readonly cold: Pick<ColdStore, 'queryTsv'>,
    private readonly database: string,
    private readonly maxAgeMs: number,
    private readonly logger?: EngineLogger,
  ) {}

  /**
   * `table`'s parts, if listed under `generations` within maxAgeMs; a listing absent,
   * stale or past half its age is read again in the background.
   */
  of(table: string, generations: string): ListedPart[] | undefined {
    if (this.maxAgeMs <= 0) return undefined;
    const listing = this.listed.get(table);
    const age = listing ? Date.now() - listing.at : Infinity;
    const usable = listing !== undefined && listing.generations === generations && age <= this.maxAgeMs;
    if (!usable || age > this.maxAgeMs / 2) this.read(table, generations);
    return usable ? listing.parts : undefined;
  }

  private read(table: string, generations: string): void {
    if (this.reading.has(table)) return;
    this.reading.add(table);
    const at = Date.now();
    this.cold
      .queryTsv(LIST_PARTS_SQL, { db: this.database, table })
      .then((tsv) => {
        const parts = tsv
          .split('\n')
          .filter((line) => line !== '')
          .map((line) => {
            const [min, max, rows] = line.split('\t');
            return { minUs: BigInt(min) * 1_000_000n, maxUs: BigInt(max) * 1_000_000n, rows: BigInt(rows) };
          });
        this.listed.set(table, { at, generations, parts });
      })
      // Only the table: a ClickHouse message can quote the statement.
      .catch(() => this.logger?.debug({ table }, 'cold parts not listed'))
      .finally(() => this.reading.delete(table));
  }
}
