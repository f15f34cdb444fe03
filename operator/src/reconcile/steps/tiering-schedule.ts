import { isNotFound } from '../../errors';
import { EVENT_REASON } from '../../events';
import { cronJobPath, cronJobsPath } from '../../kube/resources';
import { buildTieringCronJob, cronJobDiffers, cronJobName, type CronJobObject } from '../../tiering-cronjob';
import { CONTINUE, type ReconcileDeps, type ReconcileState, type ReconcileStep } from '../state';

/**
 * Step 6. hot-then-cold tables (rows move to ClickHouse) and hot-only ones (rows past
 * retention are deleted) get their tiering schedule: a CronJob owned by the TieredTable
 * (created, then kept in sync with tiering.every and the image), or an entry in the
 * operator's in-process scheduler. cold-only tables have nothing to move.
 */
export const tieringSchedule: ReconcileStep = {
  name: 'schedule',
  async run(deps, state) {
    // hot-only tables are "tiered" too: their runs delete rows past hot.retention.
    const tiered = state.spec!.mode !== 'cold-only';
    if (deps.tiering.mode === 'in-process') {
      if (!tiered) deps.tiering.scheduler.remove(state.key);
      else if (deps.tiering.scheduler.ensure(state.key, state.spec!.table, state.spec!.tiering.every, state.settings!)) {
        await deps.events.record(state.obj, 'Normal', EVENT_REASON.tieringScheduled, `in-process tiering every ${state.spec!.tiering.every}`);
      }
      return CONTINUE;
    }
    await syncCronJob(deps, state, tiered);
    return CONTINUE;
  },
};

async function syncCronJob(deps: ReconcileDeps, state: ReconcileState, wanted: boolean): Promise<void> {
  if (deps.tiering.mode !== 'cronjob') return;
  const namespace = state.obj.metadata.namespace ?? 'default';
  const name = cronJobName(state.obj);
  let live: CronJobObject | undefined;
  try {
    live = await deps.kube.get<CronJobObject>(cronJobPath(namespace, name));
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  if (!wanted) {
    if (live) {
      await deps.kube.delete(cronJobPath(namespace, name));
      await deps.events.record(state.obj, 'Normal', EVENT_REASON.cronJobDeleted, `CronJob ${name} deleted: mode ${state.spec!.mode} is not tiered`);
    }
    return;
  }
  const secretName = state.obj.spec.connection?.secretRef?.name ?? deps.tiering.defaultSecretName;
  if (!secretName) {
    deps.log.warn({ key: state.key }, 'no Secret for the tiering CronJob: set spec.connection.secretRef or the operator connection Secret');
    return;
  }
  const desired = buildTieringCronJob(state.obj, state.spec!, { ...deps.tiering.cronJob, secretName });
  if (!live) {
    await deps.kube.create(cronJobsPath(namespace), desired);
    await deps.events.record(state.obj, 'Normal', EVENT_REASON.cronJobCreated, `CronJob ${name} runs \`strata tier --table ${state.spec!.table}\` on "${desired.spec.schedule}"`);
  } else if (cronJobDiffers(live, desired)) {
    // Replace with the live resourceVersion: a concurrent edit conflicts and the key retries.
    await deps.kube.replace(cronJobPath(namespace, name), { ...desired, metadata: { ...desired.metadata, resourceVersion: live.metadata.resourceVersion } });
    await deps.events.record(state.obj, 'Normal', EVENT_REASON.cronJobUpdated, `CronJob ${name} schedule "${desired.spec.schedule}"`);
  }
}

/** For deletion: the CronJob goes with its table (no garbage collector runs everywhere). */
export async function removeSchedule(deps: ReconcileDeps, state: ReconcileState): Promise<void> {
  if (deps.tiering.mode === 'in-process') {
    deps.tiering.scheduler.remove(state.key);
    return;
  }
  const namespace = state.obj.metadata.namespace ?? 'default';
  try {
    await deps.kube.delete(cronJobPath(namespace, cronJobName(state.obj)));
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}
