import { deleteTable, migrate, validateTieredTable, type Condition, type TieredTableSpec, type TieredTableStatus } from '@strata/core';
import { CONDITION, REASON, setCondition, summarizeReady } from '../conditions';
import { DEFAULT_CLICKHOUSE_DATABASE, resolveConnection, type ConnectionSettings } from '../connections';
import { OperatorError } from '../errors';
import { EVENT_REASON } from '../events';
import { FINALIZER, hasFinalizer, setFinalizer } from '../finalizer';
import type { TieredTableObject } from '../kube/resources';
import { patchStatus } from '../status-patch';
import { describeOwner, lockTableName, ownerOf, readOwnership } from '../table-owner';
import { claimTable } from './steps/claim-table';
import { connectCatalog } from './steps/connect-catalog';
import { observeStatus } from './steps/observe-status';
import { provisionTables } from './steps/provision-tables';
import { removeSchedule, tieringSchedule } from './steps/tiering-schedule';
import { validateSpec } from './steps/validate-spec';
import { ReconcileState, type ReconcileDeps, type ReconcileStep } from './state';

/**
 * The reconcile of one TieredTable: a thin driver over ordered steps (CloudNativePG's
 * shape). Every step only adds facts to the state; status is written once, at the end,
 * through patchStatus, whatever step stopped the run.
 */
export const RECONCILE_STEPS: readonly ReconcileStep[] = [validateSpec, connectCatalog, claimTable, provisionTables, tieringSchedule, observeStatus];

export type ReconcileOutcome = { result: 'success' | 'invalid' } | { result: 'requeue'; error: Error };

export interface ReconcileHooks {
  /** Awaited after each step that completed (fault injection: tests that kill mid-reconcile). */
  afterStep?(key: string, step: string): void | Promise<void>;
}

export async function reconcile(deps: ReconcileDeps, obj: TieredTableObject, key: string, hooks: ReconcileHooks = {}): Promise<ReconcileOutcome> {
  if (obj.metadata.deletionTimestamp) return finalize(deps, obj, key);
  if (!hasFinalizer(obj)) obj = await setFinalizer(deps.kube, obj, true);

  const state = new ReconcileState(obj, key, deps.now());
  const before = state.conditions;
  let outcome: ReconcileOutcome = { result: 'success' };
  let unexpected: Error | undefined;
  try {
    for (const step of RECONCILE_STEPS) {
      const r = await step.run(deps, state);
      deps.log.debug({ key, step: step.name, next: r.next }, 'reconcile step');
      await hooks.afterStep?.(key, step.name);
      if (!r.next) {
        outcome = r.transient ? { result: 'requeue', error: r.error ?? new Error(`step ${step.name} did not complete`) } : { result: 'invalid' };
        // ClickHouse down, PostgreSQL up: still report watermark, hot rows and the last
        // tiering run (its error) from the catalog, so status says what failed and since when.
        if (r.transient && state.hot && state.spec && step !== observeStatus) {
          await observeStatus.run(deps, state).catch((err) => deps.log.debug({ key, err: (err as Error).message }, 'status read skipped'));
        }
        break;
      }
    }
  } catch (err) {
    // An unexpected failure (Kubernetes API, a bug): retried with backoff, status says so.
    unexpected = err as Error;
    outcome = { result: 'requeue', error: unexpected };
  } finally {
    await state.hot?.end().catch(() => undefined);
  }

  let conditions = withReady(state.conditions, state.generation, deps.now());
  if (unexpected) {
    conditions = setCondition(conditions, { type: CONDITION.ready, status: 'False', reason: REASON.reconciling, message: unexpected.message }, state.generation, deps.now());
  }
  await patchStatus(deps.kube, obj, (current) => ({
    // Facts observed in this run replace the old ones; what a failed run could not read stays.
    ...dropUndefined({ ...(current.status ?? {}), ...state.observed }),
    observedGeneration: state.generation,
    conditions: mergeTransitionTimes(current.status?.conditions, conditions),
  }));
  await announceTransitions(deps, obj, before, conditions);
  return outcome;
}

function withReady(conditions: Condition[], generation: number, now: Date): Condition[] {
  return setCondition(conditions, summarizeReady(conditions), generation, now);
}

/** Keeps the server's lastTransitionTime for conditions whose status did not change since (a conflict re-read). */
function mergeTransitionTimes(server: Condition[] | undefined, next: Condition[]): Condition[] {
  return next.map((c) => {
    const s = server?.find((x) => x.type === c.type);
    return s && s.status === c.status ? { ...c, lastTransitionTime: s.lastTransitionTime } : c;
  });
}

function dropUndefined(s: TieredTableStatus): TieredTableStatus {
  return JSON.parse(JSON.stringify(s)) as TieredTableStatus;
}

