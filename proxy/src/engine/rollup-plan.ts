import { chIdent, chQualified, clickhouseDdl, floatSumPartialCh, parseDuration, type RollupSpec } from '@strata/core';
import { rollupRelationName } from '../router/rollup-relations';
import type { ChParams } from '../translate/ch-params';
import { isFloatKind } from '../translate/column-scope';
import { chDateTime64, isoInstant, type Instant } from '../translate/instant';
import type { TimePredicate, TimeRange } from '../translate/time-predicate';
import { ROWS_COLUMN } from './partial-aggregate';
// plan.ts imports this module too; these are only called once both are loaded.
import { chText, type ColdQuery, type OccurrencePlan, type PartialTableColumn } from './plan';

/**
 * Rollups as a pre-computed source of the partial rows partial-aggregate.ts asks the
 * cold tier for. A rollup row (bucket, groupBy…, count/sum/min/max partials, _rows,
 * generation) is the partial of the raw rows of one tiering run in one bucket, so for an
 * occurrence whose partial shape it covers, its rows may stand for raw rows wherever the
 * rollup provably holds every raw row's contribution, and PostgreSQL combines them with
 * the hot rows and the remaining raw partials exactly as before. Covered means:
 *   - the time column is only used at a granularity g the rollup's interval I divides
 *     (both floor from the Unix epoch), so a rollup bucket lies inside one g-bucket;
 *   - every other column the query evaluates (GROUP BY, WHERE, HAVING, set-valued
 *     aggregates) is among the rollup's groupBy, and every partial (count, sum, min,
 *     max of a column) is among its aggregates. min/max of a float column also needs
 *     the column's sum: ClickHouse's min/max skip NaN while PostgreSQL orders NaN above
 *     every number, so the buckets with a NaN sum (rollup-coverage.ts) are read raw;
 *   - sum is only a partial for float8 (its rollup sum is a Float64, as the partial path's
 *     is); integer sums and avg of integers stay on raw rows (numeric results);
 *   - the time conditions are plain bounds (no OR, no approximate bound);
 *   - per statement (rollup-reads.ts): the bucket range [from, to) is whole buckets inside
 *     the cold range, within both retentions (TTL may drop rollup buckets and raw rows),
 *     and the session has not `SET strata.rollups = off`.
 * Cold deletes: a tombstone removes raw rows of generations ≤ its max_gen and is never
 * applied to rollup rows, so rollup rows of those generations are never read: they are
 * read raw (with the pending tombstones filtered, as every raw read), applied or not.
 * Generations: a rollup is built by the same tiering run that writes the raw rows,
 * before that run commits, so every visible generation at or above the lowest one with
 * rollup rows has its rollup rows; raw rows of older generations (moved before the rollup
 * existed) are read raw where they lie. Rollup rows are filtered by the same committed
 * generations as raw rows. What the rollup covers is read once per set of committed
 * generations (rollup-coverage.ts), not by the statement: in the common case (no edges,
 * no older generation, no NaN) the statement is one SELECT over the rollup.
 */

export interface RollupCandidate {
  spec: RollupSpec;
  /** ClickHouse table name (in the cold database). */
  table: string;
  intervalUs: bigint;
  retentionUs?: bigint;
}

/** The whole rollup buckets [from, to) this statement reads from the rollup, and what in them is read raw. */
export interface RollupRead {
  candidate: RollupCandidate;
  from: Instant;
  to: Instant;
  /** The cold range has instants below `from` / at or above `to` (read raw). */
  edges: { below: boolean; above: boolean };
  /**
   * The highest max_gen of the table's cold deletes, applied or not: rollup rows of
   * generations up to it may hold rows a DELETE removed, so those generations are read raw.
   */
  deletedUpTo?: bigint;
  /**
   * The rollup's recorded first generation (catalog rollup-starts.ts), when its table holds
   * rows of generations below it (from before it was removed and added back): not read.
   */
  startGen?: bigint;
  /** The statement's committed generations (rollup rows carry the generation of the run that built them). */
  generations: string;
  /** Rollup rows are read from this generation on (rollup-coverage.ts; above deletedUpTo). */
  firstGen: bigint;
  /** Raw rows of generations below firstGen may lie in [from, to): read raw. */
  olderRaw: boolean;
  /** Whole buckets inside [from, to) read raw, ascending and apart: a NaN sum there (see `serves`). */
  rawBuckets: Array<{ from: Instant; to: Instant }>;
  /**
   * Whether `bucket >= from` / `bucket < to` can leave out a visible rollup row; false where
   * every visible bucket lies inside (rollup-coverage.ts `buckets`), and the bound is not sent.
   */
  bucketBounds: { from: boolean; to: boolean };
}

