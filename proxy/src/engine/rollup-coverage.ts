import { chIdent, chQualified, clickhouseDdl, type ColdStore } from '@strata/core';
import type { Instant } from '../translate/instant';
import { readTimeSpan } from './cold-spans';

/**
 * What a rollup covers, as of one set of committed generations (TierStateRow.generations),
 * so the statement that reads it (rollup-plan.ts) is, in the common case, one SELECT over
 * the rollup: no per-statement subquery for the rollup's first generation or its NaN sums
 * (make bench-cold measured those, and the always-present raw branches, at 2× the
 * hand-written rollup statement).
 *
 * Rollup rows and raw rows of a committed generation never change after it commits, except
 * that cold deletes and TTL remove rows. So facts read once for a set of visible
 * generations stay true, or become conservative (a NaN bucket or an old raw row that is
 * gone makes the statement read raw rows that are no longer there): they are cached per
 * generation set and never expire. A new tiering run commits a new set, which is read anew.
 */
export interface RollupCoverage {
  /**
   * The lowest visible generation with rollup rows: a tiering run builds its rollups
   * before it commits, so every visible generation from it on has its rollup rows.
   * Undefined: the rollup holds no visible row.
   */
  firstGen?: bigint;
  /**
   * The least and greatest bucket of the visible rollup rows (µs): a bucket bound they all
   * meet is left out of the rollup's SELECT (rollup-plan.ts), which cost chDB 3–4 ms of a
   * 7–8 ms read of every bucket (bench/cold's count-all, 3M rows). Rows of a committed
   * generation are never added to, only removed (TTL), so the span read once stays wide enough.
   */
  buckets?: { lo: Instant; hi: Instant };
  /** Where the raw rows of visible generations below firstGen lie (µs, inclusive); undefined: there are none. */
  olderRaw?: { lo: Instant; hi: Instant };
  /**
   * Where every raw row lies (µs, inclusive; of any generation, from the parts' own
   * minmax), so edges of a range with no raw row need no raw read; undefined: none.
   */
  raw?: { lo: Instant; hi: Instant };
  /**
   * The buckets (µs) where a sum of `nanColumns` is NaN, ascending: a NaN value may hide
   * there, which ClickHouse's min/max skip and PostgreSQL's do not. Undefined: more than
   * MAX_NAN_BUCKETS (the rollup is not read for float min/max).
   */
  nanBuckets?: Instant[];
}

export const MAX_NAN_BUCKETS = 4096;
/** Generation sets kept per cache (a few are in use at once: snapshots straddling a tiering commit). */
const MAX_ENTRIES = 256;

export interface CoverageQuestion {
  /** Raw and rollup ClickHouse tables (unqualified) and the raw table's time column. */
  raw: string;
  rollup: string;
  timeColumn: string;
  /** ClickHouse condition selecting the visible generations. */
  generations: string;
  /** Float columns whose min/max the statement reads from the rollup (their sums tell NaN). */
  nanColumns: string[];
}

export class RollupCoverageCache {
  private readonly known = new Map<string, Promise<RollupCoverage>>();

  constructor(
    private readonly cold: ColdStore,
    private readonly database: string,
  ) {}

  coverage(q: CoverageQuestion): Promise<RollupCoverage> {
    const key = [q.raw, q.rollup, q.generations, [...q.nanColumns].sort().join(',')].join('\u0000');
    let found = this.known.get(key);
    if (!found) {
      found = this.read(q);
      // A failed read is not remembered: the next statement asks again.
      found.catch(() => this.known.delete(key));
      if (this.known.size >= MAX_ENTRIES) this.known.delete(this.known.keys().next().value!);
      this.known.set(key, found);
    }
    return found;
  }

  private async read(q: CoverageQuestion): Promise<RollupCoverage> {
    const gen = chIdent(clickhouseDdl.GEN_COLUMN);
    const rollup = chQualified(this.database, q.rollup);
    const bucket = chIdent(clickhouseDdl.ROLLUP_BUCKET_COLUMN);
    const [first] = await this.cold.query<{ first: string | null; lo: string; hi: string }>(
      `SELECT toString(minOrNull(${gen})) AS first, toString(toUnixTimestamp64Micro(min(${bucket}))) AS lo, toString(toUnixTimestamp64Micro(max(${bucket}))) AS hi
         FROM ${rollup} WHERE ${q.generations}`,
    );
    if (first?.first == null) return {};
    const firstGen = BigInt(first.first);
    const buckets = { lo: BigInt(first.lo), hi: BigInt(first.hi) };
    const [olderRaw, raw, nanBuckets] = await Promise.all([
      // The raw table's generation index skips every granule of later generations.
      this.rawSpan(q, `WHERE ${q.generations} AND ${gen} < ${firstGen}`),
      // No WHERE: ClickHouse answers from each part's minmax of its partition key's column.
      this.rawSpan(q, ''),
      this.nanBuckets(q, rollup),
    ]);
    return { firstGen, buckets, olderRaw, raw, nanBuckets };
  }

  private rawSpan(q: CoverageQuestion, where: string): Promise<{ lo: Instant; hi: Instant } | undefined> {
    return readTimeSpan(this.cold, this.database, q.raw, q.timeColumn, where);
  }

  private async nanBuckets(q: CoverageQuestion, rollup: string): Promise<Instant[] | undefined> {
    if (q.nanColumns.length === 0) return [];
    const bucket = chIdent(clickhouseDdl.ROLLUP_BUCKET_COLUMN);
    const nan = q.nanColumns.map((c) => `isNaN(${chIdent(`${c}__sum`)})`).join(' OR ');
    const rows = await this.cold.query<{ b: string }>(
      `SELECT toString(toUnixTimestamp64Micro(${bucket})) AS b FROM ${rollup} WHERE ${q.generations} AND (${nan})
        GROUP BY ${bucket} ORDER BY ${bucket} LIMIT ${MAX_NAN_BUCKETS + 1}`,
    );
    return rows.length > MAX_NAN_BUCKETS ? undefined : rows.map((r) => BigInt(r.b));
  }
}
