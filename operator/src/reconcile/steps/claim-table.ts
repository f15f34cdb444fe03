import { CONDITION, REASON } from '../../conditions';
import { EVENT_REASON } from '../../events';
import { describeOwner, lockTableName, ownerOf, readOwnership } from '../../table-owner';
import { CONTINUE, type ReconcileStep } from '../state';

/**
 * Step 3 (before any DDL). A table name is one per database, TieredTables are one per
 * namespace and name: a TieredTable naming a table another TieredTable owns (another
 * namespace, or the same name deleted with Retain's catalog entry kept and re-created
 * with another uid) is refused and touches nothing — no DDL, no retention change, no
 * schedule, no status read of the other table. The lock taken here is held until the
 * reconcile's connection ends, so two TieredTables racing for a new table are decided
 * one after the other. provisionTables records the owner once the table is registered.
 */
export const claimTable: ReconcileStep = {
  name: 'claim',
  async run(deps, state) {
    const table = state.spec!.table;
    await lockTableName(state.hot!, table);
    const ownership = await readOwnership(state.hot!, table, ownerOf(state.obj));
    if (ownership.kind !== 'elsewhere') return CONTINUE;
    const message = `table ${table} is owned by ${describeOwner(ownership.owner)}; this TieredTable changes nothing and will not drop it`;
    const prev = state.conditions.find((c) => c.type === CONDITION.schemaInSync);
    state.set(CONDITION.schemaInSync, 'False', REASON.tableOwnedElsewhere, message);
    if (!(prev?.reason === REASON.tableOwnedElsewhere && prev.observedGeneration === state.generation)) {
      await deps.events.record(state.obj, 'Warning', EVENT_REASON.tableOwnedElsewhere, message);
    }
    deps.log.info({ key: state.key, table, owner: ownership.owner }, 'table owned by another TieredTable: refused');
    return { next: false, transient: false };
  },
};
