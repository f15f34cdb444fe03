import { parseDuration, pgTextArrayLiteral } from '@strata/core';
import type { Instant } from '../translate/instant';
import type { HotSession } from './hot-session';
import { coldRange, type OccurrencePlan, type StatementPlan } from './plan';
import { rollupRange, type RollupRead } from './rollup-plan';
import type { RollupDensity } from './rollup-density';
import type { TierStateRow } from './statement-tables';

/** `SET strata.rollups = off`: the session reads raw cold rows where a rollup could serve (for comparisons). */
export const ROLLUPS_SETTING = 'strata.rollups';

const OFF = /^(off|false|no|0|f|n)$/i;

/**
 * Decides, once the statement's bounds are known, which rollup candidates (plan time,
 * rollup-plan.ts) are read and for which whole buckets; sets `occ.rollupRead`. Read in
 * the client's session and snapshot: the setting (PostgreSQL's own custom placeholder,
 * so SET LOCAL, RESET and transactions behave as PostgreSQL's settings do) and the
 * highest generation any cold delete of the table reaches. Only when a rollup could serve.
 */
export async function chooseRollupReads(
  hot: HotSession,
  plan: StatementPlan,
  states: Map<string, TierStateRow>,
  values: Instant[],
  density?: RollupDensity,
  nowUs?: Instant,
): Promise<void> {
  const now = nowUs ?? BigInt(Date.now()) * 1000n;
  let reads: Array<{ occ: OccurrencePlan; read: RollupRead }> = [];
  for (const occ of plan.occurrences) {
    const c = occ.rollup;
    const state = states.get(occ.relation.table);
    if (!c || !state) continue;
    const coldRetention = occ.relation.coldRetention ? BigInt(parseDuration(occ.relation.coldRetention)) * 1000n : undefined;
    const range = rollupRange(c, coldRange(occ, values, state.w), now, coldRetention);
    if (range) reads.push({ occ, read: { candidate: c, ...range, generations: state.generations } });
  }
  if (reads.length === 0) return;
  const tables = [...new Set(reads.map((r) => r.occ.relation.table))];
  const r = await hot.query(
    `SELECT current_setting('${ROLLUPS_SETTING}', true),
            (SELECT json_object_agg(table_name, max_gen::text) FROM (SELECT table_name, max(max_gen) AS max_gen
               FROM strata.cold_deletes WHERE table_name = ANY($1::text[]) GROUP BY table_name) d)::text`,
    [pgTextArrayLiteral(tables)],
  );
  const [setting, deleted] = r.rows[0] ?? [];
  // Unset: the engine's default (off unless rollupReads); `on` reads, `off` does not.
  if (setting ? OFF.test(setting.trim()) : !density?.readByDefault) return;
  // Only for sessions that read rollups: the density check may ask ClickHouse (cached a minute).
  if (density) {
    const worth = await density.worthReading(reads.map((r) => ({ raw: r.occ.relation.table, rollup: r.read.candidate.table })));
    reads = reads.filter((r) => worth.has(r.read.candidate.table));
  }
  const upTo = JSON.parse(deleted ?? '{}') as Record<string, string>;
  for (const { occ, read } of reads) {
    const d = upTo[occ.relation.table];
    occ.rollupRead = d === undefined ? read : { ...read, deletedUpTo: BigInt(d) };
  }
}
