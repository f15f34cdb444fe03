import type { Logger } from 'pino';
import type { KubeClient } from '@strata/core';
import { eventsPath, type TieredTableObject } from './kube/resources';

/** Event reasons, one catalogue: each change the operator makes is announced with one. */
export const EVENT_REASON = {
  created: 'Created',
  updated: 'Updated',
  invalidSpec: 'InvalidSpec',
  changeRefused: 'ChangeRefused',
  tableOwnedElsewhere: 'TableOwnedElsewhere',
  hotUnavailable: 'HotUnavailable',
  coldUnavailable: 'ColdUnavailable',
  connectionConfig: 'ConnectionConfigError',
  cronJobCreated: 'CronJobCreated',
  cronJobUpdated: 'CronJobUpdated',
  cronJobDeleted: 'CronJobDeleted',
  tieringScheduled: 'TieringScheduled',
  tieringFailed: 'TieringFailed',
  tablesDropped: 'TablesDropped',
  tablesRetained: 'TablesRetained',
  recovered: 'Recovered',
} as const;
export type EventReason = (typeof EVENT_REASON)[keyof typeof EVENT_REASON];

export interface EventRecorder {
  record(obj: TieredTableObject, type: 'Normal' | 'Warning', reason: EventReason, message: string): Promise<void>;
}

/** Identical events within this window are folded into one (count, lastTimestamp), as client-go's recorder does. */
export const EVENT_AGGREGATION_WINDOW_MS = 10 * 60_000;
const MAX_REMEMBERED = 1000;

/**
 * core/v1 Events about a TieredTable (`kubectl describe tt` shows them). The same
 * event again (same object, type, reason, message) within the window patches the first
 * one's count instead of adding another: a reconcile that runs twice on a cache that has
 * not yet seen its own status write announces a change once. Failures are logged, never thrown.
 */
export function kubeEventRecorder(kube: KubeClient, identity: string, log: Logger): EventRecorder {
  const recent = new Map<string, { name: string; namespace: string; count: number; at: number }>();
  return {
    async record(obj, type, reason, message) {
      const now = new Date();
      const namespace = obj.metadata.namespace ?? 'default';
      const text = message.slice(0, 1024);
      const key = JSON.stringify([obj.metadata.uid, type, reason, text]);
      const seen = recent.get(key);
      try {
        if (seen && now.getTime() - seen.at < EVENT_AGGREGATION_WINDOW_MS) {
          seen.count += 1;
          await kube.patch(`${eventsPath(seen.namespace)}/${seen.name}`, { count: seen.count, lastTimestamp: now.toISOString() });
          return;
        }
        const created = await kube.create<{ metadata: { name: string } }>(eventsPath(namespace), {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { generateName: `${obj.metadata.name}.`, namespace },
          involvedObject: {
            apiVersion: obj.apiVersion,
            kind: obj.kind,
            name: obj.metadata.name,
            namespace,
            uid: obj.metadata.uid,
            resourceVersion: obj.metadata.resourceVersion,
          },
          type,
          reason,
          message: text,
          source: { component: 'strata-operator' },
          reportingComponent: 'strata.dev/operator',
          reportingInstance: identity,
          firstTimestamp: now.toISOString(),
          lastTimestamp: now.toISOString(),
          count: 1,
        });
        if (recent.size >= MAX_REMEMBERED) recent.delete(recent.keys().next().value!);
        recent.set(key, { name: created.metadata.name, namespace, count: 1, at: now.getTime() });
      } catch (err) {
        if (seen) recent.delete(key);
        log.warn({ err: (err as Error).message, reason }, 'could not record event');
      }
    },
  };
}
