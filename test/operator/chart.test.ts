// charts/strata: helm lint, and every manifest `helm template` renders (default values and
// the production-like values file) accepted by a real kube-apiserver's server-side dry
// run; the operator's RBAC is least-privilege (the operator suites run with exactly it).
import { parseAllDocuments } from 'yaml';
import { startKubeApiserver, type KubeApiserver } from '../support/kube-apiserver';
import { helm, kubectl, kubectlRun } from '../support/operator-kubectl';
import { repoPath } from '../support/paths';

const CHART = repoPath('charts', 'strata');
const PRODUCTION = repoPath('charts', 'strata', 'values-production.yaml');

// The Prometheus Operator's ServiceMonitor CRD is not installed here: a schemaless
// stand-in with its group/kind lets the API server accept the chart's ServiceMonitors
// (their own schema is not checked).
const SERVICE_MONITOR_CRD = JSON.stringify({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'servicemonitors.monitoring.coreos.com' },
  spec: {
    group: 'monitoring.coreos.com',
    scope: 'Namespaced',
    names: { kind: 'ServiceMonitor', plural: 'servicemonitors', singular: 'servicemonitor', listKind: 'ServiceMonitorList' },
    versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
  },
});

type Doc = { kind: string; metadata: { name: string }; spec?: Record<string, unknown>; rules?: Array<{ apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }> };
interface PodSpec {
  securityContext: Record<string, unknown>;
  volumes?: unknown[];
  containers: Array<{
    securityContext: Record<string, unknown>;
    resources: { requests: Record<string, string> };
    env?: Array<{ name: string; valueFrom?: { secretKeyRef?: unknown } }>;
    volumeMounts?: unknown[];
  }>;
}
const docs = (yamlText: string): Doc[] => parseAllDocuments(yamlText).map((d) => d.toJS() as Doc).filter(Boolean);

describe('helm lint', () => {
  test.each([['default values', []], ['production values', ['-f', PRODUCTION]]])('%s', async (_what, extra) => {
    const out = await helm(['lint', CHART, '--strict', ...(extra as string[])]);
    expect(out).toContain('0 chart(s) failed');
  });
});