/** A Warning when a condition turns False (once per reason), Normal when it comes back. */
async function announceTransitions(deps: ReconcileDeps, obj: TieredTableObject, before: Condition[], after: Condition[]): Promise<void> {
  for (const type of [CONDITION.hotReady, CONDITION.coldReady, CONDITION.tieringHealthy] as const) {
    const a = before.find((c) => c.type === type);
    const b = after.find((c) => c.type === type);
    if (!b || (a?.status === b.status && a.reason === b.reason)) continue;
    if (b.status === 'False') {
      const reason = b.reason === REASON.coldUnavailable ? EVENT_REASON.coldUnavailable : b.reason === REASON.connectionConfig ? EVENT_REASON.connectionConfig : b.reason === REASON.tieringFailed ? EVENT_REASON.tieringFailed : EVENT_REASON.hotUnavailable;
      await deps.events.record(obj, 'Warning', reason, `${type}: ${b.message}`);
    } else if (a?.status === 'False') await deps.events.record(obj, 'Normal', EVENT_REASON.recovered, `${type}: ${b.message}`);
  }
}

/**
 * deletionPolicy: Retain keeps both tiers' tables and data (only the catalog entry goes,
 * so the table can be adopted again); Delete drops both tiers. Only a table this
 * TieredTable owns is touched: one refused as owned elsewhere, one still unowned and one
 * never provisioned are left as they are. Then the schedule goes and the finalizer is
 * removed. An invalid spec, or connection settings that can never be used (no Secret
 * named outside the release namespace), had nothing provisioned to clean up.
 */
async function finalize(deps: ReconcileDeps, obj: TieredTableObject, key: string): Promise<ReconcileOutcome> {
  if (!hasFinalizer(obj)) return { result: 'success' };
  const state = new ReconcileState(obj, key, deps.now());
  const { connection: _c, ...input } = obj.spec;
  const v = validateTieredTable(input);
  if (v.ok) {
    state.spec = v.spec;
    try {
      const settings = await resolveConnection(deps.kube, obj, deps.defaultConnection, deps.operatorNamespace).catch((err: unknown) => {
        if (err instanceof OperatorError && !err.transient) return undefined;
        throw err;
      });
      // Its series end with the table it owned (not with a refused TieredTable naming it).
      if (settings && (await finalizeTables(deps, obj, v.spec, settings))) deps.metrics.tables.forget({ namespace: obj.metadata.namespace ?? 'default', table: v.spec.table });
    } catch (err) {
      // The finalizer stays until the data can be handled as the policy says.
      const message = `cannot apply deletionPolicy ${v.spec.deletionPolicy}: ${(err as Error).message}`;
      await patchStatus(deps.kube, obj, (current) => ({
        ...(current.status ?? {}),
        conditions: setCondition(current.status?.conditions, { type: CONDITION.ready, status: 'False', reason: REASON.deleting, message }, state.generation, deps.now()),
      })).catch(() => undefined);
      return { result: 'requeue', error: err as Error };
    }
  }
  await removeSchedule(deps, state);
  await setFinalizer(deps.kube, obj, false);
  deps.log.info({ key, finalizer: FINALIZER, policy: v.ok ? v.spec.deletionPolicy : 'invalid spec' }, 'finalized');
  return { result: 'success' };
}

/** Applies deletionPolicy to the table if this TieredTable owns it; returns whether it did. */
async function finalizeTables(deps: ReconcileDeps, obj: TieredTableObject, spec: TieredTableSpec, settings: ConnectionSettings): Promise<boolean> {
  const hot = await deps.connections.openHot(settings);
  try {
    // A catalog that was never migrated has no tables of this TieredTable either.
    const migrated = await hot.query("SELECT to_regclass('strata.table_registry') IS NOT NULL AS ok");
    if (!migrated.rows[0].ok) return false;
    await migrate(hot);
    await lockTableName(hot, spec.table);
    const ownership = await readOwnership(hot, spec.table, ownerOf(obj));
    if (ownership.kind === 'elsewhere') {
      await deps.events.record(obj, 'Normal', EVENT_REASON.tablesRetained, `${spec.table} belongs to ${describeOwner(ownership.owner)}: left untouched`);
      return false;
    }
    if (ownership.kind !== 'mine') return false;
    await deleteTable({ hot, cold: deps.connections.coldStore(settings), coldTarget: { database: settings.clickhouse?.database ?? DEFAULT_CLICKHOUSE_DATABASE } }, spec);
    if (spec.deletionPolicy === 'Delete') {
      await deps.events.record(obj, 'Normal', EVENT_REASON.tablesDropped, `deletionPolicy Delete: dropped ${spec.table} in both tiers`);
    } else {
      await deps.events.record(obj, 'Normal', EVENT_REASON.tablesRetained, `deletionPolicy Retain: kept ${spec.table} and its data in both tiers`);
    }
    return true;
  } finally {
    await hot.end().catch(() => undefined);
  }
}
