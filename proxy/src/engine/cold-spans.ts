import { chIdent, chQualified, type ColdStore } from '@strata/core';
import type { Instant } from '../translate/instant';
import type { EngineLogger } from './engine-context';

/**
 * Where the visible cold rows of a raw table lie in time, per set of committed generations
 * (TierStateRow.generations), so a read leaves out the time conditions every one of them
 * meets (cold-time-conditions.ts) and groups by time cells without the floor's correction
 * for instants before 1970 (plan.ts flooredTime). Each cost chDB a comparison per row read:
 * bench/cold 3M rows, the day-per-host maximum, 73.6 → 67.7 ms without the range's lower
 * bound, 70.5 → 66.4 without the correction, against 57.4 hand-written.
 *
 * Why it is a premise, not a hint: a tiering run writes its rows to ClickHouse before it
 * commits its generation, and nothing writes rows of a generation after that commit —
 * cold deletes and TTL only remove rows, merges and mutations keep the rest. So once a
 * statement has seen a generation set committed, every row it can ever see is in some
 * active part, and the least and greatest time over every part bound it. ClickHouse
 * answers `min`/`max` of the time column from each part's minmax index (the raw table is
 * partitioned by a function of it: ddl/clickhouse.ts; EXPLAIN shows
 * `_minmax_count_projection`), exactly, to the µs — not system.parts' min_time/max_time,
 * a DateTime that wraps around outside 1970–2106 (1960 read as 2096 in chDB). Rows of
 * uncommitted runs are counted too and only widen the span. The span is read in the
 * background after a statement of a new generation set finds none (the statement keeps
 * every condition), and kept for that set, never expiring.
 *
 * Not for cold-only tables: the gateway writes their rows straight to ClickHouse, at any
 * time and of any time, all in generation 0 — their generation set never changes while
 * rows keep arriving (as for rollups, rollup-plan.ts).
 */
export interface ColdSpan {
  /** Every visible cold row's time is in [lo, hi] (µs since the epoch). */
  lo: Instant;
  hi: Instant;
}

/**
 * The least and greatest time of `table`'s rows that `where` admits (none: every row, which
 * ClickHouse answers from the parts' minmax index), or undefined where there is none.
 */
export async function readTimeSpan(cold: Pick<ColdStore, 'queryTsv'>, database: string, table: string, timeColumn: string, where = ''): Promise<ColdSpan | undefined> {
  const t = chIdent(timeColumn);
  const tsv = await cold.queryTsv(
    `SELECT toString(count()), toString(toUnixTimestamp64Micro(min(${t}))), toString(toUnixTimestamp64Micro(max(${t}))) FROM ${chQualified(database, table)}${where ? ` ${where}` : ''}`,
  );
  const [rows, min, max] = tsv.trim().split('\t');
  return rows === '0' ? undefined : { lo: BigInt(min), hi: BigInt(max) };
}

/** Generation sets kept (a few are in use at once: snapshots straddling a tiering commit, several tables). */
const MAX_ENTRIES = 256;

export class ColdSpans {
  private readonly known = new Map<string, ColdSpan | null>();
  private readonly reading = new Set<string>();

  constructor(
    private readonly cold: Pick<ColdStore, 'queryTsv'>,
    private readonly database: string,
    private readonly logger?: EngineLogger,
  ) {}

  /** The span of the raw table's visible rows under `generations`, if read; else read in the background. */
  of(table: string, timeColumn: string, generations: string): ColdSpan | undefined {
    const key = `${table}\u0000${generations}`;
    const span = this.known.get(key);
    if (span === undefined) this.read(key, table, timeColumn);
    return span ?? undefined;
  }

  private read(key: string, table: string, timeColumn: string): void {
    if (this.reading.has(key)) return;
    this.reading.add(key);
    readTimeSpan(this.cold, this.database, table, timeColumn)
      .then((found) => {
        if (this.known.size >= MAX_ENTRIES) this.known.delete(this.known.keys().next().value!);
        // No row: null (asked, nothing to leave out).
        this.known.set(key, found ?? null);
      })
      // Only the table: a ClickHouse message can quote the statement.
      .catch(() => this.logger?.debug({ table }, 'cold span not read'))
      .finally(() => this.reading.delete(key));
  }
}
