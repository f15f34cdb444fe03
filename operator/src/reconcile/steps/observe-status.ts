import { tableStatuses } from '@strata/core';
import { CONDITION, REASON } from '../../conditions';
import { DEFAULT_CLICKHOUSE_DATABASE } from '../../connections';
import { CONTINUE, type ReconcileStep } from '../state';

/**
 * Step 7. Reads what the tiers hold now (core's tableStatuses: one REPEATABLE READ
 * snapshot of the catalog, visible cold rows only): watermark, rows per tier, lag and
 * the last tiering run, whoever ran it (CronJob, in-process scheduler, `strata tier`).
 * The same facts become the operator's per-table tiering metrics (tiering-metrics.ts).
 */
export const observeStatus: ReconcileStep = {
  name: 'status',
  async run(deps, state) {
    const spec = state.spec!;
    const database = state.settings?.clickhouse?.database ?? DEFAULT_CLICKHOUSE_DATABASE;
    const all = await tableStatuses(state.hot!, state.cold, { database }, deps.now());
    const s = all.find((t) => t.table === spec.table);
    if (!s) return CONTINUE;
    deps.metrics.tables.observe({ namespace: state.obj.metadata.namespace ?? 'default', table: spec.table }, s);
    const watermark = Date.parse(s.watermark);
    const finite = Number.isFinite(watermark);
    state.observed = {
      // ±infinity (before the first run, cold-only) is not a date-time: leave it out.
      ...(finite ? { watermark: new Date(watermark).toISOString() } : {}),
      ...(s.rowsHot !== null ? { rowsHot: s.rowsHot } : {}),
      ...(s.rowsCold !== null ? { rowsCold: s.rowsCold } : {}),
      ...(finite && s.lagSeconds !== null ? { lagSeconds: s.lagSeconds } : {}),
      ...(s.lastRun.finishedAt
        ? {
            lastTiering: {
              ...(s.lastRun.rows !== null ? { rows: s.lastRun.rows } : {}),
              ...(s.lastRun.durationMs !== null ? { durationMs: s.lastRun.durationMs } : {}),
              ...(s.lastRun.error ? { error: s.lastRun.error } : {}),
              finishedAt: s.lastRun.finishedAt,
            },
          }
        : {}),
    };
    if (spec.mode === 'cold-only') state.set(CONDITION.tieringHealthy, 'True', REASON.notTiered, 'cold-only: rows are written to ClickHouse directly');
    else if (s.lastRun.error) state.set(CONDITION.tieringHealthy, 'False', REASON.tieringFailed, s.lastRun.error);
    else if (s.lastRun.finishedAt) state.set(CONDITION.tieringHealthy, 'True', REASON.tieringSucceeded, `last run moved ${s.lastRun.rows ?? 0} rows${quarantineNote(s.rowsQuarantined)}`);
    else state.set(CONDITION.tieringHealthy, 'True', REASON.noRunYet, `first run due within ${spec.tiering.every}`);
    return CONTINUE;
  },
};

/** Rows runs set aside (values the cold tier cannot hold) wait in strata.quarantine for a person: say so where `kubectl get` shows it. */
function quarantineNote(rows: number | null): string {
  return rows ? `; ${rows} row${rows === 1 ? '' : 's'} set aside in strata.quarantine (values the cold tier cannot hold)` : '';
}