describe('helm template → server-side dry run', () => {
  let api: KubeApiserver;
  beforeAll(async () => {
    api = await startKubeApiserver();
    await kubectl(api.kubeconfig, ['create', 'namespace', 'strata']);
    await kubectl(api.kubeconfig, ['apply', '-f', '-'], SERVICE_MONITOR_CRD);
    await kubectl(api.kubeconfig, ['wait', '--for=condition=Established', '--timeout=60s', 'crd/servicemonitors.monitoring.coreos.com']);
  });
  afterAll(async () => {
    await api?.stop();
  });

  test.each([
    ['default values', [], 18],
    ['production values', ['-f', PRODUCTION], 21],
  ])('%s: every manifest accepted', async (_what, extra, count) => {
    const rendered = await helm(['template', 'strata', CHART, '--namespace', 'strata', '--include-crds', ...(extra as string[])]);
    const objects = docs(rendered);
    expect(objects).toHaveLength(count as number);
    const r = await kubectlRun(api.kubeconfig, ['apply', '--dry-run=server', '-n', 'strata', '-f', '-'], rendered);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(count as number);
    expect(r.stdout).toContain('customresourcedefinition.apiextensions.k8s.io/tieredtables.strata.dev created (server dry run)');
  });

  test('connection.postgresCASecret mounts the PostgreSQL CA into every pod that connects to PostgreSQL', async () => {
    const rendered = await helm(['template', 'strata', CHART, '--namespace', 'strata', '--set', 'connection.postgresCASecret=pg-ca']);
    const deployments = docs(rendered).filter((d) => d.kind === 'Deployment') as Array<Doc & { spec: { template: { spec: PodSpec } } }>;
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(['strata-gateway', 'strata-operator', 'strata-proxy']);
    for (const d of deployments) {
      const pod = d.spec.template.spec;
      expect(pod.volumes).toContainEqual({ name: 'postgres-ca', secret: { secretName: 'pg-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }] } });
      expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'postgres-ca', mountPath: '/etc/strata/postgres-ca', readOnly: true });
    }
    // The operator passes it on to the tiering CronJobs it creates.
    const operator = deployments.find((d) => d.metadata.name === 'strata-operator')!;
    expect((operator.spec.template.spec.containers[0] as unknown as { env: unknown[] }).env).toContainEqual({ name: 'STRATA_OPERATOR_POSTGRES_CA_SECRET', value: 'pg-ca' });
    const r = await kubectlRun(api.kubeconfig, ['apply', '--dry-run=server', '-n', 'strata', '-f', '-'], rendered);
    expect(r.code).toBe(0);
  });

  test('the operator ServiceAccount can do what it needs and nothing broader', async () => {
    await kubectl(api.kubeconfig, ['apply', '-n', 'strata', '-f', '-'], await helm(['template', 'strata', CHART, '--namespace', 'strata', '--include-crds']));
    await kubectl(api.kubeconfig, ['wait', '--for=condition=Established', '--timeout=60s', 'crd/tieredtables.strata.dev']);
    const can = async (...args: string[]) =>
      (await kubectlRun(api.kubeconfig, ['auth', 'can-i', '--as=system:serviceaccount:strata:strata-operator', ...args])).stdout.trim();
    for (const allowed of [
      ['watch', 'tieredtables.strata.dev', '-A'],
      ['patch', 'tieredtables.strata.dev', '-n', 'apps'],
      ['update', 'tieredtables.strata.dev', '--subresource=status', '-n', 'apps'],
      ['get', 'secrets', '-n', 'strata'],
      ['create', 'cronjobs.batch', '-n', 'apps'],
      ['create', 'events', '-n', 'apps'],
      ['patch', 'events', '-n', 'apps'],
      ['update', 'leases.coordination.k8s.io/strata-operator', '-n', 'strata'],
    ]) expect([allowed.join(' '), await can(...allowed)]).toEqual([allowed.join(' '), 'yes']);
    for (const denied of [
      // Secrets only in operator.secretNamespaces (default: the release's), never cluster-wide.
      ['get', 'secrets', '-n', 'apps'],
      ['get', 'secrets', '-A'],
      ['list', 'secrets', '-n', 'strata'],
      ['watch', 'secrets', '-A'],
      ['delete', 'tieredtables.strata.dev', '-n', 'apps'],
      ['update', 'tieredtables.strata.dev', '-n', 'apps'],
      ['create', 'pods', '-n', 'apps'],
      ['delete', 'events', '-n', 'apps'],
      ['create', 'jobs.batch', '-n', 'apps'],
      ['list', 'cronjobs.batch', '-n', 'apps'],
      ['update', 'leases.coordination.k8s.io/other', '-n', 'strata'],
      ['get', 'leases.coordination.k8s.io/strata-operator', '-n', 'apps'],
      ['create', 'customresourcedefinitions.apiextensions.k8s.io'],
      ['create', 'clusterrolebindings.rbac.authorization.k8s.io'],
    ]) expect([denied.join(' '), await can(...denied)]).toEqual([denied.join(' '), 'no']);
    // The proxy gets no API access at all.
    const proxy = await kubectlRun(api.kubeconfig, ['auth', 'can-i', '--list', '--as=system:serviceaccount:strata:strata-proxy', '-n', 'strata']);
    expect(proxy.stdout).not.toMatch(/secrets|tieredtables|leases|cronjobs/);
    // The gateway keeps TieredTables in its namespace (server-side apply), nothing else.
    const gatewayCan = async (...args: string[]) =>
      (await kubectlRun(api.kubeconfig, ['auth', 'can-i', '--as=system:serviceaccount:strata:strata-gateway', ...args])).stdout.trim();
    for (const allowed of [
      ['get', 'tieredtables.strata.dev', '-n', 'strata'],
      ['create', 'tieredtables.strata.dev', '-n', 'strata'],
      ['patch', 'tieredtables.strata.dev', '-n', 'strata'],
    ]) expect([allowed.join(' '), await gatewayCan(...allowed)]).toEqual([allowed.join(' '), 'yes']);
    for (const denied of [
      ['patch', 'tieredtables.strata.dev', '-n', 'apps'],
      ['list', 'tieredtables.strata.dev', '-n', 'strata'],
      ['delete', 'tieredtables.strata.dev', '-n', 'strata'],
      ['update', 'tieredtables.strata.dev', '--subresource=status', '-n', 'strata'],
      ['get', 'secrets', '-n', 'strata'],
    ]) expect([denied.join(' '), await gatewayCan(...denied)]).toEqual([denied.join(' '), 'no']);
  });
});

describe('operator Secret access', () => {
  const secretRules = (rendered: string) =>
    docs(rendered)
      .filter((d) => (d.kind === 'Role' || d.kind === 'ClusterRole') && d.rules?.some((r) => r.resources.includes('secrets')))
      .map((d) => ({ kind: d.kind, namespace: (d.metadata as { namespace?: string }).namespace, rules: d.rules!.filter((r) => r.resources.includes('secrets')) }));

  test('no cluster-wide rule on Secrets in any rendering; a Role per granted namespace', async () => {
    const base = ['template', 'strata', CHART, '--namespace', 'strata'];
    expect(secretRules(await helm(base))).toEqual([{ kind: 'Role', namespace: 'strata', rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }] }]);
    expect(secretRules(await helm([...base, '-f', PRODUCTION])).every((r) => r.kind === 'Role')).toBe(true);
    expect(secretRules(await helm([...base, '--set', 'operator.watchNamespace=apps'])).map((r) => r.namespace)).toEqual(['apps']);
    const granted = secretRules(await helm([...base, '--set', 'operator.secretNamespaces={team-a,team-b}', '--set', 'operator.secretNames={tiering-conn}']));
    expect(granted).toEqual(
      ['team-a', 'team-b'].map((namespace) => ({ kind: 'Role', namespace, rules: [{ apiGroups: [''], resources: ['secrets'], resourceNames: ['tiering-conn'], verbs: ['get'] }] })),
    );
  });
});

