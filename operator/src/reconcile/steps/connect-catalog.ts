import { migrate } from '@strata/core';
import { CONDITION, REASON } from '../../conditions';
import { resolveConnection } from '../../connections';
import { OperatorError } from '../../errors';
import { CONTINUE, type ReconcileStep } from '../state';

/**
 * Step 2. Resolves connection settings (Secret or operator defaults), connects to
 * PostgreSQL and brings the strata catalog schema up to date, and checks ClickHouse
 * answers when the table uses it. Unreachable stores are transient: HotReady /
 * ColdReady go False with a reason and the key retries with backoff until they return.
 */
export const connectCatalog: ReconcileStep = {
  name: 'catalog',
  async run(deps, state) {
    const spec = state.spec!;
    try {
      state.settings = await resolveConnection(deps.kube, state.obj, deps.defaultConnection, deps.operatorNamespace);
    } catch (err) {
      const e = err as OperatorError;
      state.set(CONDITION.hotReady, 'False', REASON.connectionConfig, e.message);
      return { next: false, transient: e.transient, error: e };
    }
    try {
      state.hot = await deps.connections.openHot(state.settings);
      await migrate(state.hot);
    } catch (err) {
      state.set(CONDITION.hotReady, 'False', REASON.hotUnavailable, `PostgreSQL: ${(err as Error).message}`);
      return { next: false, transient: true, error: err as Error };
    }
    if (spec.mode !== 'hot-only') {
      state.cold = deps.connections.coldStore(state.settings);
      if (!state.cold) {
        state.set(CONDITION.coldReady, 'False', REASON.connectionConfig, `mode ${spec.mode} needs ClickHouse and ${state.settings.source} has no clickhouseUrl`);
        return { next: false, transient: false };
      }
      try {
        await state.cold.ping();
      } catch (err) {
        // Not used for the rest of this run (the status read below goes without it).
        state.cold = undefined;
        state.set(CONDITION.coldReady, 'False', REASON.coldUnavailable, `ClickHouse: ${(err as Error).message}`);
        return { next: false, transient: true, error: err as Error };
      }
    }
    return CONTINUE;
  },
};
