import { applyTable, ApplyRefusedError, clickhouseDdl, postgresDdl } from '@strata/core';
import { CONDITION, REASON } from '../../conditions';
import { DEFAULT_CLICKHOUSE_DATABASE } from '../../connections';
import { EVENT_REASON } from '../../events';
import { ownerOf, recordOwner } from '../../table-owner';
import { CONTINUE, type ReconcileStep } from '../state';

/**
 * Steps 3–5: hot table, cold tables and rollups, schema evolution. core's applyTable
 * does the three as one unit on purpose (PostgreSQL DDL in one transaction with the
 * catalog row, ClickHouse DDL idempotent before COMMIT), so they cannot half-happen;
 * this step reports each outcome as its own condition and Event.
 */
export const provisionTables: ReconcileStep = {
  name: 'tables',
  async run(deps, state) {
    const spec = state.spec!;
    const database = state.settings?.clickhouse?.database ?? DEFAULT_CLICKHOUSE_DATABASE;
    let result;
    try {
      result = await applyTable({ hot: state.hot!, cold: state.cold, coldTarget: { database } }, spec, deps.now());
    } catch (err) {
      if (err instanceof ApplyRefusedError) {
        const message = err.reasons.join('; ');
        const prev = state.conditions.find((c) => c.type === CONDITION.schemaInSync);
        state.set(CONDITION.schemaInSync, 'False', REASON.changeRefused, message);
        if (!(prev?.reason === REASON.changeRefused && prev.observedGeneration === state.generation)) {
          await deps.events.record(state.obj, 'Warning', EVENT_REASON.changeRefused, message);
        }
        return { next: false, transient: false };
      }
      const cold = (err as Error).name === 'ColdStoreError';
      if (cold) state.cold = undefined;
      if (cold) state.set(CONDITION.coldReady, 'False', REASON.coldUnavailable, `ClickHouse: ${(err as Error).message}`);
      else state.set(CONDITION.hotReady, 'False', REASON.hotUnavailable, `PostgreSQL: ${(err as Error).message}`);
      state.set(CONDITION.schemaInSync, 'False', REASON.applyFailed, (err as Error).message);
      return { next: false, transient: true, error: err as Error };
    }

    // Under claimTable's lock: the table is registered now, unowned or already ours.
    if (!(await recordOwner(state.hot!, spec.table, ownerOf(state.obj)))) {
      throw new Error(`table ${spec.table}: owner not recorded (registry row changed under the lock)`);
    }

    if (spec.mode === 'cold-only') state.set(CONDITION.hotReady, 'True', REASON.notUsed, 'cold-only: rows are written to ClickHouse directly');
    else state.set(CONDITION.hotReady, 'True', REASON.hotTableReady, `${postgresDdl.hotTable(spec)} (${result.flavor === 'timescaledb' ? 'hypertable' : 'native range partitions'})`);
    if (spec.mode === 'hot-only') state.set(CONDITION.coldReady, 'True', REASON.notUsed, 'hot-only: no ClickHouse tier');
    else {
      const rollups = spec.rollups.map((r) => clickhouseDdl.rollupTableName(spec, r));
      state.set(CONDITION.coldReady, 'True', REASON.coldTableReady, [`${database}.${clickhouseDdl.rawTableName(spec)}`, ...rollups].join(', '));
    }
    state.set(CONDITION.schemaInSync, 'True', REASON.inSync, `both tiers match generation ${state.generation}`);

    if (result.action !== 'unchanged') {
      const reason = result.action === 'created' ? EVENT_REASON.created : EVENT_REASON.updated;
      await deps.events.record(state.obj, 'Normal', reason, `${result.action}: ${result.changes.join('; ')}`);
      deps.log.info({ key: state.key, action: result.action, changes: result.changes }, 'tables provisioned');
    }
    return CONTINUE;
  },
};