const SECOND = 1_000_000n;

function durationUs(text: string): bigint | undefined {
  const ms = parseDuration(text);
  return Number.isInteger(ms) && ms > 0 ? BigInt(ms) * 1000n : undefined;
}

/** Plain bounds only: a conjunction of exact comparisons (its range is exactly the rows it accepts). */
function plainBounds(p: TimePredicate): boolean {
  return p.kind === 'and' ? p.args.every(plainBounds) : p.kind === 'cmp' && !p.slack;
}

function serves(occ: OccurrencePlan, r: RollupSpec, intervalUs: bigint): boolean {
  const shape = occ.partial!;
  // Aggregates ClickHouse computes whole over every row (whole-aggregate.ts) need raw rows.
  if (shape.wholes.length > 0) return false;
  // A rollup holds no per-row condition: a FILTER evaluated in ClickHouse needs raw rows.
  if (shape.partials.some((p) => p.filter)) return false;
  const g = shape.timeGranularity;
  if (g !== undefined && (g === 0n || g % intervalUs !== 0n)) return false;
  const group = new Set(r.groupBy);
  if (!shape.groupColumns.every((c) => group.has(c))) return false;
  if (![...occ.pushedColumns].every((c) => group.has(c))) return false;
  const kept = (col: string) => clickhouseDdl.partialsFor(r.aggregates[col] ?? []) as string[];
  return shape.partials.every((p) => {
    const kind = occ.relation.columns.find((c) => c.name === p.column)?.kind;
    const has = kept(p.column);
    if (!has.includes(p.fn)) return false;
    if (p.fn === 'sum') return isFloatKind(kind);
    if ((p.fn === 'min' || p.fn === 'max') && isFloatKind(kind)) return has.includes('sum');
    return true;
  });
}

/**
 * The coarsest rollup of the occurrence's table that serves its partial shape, if any
 * (plan time: the bounds are not known yet); of equal intervals, the one grouped by the
 * fewest columns (the fewest rows).
 */
export function rollupCandidate(occ: OccurrencePlan): RollupCandidate | undefined {
  const rel = occ.relation;
  // Cold-only tables are written to ClickHouse directly, not by tiering runs that build rollups.
  if (!rel.rollups || rel.mode === 'cold-only' || occ.mode !== 'partial') return undefined;
  if (!occ.timePredicates.every(plainBounds)) return undefined;
  let best: RollupCandidate | undefined;
  for (const r of rel.rollups) {
    const us = durationUs(r.interval);
    if (us === undefined || us % SECOND !== 0n || !serves(occ, r, us)) continue;
    if (best && (best.intervalUs > us || (best.intervalUs === us && best.spec.groupBy.length <= r.groupBy.length))) continue;
    const retention = r.retention ?? rel.coldRetention;
    best = { spec: r, table: rollupRelationName(rel.table, r.name), intervalUs: us, retentionUs: retention ? durationUs(retention) : undefined };
  }
  return best;
}

/** Margin below a retention's edge: ClickHouse's clock and TTL merges are not the proxy's. */
const RETENTION_MARGIN_US = 3600n * SECOND;

function ceilTo(t: Instant, i: bigint): Instant {
  const r = ((t % i) + i) % i;
  return r === 0n ? t : t - r + i;
}

function floorTo(t: Instant, i: bigint): Instant {
  return t - (((t % i) + i) % i);
}

/**
 * The whole buckets of `cold` (the occurrence's cold range) the rollup is read for, or
 * undefined. `nowUs`: the proxy's clock, for retention; `coldRetention`: the raw rows'.
 */
/** At most this many runs of NaN buckets are read raw inside a rollup read; past it the statement reads raw partials. */
export const MAX_RAW_BUCKET_RANGES = 64;

/** The float columns whose min/max the occurrence reads: a NaN sum in their bucket sends it to raw rows. */
export function nanGuardedColumns(occ: OccurrencePlan): string[] {
  const floats = occ.partial!.partials.filter((p) => (p.fn === 'min' || p.fn === 'max') && isFloatKind(kindOf(occ, p.column)));
  return [...new Set(floats.map((p) => p.column))];
}