describe('rendered workloads', () => {
  test.each([['default values', []], ['production values', ['-f', PRODUCTION]]])('%s: non-root, read-only root fs, requests, no literal credentials', async (_w, extra) => {
    const objects = docs(await helm(['template', 'strata', CHART, '--namespace', 'strata', ...(extra as string[])]));
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    const deployments = objects.filter((o) => o.kind === 'Deployment');
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(['strata-gateway', 'strata-operator', 'strata-proxy']);
    for (const d of deployments) {
      const pod = (d.spec!.template as { spec: PodSpec }).spec;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true });
      for (const c of pod.containers) {
        expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
        expect(c.resources.requests).toEqual(expect.objectContaining({ cpu: expect.anything(), memory: expect.anything() }));
        // Credentials come from Secrets: as env from a secretKeyRef, or (…_FILE) as a file of a mounted Secret volume.
        for (const e of c.env ?? []) {
          if (!/PASSWORD|PG_URL|CLICKHOUSE_URL|USER|TOKEN/.test(e.name)) continue;
          if (e.name.endsWith('_FILE')) {
            const mount = (c as { volumeMounts?: Array<{ name: string; mountPath: string }> }).volumeMounts?.find((m) => String((e as { value?: string }).value).startsWith(m.mountPath));
            const volume = (pod as { volumes?: Array<{ name: string; secret?: unknown }> }).volumes?.find((v) => v.name === mount?.name);
            expect(volume?.secret).toBeDefined();
          } else expect(e.valueFrom?.secretKeyRef).toBeDefined();
        }
      }
    }
    const services = objects.filter((o) => o.kind === 'Service').map((s) => s.metadata.name).sort();
    expect(services).toEqual(['strata-gateway', 'strata-operator', 'strata-proxy']);
  });
});
