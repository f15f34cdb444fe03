import { Readable } from 'node:stream';
import { chIdent, type ColdStore } from '@strata/core';
import type { TieredRelation } from '../router/catalog-snapshot';
import type { ChParams } from '../translate/ch-params';
import { CH_MAX_US, CH_MIN_US, chDateTime64 } from '../translate/instant';
import type { TimeRange } from '../translate/time-predicate';
import type { ColdQuery } from './plan';
import type { ListedPart } from './part-listings';
import type { TopN } from './top-n';

/**
 * "The latest 100 log lines" of a table with hundreds of time partitions (issue 14, item
 * 5): even with the virtual row (latest-parts.ts) ClickHouse pays per-part work in every
 * partition the statement's range admits — chDB, the latest 100 of 2M rows in 233 day
 * partitions: 28–36 ms, 7–11 ms with the bound below (47 partitions: 8–11 → 6–9 ms).
 * The bound B comes from part metadata (system.parts: rows, and min_time / max_time of
 * the partition key's minmax index, whole seconds), read by a scalar subquery of the
 * same ClickHouse statement (~1.5 ms of chDB), so ClickHouse prunes partitions with it
 * and no round trip is added — or, where the proxy has listed the table's parts
 * (part-listings.ts: the subquery cost 4.8 ms where it pruned nothing), by boundOfListing
 * from the same metadata, sent as a literal, and not at all where it would prune no part.
 *
 * DESC: parts sorted by min_time, newest first; B = the least min_time of the parts up to
 * the first at which the running row count reaches n + m. Every row of those parts has
 * time ≥ B (min_time is its part's least time, floored to the second), so at least n + m
 * rows — as far as metadata knows — lie at or above B. ASC is the mirror: the greatest
 * max_time of the oldest parts, + 1 s, and time < B.
 *
 * Why the answer is exact: metadata cannot know which rows the statement sees (rows of
 * uncommitted generations, cold deletes, the statement's own conditions), so the bounded
 * read is kept only when it returns at least n + m rows (latestRows); else it is read
 * again without the bound. If it returns n + m rows, that many rows the statement reads
 * lie at or above B, so the (n + m)-th row of the unbounded order (time DESC first) is
 * at or above B, and so is every row tied with it on the ClickHouse keys (they share its
 * time): the bounded read's first n + m rows WITH TIES are the unbounded read's. No
 * property of the metadata is relied on, only this count; a wrong B costs a second read,
 * never a row. The time column is NOT NULL (it is the partition key): NULL placement is moot.
 *
 * Only where it can pay: the first key is the time column (a DateTime64), and the
 * statement's cold range reaches more than WIDE_RANGE_US below its upper end (or has no
 * lower end); a narrower range already prunes to the few partitions it touches. Parts
 * wholly outside the cold range (rows a tiering run is still copying above W, rows above
 * the statement's upper bound) are not counted.
 */
export const WIDE_RANGE_US = 2n * 86_400n * 1_000_000n;

const TIME_KINDS = new Set(['timestamptz', 'timestamp']);

export interface LatestPartsSource {
  database: string;
  /** The occurrence's cold range (its time predicates and W). */
  range: TimeRange;
  params: ChParams;
}

export interface LatestPartsBound {
  /** `time >= B` (DESC) or `time < B` (ASC), B a scalar subquery over system.parts. */
  condition: string;
  /** n + m: the bounded read stands only if it returns at least this many rows. */
  rows: bigint;
}

/**
 * Where part metadata can pay for the cold top-N of `rel` over `range`: its first key is
 * the time column of a raw table, and the range is open or wider than WIDE_RANGE_US. Its
 * ends within ClickHouse's instants (ends beyond them bound nothing there); else undefined.
 */
export function partsBoundRange(rel: TieredRelation, topN: TopN, range: TimeRange): { lo?: bigint; hi?: bigint } | undefined {
  const kind = rel.columns.find((c) => c.name === rel.timeColumn)?.kind;
  if (rel.rollupOf || topN.keys[0]?.column !== rel.timeColumn || kind === undefined || !TIME_KINDS.has(kind)) return undefined;
  const lo = range.lo >= CH_MIN_US ? range.lo : undefined;
  const hi = range.hi <= CH_MAX_US ? range.hi : undefined;
  return lo !== undefined && hi !== undefined && hi - lo <= WIDE_RANGE_US ? undefined : { lo, hi };
}

