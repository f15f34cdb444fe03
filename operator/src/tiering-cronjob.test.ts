import { validateTieredTable } from '@strata/core';
import { buildTieringCronJob, cronJobDiffers, everyToCron } from './tiering-cronjob';
import type { TieredTableObject } from './kube/resources';

describe('everyToCron', () => {
  test.each([
    ['30s', '* * * * *'],
    ['1m', '* * * * *'],
    ['5m', '*/5 * * * *'],
    ['7m', '*/6 * * * *'],
    ['1h', '0 */1 * * *'],
    ['90m', '0 */1 * * *'],
    ['6h', '0 */6 * * *'],
    ['1d', '0 0 * * *'],
    ['2d', '0 0 */2 * *'],
  ])('%s → %s', (every, cron) => expect(everyToCron(every)).toBe(cron));
});

describe('buildTieringCronJob', () => {
  const obj: TieredTableObject = {
    apiVersion: 'strata.dev/v1alpha1',
    kind: 'TieredTable',
    metadata: { name: 'metrics', namespace: 'obs', uid: 'u-1' },
    spec: { table: 'metrics', timeColumn: 'time', columns: [{ name: 'time', type: 'timestamptz' }] },
  };
  const r = validateTieredTable(obj.spec);
  if (!r.ok) throw new Error('fixture invalid');

  test('runs `strata tier --table T` on the schedule, owned by the TieredTable, credentials only by Secret reference', () => {
    const cj = buildTieringCronJob(obj, r.spec, { image: 'strata:1', secretName: 'db' });
    expect(cj.metadata).toMatchObject({ name: 'strata-tier-metrics', namespace: 'obs' });
    expect(cj.metadata.ownerReferences).toEqual([{ apiVersion: 'strata.dev/v1alpha1', kind: 'TieredTable', name: 'metrics', uid: 'u-1', controller: true, blockOwnerDeletion: true }]);
    expect(cj.spec.schedule).toBe('*/5 * * * *');
    const text = JSON.stringify(cj);
    expect(text).toContain('"args":["tier","--table","metrics"]');
    expect(text).not.toMatch(/"value":/); // no literal env values: everything from the Secret
  });

  test('a new schedule or image is a difference; labels alone are not', () => {
    const a = buildTieringCronJob(obj, r.spec, { image: 'strata:1', secretName: 'db' });
    const b = buildTieringCronJob(obj, { ...r.spec, tiering: { ...r.spec.tiering, every: '10m' } }, { image: 'strata:1', secretName: 'db' });
    expect(cronJobDiffers(a, b)).toBe(true);
    expect(cronJobDiffers(a, { ...a, metadata: { ...a.metadata, labels: {} } })).toBe(false);
  });

  test('with a PostgreSQL CA Secret, the Job mounts it where sslrootcert points (as the chart does for the operator); a newly set CA is a difference', () => {
    const plain = buildTieringCronJob(obj, r.spec, { image: 'strata:1', secretName: 'db' });
    const cj = buildTieringCronJob(obj, r.spec, { image: 'strata:1', secretName: 'db', postgresCASecret: 'pg-ca' });
    const pod = (cj.spec.jobTemplate as { spec: { template: { spec: { volumes: unknown[]; containers: Array<{ volumeMounts: unknown[] }> } } } }).spec.template.spec;
    expect(pod.volumes).toEqual([{ name: 'postgres-ca', secret: { secretName: 'pg-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }] } }]);
    expect(pod.containers[0].volumeMounts).toEqual([{ name: 'postgres-ca', mountPath: '/etc/strata/postgres-ca', readOnly: true }]);
    expect(JSON.stringify(plain)).not.toContain('postgres-ca');
    expect(cronJobDiffers(plain, cj)).toBe(true);
  });
});
