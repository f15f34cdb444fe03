import { parseDuration, parseRollupStarts, pgTextArrayLiteral, READ_ROLLUP_STARTS_SQL, rollupStartKey } from '@strata/core';
import type { Instant } from '../translate/instant';
import type { HotSession } from './hot-session';
import { coldRange, type OccurrencePlan, type StatementPlan } from './plan';
import { nanGuardedColumns, rollupRange, rawBucketRanges, type RollupRead } from './rollup-plan';
import type { RollupReadPolicy } from './rollup-read-policy';
import type { TierStateRow } from './statement-tables';

/** `SET strata.rollups = off`: the session reads raw cold rows where a rollup could serve (for comparisons). */
export const ROLLUPS_SETTING = 'strata.rollups';

const OFF = /^(off|false|no|0|f|n)$/i;

/**
 * What a rollup read depends on in the session and its snapshot ($1: the raw tables): the
 * session's setting, the highest generation a cold delete of each table reaches, the
 * rollups' recorded starts. Read with the tier states where a table has rollups
 * (statement-tables.ts), so a rollup read costs no round trip of its own.
 */
export const ROLLUP_CONTEXT_SQL = `SELECT current_setting('${ROLLUPS_SETTING}', true),
            (SELECT json_object_agg(table_name, max_gen::text) FROM (SELECT table_name, max(max_gen) AS max_gen
               FROM strata.cold_deletes WHERE table_name = ANY($1::text[]) GROUP BY table_name) d)::text,
            (${READ_ROLLUP_STARTS_SQL})`;

/** ROLLUP_CONTEXT_SQL's row for `tables`: used where they include every table a rollup could serve (else read again). */
export interface RollupContext {
  tables: readonly string[];
  row: ReadonlyArray<string | null>;
}

/**
 * Decides, once the statement's bounds are known, which rollup candidates (plan time,
 * rollup-plan.ts) are read and for which whole buckets; sets `occ.rollupRead`. Read in
 * the client's session and snapshot: the setting (PostgreSQL's own custom placeholder,
 * so SET LOCAL, RESET and transactions behave as PostgreSQL's settings do) and the
 * highest generation any cold delete of the table reaches (`context`, where already read).
 * Only when a rollup could serve.
 * Then, from what the rollup covers for the statement's generations (rollup-coverage.ts,
 * cached per generation set), which parts of its buckets need raw rows after all.
 */
export async function chooseRollupReads(
  hot: HotSession,
  plan: StatementPlan,
  states: Map<string, TierStateRow>,
  values: Instant[],
  policy?: RollupReadPolicy,
  nowUs?: Instant,
  context?: RollupContext,
): Promise<void> {
  const now = nowUs ?? BigInt(Date.now()) * 1000n;
  let reads: Array<{ occ: OccurrencePlan; read: RollupRead }> = [];
  for (const occ of plan.occurrences) {
    const c = occ.rollup;
    const state = states.get(occ.relation.table);
    if (!c || !state) continue;
    const coldRetention = occ.relation.coldRetention ? BigInt(parseDuration(occ.relation.coldRetention)) * 1000n : undefined;
    const cold = coldRange(occ, values, state.w);
    const range = rollupRange(c, cold, now, coldRetention);
    if (!range) continue;
    // Raw rows outside the whole buckets: below them unless the cold range starts at the first, above unless it ends at the last.
    const edges = { below: !(cold.lo === range.from && cold.loInclusive), above: !(cold.hi === range.to && !cold.hiInclusive) };
    reads.push({ occ, read: { candidate: c, ...range, edges, generations: state.generations, firstGen: 0n, olderRaw: false, rawBuckets: [], bucketBounds: { from: true, to: true } } });
  }
  if (reads.length === 0) return;
  const tables = [...new Set(reads.map((r) => r.occ.relation.table))];
  const covered = context !== undefined && tables.every((t) => context.tables.includes(t));
  const [setting, deleted, started] = covered ? context.row : ((await hot.query(ROLLUP_CONTEXT_SQL, [pgTextArrayLiteral(tables)])).rows[0] ?? []);
  // Unset: the engine's default (on unless rollupReads is false); `on` reads, `off` does not.
  if (!policy || (setting ? OFF.test(setting.trim()) : !policy.readByDefault)) return;
  // Only for sessions that read rollups: the density check may ask ClickHouse (cached a minute).
  const worth = await policy.density.worthReading(reads.map((r) => ({ raw: r.occ.relation.table, rollup: r.read.candidate.table })));
  reads = reads.filter((r) => worth.has(r.read.candidate.table));
  const upTo = JSON.parse(deleted ?? '{}') as Record<string, string>;
  const starts = parseRollupStarts(started);
  for (const { occ, read } of reads) {
    const d = upTo[occ.relation.table];
    const deletedUpTo = d === undefined ? undefined : BigInt(d);
    const nanColumns = nanGuardedColumns(occ);
    const cov = await policy.coverage.coverage({ raw: occ.relation.table, rollup: read.candidate.table, timeColumn: occ.relation.timeColumn, generations: read.generations, nanColumns });
    // No visible rollup row: nothing to read from it. Too many NaN buckets: raw partials are simpler.
    if (cov.firstGen === undefined || cov.nanBuckets === undefined) continue;
    const rawBuckets = rawBucketRanges(cov.nanBuckets, read);
    if (rawBuckets === undefined) continue;
    // Rollup rows of generations a cold delete reaches are not read: from the first one above.
    let firstGen = deletedUpTo !== undefined && deletedUpTo >= cov.firstGen ? deletedUpTo + 1n : cov.firstGen;
    // A rollup added to the table after its first run is built from its recorded start on; rows
    // below it in its table are from before it was removed and added back, with generations
    // between that have none (catalog rollup-starts.ts): those generations are read raw.
    const start = starts.get(rollupStartKey(occ.relation.table, read.candidate.spec.name));
    const startGen = start !== undefined && start > firstGen ? start : undefined;
    if (startGen !== undefined) firstGen = startGen;
    const olderRaw = firstGen > cov.firstGen || (cov.olderRaw !== undefined && cov.olderRaw.lo < read.to && cov.olderRaw.hi >= read.from);
    // An edge where the raw table holds no row is not read (a range unbounded below, e.g.).
    const edges = { below: read.edges.below && cov.raw !== undefined && cov.raw.lo < read.from, above: read.edges.above && cov.raw !== undefined && cov.raw.hi >= read.to };
    // A bound every visible bucket meets selects nothing: not sent (rollup-coverage.ts `buckets`).
    const span = cov.buckets;
    const bucketBounds = { from: span === undefined || span.lo < read.from, to: span === undefined || span.hi >= read.to };
    occ.rollupRead = { ...read, edges, bucketBounds, ...(deletedUpTo === undefined ? {} : { deletedUpTo }), ...(startGen === undefined ? {} : { startGen }), firstGen, olderRaw, rawBuckets };
  }
}
