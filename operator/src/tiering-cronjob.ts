import { parseDuration, type TieredTableSpec } from '@strata/core';
import { SECRET_KEYS } from './connections';
import type { ObjectMeta, TieredTableObject } from './kube/resources';

/**
 * Pure builders for the CronJob that runs `strata tier --table T` on a TieredTable's
 * `tiering.every`. The CronJob is owned by the TieredTable (controller reference), and
 * the operator deletes it explicitly too: garbage collection needs a controller-manager.
 */

export interface CronJobSettings {
  image: string;
  /** Secret (in the table's namespace) with pgUrl, clickhouseUrl, … keys. */
  secretName: string;
  serviceAccountName?: string;
  imagePullPolicy?: string;
  /**
   * Secret (in the table's namespace) with the PostgreSQL CA as `ca.crt`, mounted where
   * the chart mounts it for the operator, so a pgUrl with
   * sslrootcert=/etc/strata/postgres-ca/ca.crt works in the tiering Job too.
   */
  postgresCASecret?: string;
}

/** Where the PostgreSQL CA is mounted, in every Strata pod that has one. */
export const POSTGRES_CA_DIR = '/etc/strata/postgres-ca';

export interface CronJobObject {
  apiVersion: 'batch/v1';
  kind: 'CronJob';
  metadata: ObjectMeta;
  spec: Record<string, unknown> & { schedule: string };
}

export const cronJobName = (obj: TieredTableObject): string => `strata-tier-${obj.metadata.name}`.slice(0, 52).replace(/-+$/, '');

/**
 * A cron schedule for "every D". Cron cannot say every 7 minutes across an hour
 * boundary, nor anything below a minute: such values get the nearest schedule cron can
 * express at or below D (a run starts at least as often as asked), floored at 1 minute.
 */
export function everyToCron(every: string): string {
  const minutes = Math.max(1, Math.floor(parseDuration(every) / 60_000));
  if (minutes < 60) return minutes === 1 ? '* * * * *' : `*/${largestDivisorAtMost(60, minutes)} * * * *`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `0 */${largestDivisorAtMost(24, hours)} * * *`;
  const days = Math.floor(hours / 24);
  return days === 1 ? '0 0 * * *' : `0 0 */${Math.min(days, 28)} * *`;
}

function largestDivisorAtMost(n: number, k: number): number {
  for (let d = k; d > 1; d--) if (n % d === 0) return d;
  return 1;
}

export function buildTieringCronJob(obj: TieredTableObject, spec: TieredTableSpec, s: CronJobSettings): CronJobObject {
  const secretEnv = (name: string, key: string, optional: boolean) => ({
    name,
    valueFrom: { secretKeyRef: { name: s.secretName, key, optional } },
  });
  const labels = {
    'app.kubernetes.io/name': 'strata-tiering',
    'app.kubernetes.io/managed-by': 'strata-operator',
    'strata.dev/tieredtable': obj.metadata.name,
  };
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: {
      name: cronJobName(obj),
      namespace: obj.metadata.namespace,
      labels,
      ownerReferences: [
        { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name, uid: obj.metadata.uid!, controller: true, blockOwnerDeletion: true },
      ],
    },
    spec: {
      schedule: everyToCron(spec.tiering.every),
      // A run holds an advisory lock per table; overlapping runs would only fail fast.
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: 300,
      successfulJobsHistoryLimit: 1,
      failedJobsHistoryLimit: 3,
      jobTemplate: {
        metadata: { labels },
        spec: {
          backoffLimit: 2,
          activeDeadlineSeconds: 3600,
          template: {
            metadata: { labels },
            spec: {
              restartPolicy: 'Never',
              ...(s.serviceAccountName ? { serviceAccountName: s.serviceAccountName } : {}),
              automountServiceAccountToken: false,
              ...(s.postgresCASecret ? { volumes: [{ name: 'postgres-ca', secret: { secretName: s.postgresCASecret, items: [{ key: 'ca.crt', path: 'ca.crt' }] } }] } : {}),
              securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } },
              containers: [
                {
                  name: 'tier',
                  image: s.image,
                  imagePullPolicy: s.imagePullPolicy ?? 'IfNotPresent',
                  args: ['tier', '--table', spec.table],
                  ...(s.postgresCASecret ? { volumeMounts: [{ name: 'postgres-ca', mountPath: POSTGRES_CA_DIR, readOnly: true }] } : {}),
                  env: [
                    secretEnv('STRATA_PG_URL', SECRET_KEYS.pgUrl, false),
                    secretEnv('STRATA_CLICKHOUSE_URL', SECRET_KEYS.clickhouseUrl, true),
                    secretEnv('STRATA_CLICKHOUSE_USER', SECRET_KEYS.clickhouseUser, true),
                    secretEnv('STRATA_CLICKHOUSE_PASSWORD', SECRET_KEYS.clickhousePassword, true),
                    secretEnv('STRATA_CLICKHOUSE_DATABASE', SECRET_KEYS.clickhouseDatabase, true),
                  ],
                  resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '1Gi' } },
                  securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
                },
              ],
            },
          },
        },
      },
    },
  };
}

/** True when the live CronJob's schedule or pod template differs from the desired one. */
export function cronJobDiffers(live: CronJobObject, desired: CronJobObject): boolean {
  const pick = (c: CronJobObject) => {
    const job = c.spec.jobTemplate as { spec: { template: { spec: { volumes?: unknown; containers: Array<{ image: string; args: string[]; env: unknown; volumeMounts?: unknown }> } } } };
    const pod = job.spec.template.spec;
    const ctr = pod.containers[0];
    return JSON.stringify([c.spec.schedule, ctr?.image, ctr?.args, ctr?.env, ctr?.volumeMounts ?? [], pod.volumes ?? []]);
  };
  return pick(live) !== pick(desired);
}