/** The NaN buckets inside [from, to) as runs of adjacent buckets; undefined past MAX_RAW_BUCKET_RANGES. */
export function rawBucketRanges(nanBuckets: Instant[], read: { candidate: RollupCandidate; from: Instant; to: Instant }): Array<{ from: Instant; to: Instant }> | undefined {
  const i = read.candidate.intervalUs;
  const out: Array<{ from: Instant; to: Instant }> = [];
  for (const b of nanBuckets) {
    if (b < read.from || b >= read.to) continue;
    const last = out[out.length - 1];
    if (last && last.to === b) last.to = b + i;
    else out.push({ from: b, to: b + i });
  }
  return out.length > MAX_RAW_BUCKET_RANGES ? undefined : out;
}

export function rollupRange(c: RollupCandidate, cold: TimeRange, nowUs: Instant, coldRetentionUs: bigint | undefined): { from: Instant; to: Instant } | undefined {
  const i = c.intervalUs;
  let from = ceilTo(cold.lo, i);
  if (!cold.loInclusive && from === cold.lo) from += i;
  const to = floorTo(cold.hi, i);
  // Buckets before 1970 round the wrong way in toStartOfInterval.
  if (from < 0n) from = 0n;
  for (const keep of [c.retentionUs, coldRetentionUs]) {
    const kept = keep === undefined ? undefined : ceilTo(nowUs - keep + RETENTION_MARGIN_US, i);
    if (kept !== undefined && kept > from) from = kept;
  }
  return from < to ? { from, to } : undefined;
}

export interface ColdParts {
  /** The raw table, qualified. */
  from: string;
  /** The raw cold read's conditions (time predicates, below W, pushed, visibility with pending deletes). */
  where: string[];
  database: string;
}

/**
 * The partial rows of a rollup-served occurrence, in partialColumns' order and text: the
 * rollup's rows for its whole buckets, and only where something needs them, one SELECT
 * of raw partials for the rest — the edges of the cold range outside the buckets, raw
 * rows of generations below the rollup's first (or reached by cold deletes), and the
 * buckets with a NaN sum when a float min/max is asked. Each raw row matches one of
 * those pieces at most, each rollup row is read once. PostgreSQL sums the partial rows
 * as it sums any.
 */
export function rollupColdQuery(occ: OccurrencePlan, read: RollupRead, cols: PartialTableColumn[], parts: ColdParts): ColdQuery {
  const rel = occ.relation;
  const params: ChParams = occ.params;
  const c = read.candidate;
  const bucket = chIdent(clickhouseDdl.ROLLUP_BUCKET_COLUMN);
  const gen = chIdent(clickhouseDdl.GEN_COLUMN);
  const time = chIdent(rel.timeColumn);
  const dt = "DateTime64(6, 'UTC')";
  const at = (t: Instant) => params.add(chDateTime64(t), dt);
  const from = at(read.from);
  const to = at(read.to);
  const nanRuns = read.rawBuckets.map((r) => ({ from: at(r.from), to: at(r.to) }));
  const inRuns = (col: string) => nanRuns.map((r) => `(${col} >= ${r.from} AND ${col} < ${r.to})`).join(' OR ');

  const rollupCols = rollupColumns(occ, cols);
  // Pending deletes reach only generations ≤ deletedUpTo, and rows below a rollup's start are
  // from before it was last added: neither is read from the rollup.
  const rollupWhere = [
    ...(read.bucketBounds.from ? [`${bucket} >= ${from}`] : []),
    ...(read.bucketBounds.to ? [`${bucket} < ${to}`] : []),
    ...occ.pushed,
    read.generations,
    ...(read.deletedUpTo === undefined && read.startGen === undefined ? [] : [`${gen} >= ${read.firstGen}`]),
    ...(nanRuns.length > 0 ? [`NOT (${inRuns(bucket)})`] : []),
  ];
  const rollupKeys = rollupCols.filter((x) => x.key !== undefined).map((x) => x.key!);
  // Grouped rows are never empty; an ungrouped read of no row gives one row, which HAVING drops.
  const fromRollup =
    `SELECT ${rollupCols.map((x) => x.expr).join(', ')} FROM ${chQualified(parts.database, c.table)} WHERE ${rollupWhere.join(' AND ')}` +
    (rollupKeys.length > 0 ? ` GROUP BY ${rollupKeys.join(', ')}` : ' HAVING count() > 0');

  const inBuckets = `${time} >= ${from} AND ${time} < ${to}`;
  const rawPieces = [
    ...(read.edges.below ? [`${time} < ${from}`] : []),
    ...(read.edges.above ? [`${time} >= ${to}`] : []),
    ...(read.olderRaw ? [`${inBuckets} AND ${gen} < ${read.firstGen}`] : []),
    ...(nanRuns.length > 0 ? [`(${inRuns(time)})${read.olderRaw ? ` AND ${gen} >= ${read.firstGen}` : ''}`] : []),
  ];
  if (rawPieces.length === 0) return { sql: fromRollup, params: params.values };
  const keys = cols.filter((x) => x.chKey !== undefined).map((x) => x.chKey!);
  const pieces = rawPieces.length === 1 ? rawPieces[0] : rawPieces.map((p) => `(${p})`).join(' OR ');
  const raw =
    `SELECT ${cols.map((x) => x.chExpr).join(', ')} FROM ${parts.from} WHERE ${[...parts.where, `(${pieces})`].join(' AND ')}` +
    `${keys.length > 0 ? ` GROUP BY ${keys.join(', ')}` : ''} HAVING count() > 0`;
  return { sql: `${fromRollup} UNION ALL ${raw}`, params: params.values };
}

