import { formatFieldError, validateTieredTable } from '@strata/core';
import { CONDITION, REASON } from '../../conditions';
import { EVENT_REASON } from '../../events';
import { CONTINUE, type ReconcileStep } from '../state';

/**
 * Step 1. Most mistakes never get here: the CRD's OpenAPI schema and CEL rules make
 * the API server refuse them. What only core's validator knows (a numeric aggregate on
 * a text column, durations that contradict each other) ends here as InvalidSpec, and
 * the key is not requeued: nothing changes until the spec does.
 */
export const validateSpec: ReconcileStep = {
  name: 'validate',
  async run(deps, state) {
    // spec.connection is the operator's, not part of the table model.
    const { connection: _connection, ...input } = state.obj.spec;
    const r = validateTieredTable(input);
    if (r.ok) {
      state.spec = r.spec;
      return CONTINUE;
    }
    const message = r.errors.map((e) => formatFieldError({ ...e, field: e.field ? `spec.${e.field}` : 'spec' })).join('; ');
    const prev = state.conditions.find((c) => c.type === CONDITION.schemaInSync);
    state.set(CONDITION.schemaInSync, 'False', REASON.invalidSpec, message);
    if (!(prev?.reason === REASON.invalidSpec && prev.observedGeneration === state.generation)) {
      await deps.events.record(state.obj, 'Warning', EVENT_REASON.invalidSpec, message);
    }
    return { next: false, transient: false };
  },
};