/** The bound for the cold top-N of `rel`, or undefined where it cannot pay. */
export function latestPartsBound(rel: TieredRelation, topN: TopN, src: LatestPartsSource): LatestPartsBound | undefined {
  const ends = partsBoundRange(rel, topN, src.range);
  if (!ends) return undefined;
  const { lo, hi } = ends;
  const desc = topN.keys[0].direction === 'DESC';
  const time = chIdent(rel.timeColumn);
  const { params } = src;
  if (topN.latestParts) {
    const b = boundOfListing(topN.latestParts, desc, topN.rows, lo, hi);
    return b === undefined ? undefined : { condition: `${time} ${desc ? '>=' : '<'} ${params.add(chDateTime64(b), "DateTime64(6, 'UTC')")}`, rows: topN.rows };
  }
  const rows = topN.rows.toString();
  const inRange: string[] = [];
  if (hi !== undefined) inRange.push(`min_time < ${params.add(chDateTime64(hi), "DateTime64(6, 'UTC')")}`);
  if (lo !== undefined) inRange.push(`toDateTime64(max_time, 6, 'UTC') + toIntervalSecond(1) > ${params.add(chDateTime64(lo), "DateTime64(6, 'UTC')")}`);
  const parts = [
    `database = ${params.add(src.database, 'String')}`,
    `table = ${params.add(rel.table, 'String')}`,
    'active',
    ...inRange,
  ].join(' AND ');
  // The parts up to the first at which the running count (newest first for DESC) reaches n + m.
  const [edge, order, op, past] = desc ? ['min_time', 'DESC', '>=', 'min'] : ['max_time', 'ASC', '<', 'max'];
  const counted = `SELECT ${edge}, rows, sum(rows) OVER (ORDER BY ${edge} ${order} ROWS UNBOUNDED PRECEDING) AS running FROM system.parts WHERE ${parts}`;
  const b = `toDateTime64(${past}(${edge}), 6, 'UTC')${desc ? '' : ' + toIntervalSecond(1)'}`;
  return { condition: `${time} ${op} (SELECT ${b} FROM (${counted}) WHERE running - rows < ${rows})`, rows: topN.rows };
}

/**
 * The subquery's B from a listing (part-listings.ts), in µs: the same parts in range, the
 * same running count. Undefined where B would prune no part in range (the bound would only
 * cost its own condition) or none is in range.
 */
export function boundOfListing(parts: readonly ListedPart[], desc: boolean, rows: bigint, lo?: bigint, hi?: bigint): bigint | undefined {
  const second = 1_000_000n;
  const inRange = parts.filter((p) => (hi === undefined || p.minUs < hi) && (lo === undefined || p.maxUs + second > lo));
  // ClickHouse leaves min_time / max_time at 0 where the partition key is not on a time column: nothing to bound by.
  if (inRange.some((p) => p.minUs === 0n && p.maxUs === 0n)) return undefined;
  const edge = (p: ListedPart) => (desc ? p.minUs : p.maxUs);
  const ordered = [...inRange].sort((a, b) => (edge(a) === edge(b) ? 0 : (edge(a) < edge(b)) === desc ? 1 : -1));
  let running = 0n;
  let taken = 0;
  while (taken < ordered.length && running < rows) running += ordered[taken++].rows;
  if (taken === 0 || taken === ordered.length) return undefined;
  const edges = ordered.slice(0, taken).map(edge);
  const b = edges.reduce((x, y) => ((y < x) === desc ? y : x));
  return desc ? b : b + second;
}

/**
 * The cold rows of `query`: its bounded read when that returns at least `latest.rows` rows
 * (then it is exact: see the header), else the unbounded read. Holds at most those first
 * rows' chunks in memory; the rest (ties) streams on.
 */
export async function latestRows(cold: Pick<ColdStore, 'queryTsvStream'>, query: ColdQuery): Promise<Readable> {
  const bounded = await cold.queryTsvStream(query.sql, query.params);
  if (!query.latest) return bounded;
  const chunks = bounded[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let lines = 0n;
  while (lines < query.latest.rows) {
    const next = await chunks.next();
    if (next.done) return cold.queryTsvStream(query.latest.unbounded.sql, query.latest.unbounded.params);
    const chunk: Buffer = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
    head.push(chunk);
    // TabSeparated escapes a value's newlines: one '\n' ends each row.
    for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines++;
  }
  return Readable.from(
    (async function* () {
      try {
        yield* head;
        for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value as Buffer;
      } finally {
        // A consumer that stops early (a failed COPY) releases the ClickHouse answer too.
        bounded.destroy();
      }
    })(),
    { objectMode: false },
  );
}

/**
 * How many rows `query` reads, by latestRows' rule (its bounded read when that reaches
 * `latest.rows`, else the unbounded one), counted by ClickHouse: nothing but the count
 * travels, and only the columns the cut orders by are read.
 */
export async function countLatestRows(cold: Pick<ColdStore, 'queryTsv'>, query: ColdQuery): Promise<bigint> {
  const count = async (q: ColdQuery) => BigInt((await cold.queryTsv(`SELECT count() FROM (${q.sql})`, q.params)).trim());
  const rows = await count(query);
  return !query.latest || rows >= query.latest.rows ? rows : count(query.latest.unbounded);
}