function kindOf(occ: OccurrencePlan, column: string): string {
  return occ.relation.columns.find((c) => c.name === column)?.kind ?? '';
}

/** The rollup's expression for each partial column (same names, order and text as the raw ones). */
function rollupColumns(occ: OccurrencePlan, cols: PartialTableColumn[]): Array<{ expr: string; key?: string }> {
  const rel = occ.relation;
  const shape = occ.partial!;
  const bucket = chIdent(clickhouseDdl.ROLLUP_BUCKET_COLUMN);
  return cols.map((col) => {
    if (col.name === rel.timeColumn && shape.timeGranularity !== undefined) {
      // The raw key floors the time column to g; the rollup's bucket floors into the same
      // g-bucket. Buckets read are never before 1970 (rollupRange), so an integer division
      // floors, and grouping by the integer is cheaper than by the instant.
      const g = shape.timeGranularity;
      const key = `intDiv(toUnixTimestamp64Micro(${bucket}), ${g})`;
      return { expr: chText(`fromUnixTimestamp64Micro(${key} * ${g}, 'UTC')`, kindOf(occ, rel.timeColumn)), key };
    }
    if (col.name === ROWS_COLUMN) return { expr: `sum(${chIdent(clickhouseDdl.ROLLUP_ROWS_COLUMN)})` };
    const p = shape.partials.find((x) => x.name === col.name);
    if (!p) return { expr: col.chExpr, key: col.chKey }; // a groupBy column, same name in the rollup
    const stored = chIdent(`${p.column}__${p.fn}`);
    switch (p.fn) {
      case 'count':
        return { expr: `sum(${stored})` };
      case 'sum':
        return { expr: floatSumPartialCh(p.signedZero, stored) };
      default:
        // Buckets with a NaN sum are read raw (rawBuckets): elsewhere plain min/max agree with PostgreSQL's.
        return { expr: chText(`${p.fn}(${stored})`, kindOf(occ, p.column)) };
    }
  });
}

/** EXPLAIN's words for a rollup read. */
export function rollupReadText(read: RollupRead): string {
  const raw = [
    ...(read.edges.below || read.edges.above ? ['raw rows outside them'] : []),
    ...(read.deletedUpTo === undefined ? [] : [`generations ≤ ${read.deletedUpTo} (reached by cold deletes) read raw`]),
    ...(read.olderRaw ? [`generations below ${read.firstGen} read raw`] : []),
    ...(read.rawBuckets.length > 0 ? [`${read.rawBuckets.length} run(s) of buckets with a NaN sum read raw`] : []),
    ...(read.bucketBounds.from && read.bucketBounds.to ? [] : [`bucket bounds every visible rollup row meets not sent`]),
  ];
  return (
    `partial aggregates from rollup ${read.candidate.spec.name} (${read.candidate.table}, interval ${read.candidate.spec.interval}) ` +
    `for the buckets from ${isoInstant(read.from)} to ${isoInstant(read.to)}${raw.map((r) => `, ${r}`).join('')},`
  );
}
