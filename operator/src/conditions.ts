import type { Condition, ConditionType } from '@strata/core';

/** metav1.Condition bookkeeping: pure functions over a status' condition list. */

export const CONDITION = {
  ready: 'Ready',
  hotReady: 'HotReady',
  coldReady: 'ColdReady',
  schemaInSync: 'SchemaInSync',
  tieringHealthy: 'TieringHealthy',
} as const satisfies Record<string, ConditionType>;

/** Machine-readable reasons (CamelCase), one catalogue. */
export const REASON = {
  reconciled: 'Reconciled',
  reconciling: 'Reconciling',
  invalidSpec: 'InvalidSpec',
  connectionConfig: 'ConnectionConfigError',
  hotUnavailable: 'HotUnavailable',
  hotTableReady: 'HotTableReady',
  coldUnavailable: 'ColdUnavailable',
  coldTableReady: 'ColdTableReady',
  notUsed: 'NotUsed',
  changeRefused: 'ChangeRefused',
  tableOwnedElsewhere: 'TableOwnedElsewhere',
  inSync: 'InSync',
  applyFailed: 'ApplyFailed',
  tieringSucceeded: 'TieringSucceeded',
  tieringFailed: 'TieringFailed',
  noRunYet: 'NoRunYet',
  notTiered: 'NotTiered',
  dependencyNotReady: 'DependencyNotReady',
  deleting: 'Deleting',
} as const;
export type Reason = (typeof REASON)[keyof typeof REASON];

export interface ConditionInput {
  type: ConditionType;
  status: Condition['status'];
  reason: Reason;
  message: string;
}

/**
 * Sets one condition. lastTransitionTime changes only when the status flips, so a
 * status rewritten with the same facts is byte-identical and the patch is skipped.
 */
export function setCondition(conditions: Condition[] | undefined, c: ConditionInput, generation: number, now: Date): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((x) => x.type === c.type);
  const prev = i >= 0 ? list[i] : undefined;
  const next: Condition = {
    type: c.type,
    status: c.status,
    observedGeneration: generation,
    lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : rfc3339(now),
    reason: c.reason,
    // The API server caps messages at 32 KiB.
    message: c.message.slice(0, 4000),
  };
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}

export function getCondition(conditions: Condition[] | undefined, type: ConditionType): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** metav1.Time: RFC 3339 with whole seconds. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Ready summarises the others: True only when every condition that applies is True.
 * The first False one names the reason, so `kubectl get tt` tells what is wrong.
 */
export function summarizeReady(conditions: Condition[]): ConditionInput {
  // Store availability first: an outage also fails the schema step, and the outage is
  // the cause a user must see, whichever step happened to notice it first.
  // A table owned by another TieredTable is refused before the stores are looked at:
  // that, not a store's state, is what the user must fix.
  const owned = conditions.find((c) => c.reason === REASON.tableOwnedElsewhere);
  if (owned) return { type: CONDITION.ready, status: 'False', reason: REASON.tableOwnedElsewhere, message: `${owned.type}: ${owned.message}` };
  const order: ConditionType[] = [CONDITION.hotReady, CONDITION.coldReady, CONDITION.schemaInSync, CONDITION.tieringHealthy];
  for (const type of order) {
    const c = getCondition(conditions, type);
    if (c && c.status !== 'True') {
      return { type: CONDITION.ready, status: 'False', reason: c.reason as Reason, message: `${type}: ${c.message}` };
    }
  }
  return { type: CONDITION.ready, status: 'True', reason: REASON.reconciled, message: 'both tiers provisioned and in sync with the spec' };
}
