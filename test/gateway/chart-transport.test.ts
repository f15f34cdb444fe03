// charts/strata's transport settings, rendered by `helm template` and accepted by a real
// kube-apiserver's server-side dry run (as test/operator/chart.test.ts does for the whole
// chart): gateway.tlsSecret puts the gateway on TLS (files from the Secret, HTTPS probes
// and scrapes); networkPolicy (off by default) admits only the ports each component serves,
// from the peers configured, and with egress on, only DNS and the destinations given.
import { parseAllDocuments } from 'yaml';
import { startKubeApiserver, type KubeApiserver } from '../support/kube-apiserver';
import { helm, kubectl, kubectlRun } from '../support/operator-kubectl';
import { repoPath } from '../support/paths';

const CHART = repoPath('charts', 'strata');

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- rendered manifests, checked by shape below
type Obj = { kind: string; metadata: { name: string }; spec: Record<string, any> };
const render = async (...set: string[]): Promise<Obj[]> =>
  parseAllDocuments(await helm(['template', 'strata', CHART, '--namespace', 'strata', ...set.flatMap((s) => ['--set', s])]))
    .map((d) => d.toJS() as Obj)
    .filter(Boolean);
const find = (objs: Obj[], kind: string, name: string) => objs.find((o) => o.kind === kind && o.metadata.name === name)!;

// The ServiceMonitor's CRD is not installed in the test API server (test/operator/chart.test.ts
// covers it): its https endpoint is checked as rendered only.
const TRANSPORT = [
  'gateway.tlsSecret=strata-gateway-tls',
  'networkPolicy.enabled=true',
  'networkPolicy.gatewayFrom[0].namespaceSelector.matchLabels.strata-role=ingest',
  'networkPolicy.proxyFrom[0].podSelector.matchLabels.app=grafana',
  'networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=monitoring',
  'networkPolicy.egress.enabled=true',
  'networkPolicy.egress.to[0].to[0].ipBlock.cidr=10.20.0.0/16',
  'networkPolicy.egress.to[0].ports[0].port=5432',
  'networkPolicy.egress.to[0].ports[1].port=8443',
  'gateway.connectionSecret=strata-gateway-db',
  'proxy.connectionSecret=strata-proxy-db',
];

test('default values: no NetworkPolicy, the gateway without TLS', async () => {
  const objs = await render();
  expect(objs.filter((o) => o.kind === 'NetworkPolicy')).toEqual([]);
  const gateway = find(objs, 'Deployment', 'strata-gateway').spec.template.spec.containers[0];
  expect(gateway.env.map((e: { name: string }) => e.name)).not.toContain('STRATA_GATEWAY_TLS_CERT');
  expect(gateway.readinessProbe.httpGet.scheme).toBe('HTTP');
});

describe('gateway.tlsSecret and networkPolicy', () => {
  let api: KubeApiserver;
  let objs: Obj[];
  beforeAll(async () => {
    objs = await render(...TRANSPORT, 'serviceMonitor.enabled=true');
    api = await startKubeApiserver();
    await kubectl(api.kubeconfig, ['create', 'namespace', 'strata']);
  });
  afterAll(async () => {
    await api?.stop();
  });

  test('every manifest is accepted by the API server (server-side dry run)', async () => {
    const rendered = await helm(['template', 'strata', CHART, '--namespace', 'strata', ...TRANSPORT.flatMap((s) => ['--set', s])]);
    const r = await kubectlRun(api.kubeconfig, ['apply', '--dry-run=server', '-n', 'strata', '-f', '-'], rendered);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const c of ['proxy', 'gateway', 'operator']) expect(r.stdout).toContain(`networkpolicy.networking.k8s.io/strata-${c} created (server dry run)`);
  });

  test('the gateway reads its certificate and key from the Secret and is probed and scraped over HTTPS', () => {
    const pod = find(objs, 'Deployment', 'strata-gateway').spec.template.spec;
    const c = pod.containers[0];
    expect(c.env).toEqual(expect.arrayContaining([
      { name: 'STRATA_GATEWAY_TLS_CERT', value: '/etc/strata/tls/tls.crt' },
      { name: 'STRATA_GATEWAY_TLS_KEY', value: '/etc/strata/tls/tls.key' },
    ]));
    expect(c.volumeMounts).toContainEqual({ name: 'tls', mountPath: '/etc/strata/tls', readOnly: true });
    expect(pod.volumes).toContainEqual({ name: 'tls', secret: { secretName: 'strata-gateway-tls' } });
    expect([c.livenessProbe.httpGet.scheme, c.readinessProbe.httpGet.scheme]).toEqual(['HTTPS', 'HTTPS']);
    expect(find(objs, 'ServiceMonitor', 'strata-gateway').spec.endpoints[0]).toMatchObject({ scheme: 'https' });
    expect(find(objs, 'ServiceMonitor', 'strata-proxy').spec.endpoints[0].scheme).toBeUndefined();
  });

  test('each component admits only its own ports, from the configured peers; egress is DNS plus the rules given', () => {
    const monitoring = [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }];
    const dns = { ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }] };
    const stores = { to: [{ ipBlock: { cidr: '10.20.0.0/16' } }], ports: [{ port: 5432 }, { port: 8443 }] };
    const policy = (c: string) => find(objs, 'NetworkPolicy', `strata-${c}`).spec;
    expect(policy('proxy')).toEqual({
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'strata', 'app.kubernetes.io/instance': 'strata', 'app.kubernetes.io/component': 'proxy' } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        { ports: [{ port: 'postgres', protocol: 'TCP' }], from: [{ podSelector: { matchLabels: { app: 'grafana' } } }] },
        { ports: [{ port: 'metrics', protocol: 'TCP' }], from: monitoring },
      ],
      egress: [dns, stores],
    });
    expect(policy('gateway').ingress).toEqual([
      { ports: [{ port: 'http', protocol: 'TCP' }, { port: 'otlp-grpc', protocol: 'TCP' }], from: [{ namespaceSelector: { matchLabels: { 'strata-role': 'ingest' } } }] },
      { ports: [{ port: 'http', protocol: 'TCP' }], from: monitoring },
    ]);
    expect(policy('operator').ingress).toEqual([{ ports: [{ port: 'http', protocol: 'TCP' }], from: monitoring }]);
    for (const c of ['gateway', 'operator']) expect(policy(c).egress).toEqual([dns, stores]);
  });

  test('gateway.connectionSecret and proxy.connectionSecret give each its own database credentials; the operator keeps the shared one', () => {
    const secretOf = (name: string, variable: string) =>
      find(objs, 'Deployment', name).spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === variable).valueFrom.secretKeyRef.name;
    for (const v of ['STRATA_PG_URL', 'STRATA_CLICKHOUSE_USER', 'STRATA_CLICKHOUSE_PASSWORD']) {
      expect([v, secretOf('strata-gateway', v), secretOf('strata-proxy', v), secretOf('strata-operator', v)]).toEqual([v, 'strata-gateway-db', 'strata-proxy-db', 'strata-connection']);
    }
  });

  test('an empty metricsFrom does not open the gateway port that gatewayFrom restricts', async () => {
    const objs2 = await render('networkPolicy.enabled=true', 'networkPolicy.gatewayFrom[0].podSelector.matchLabels.role=writer');
    const gateway = find(objs2, 'NetworkPolicy', 'strata-gateway').spec;
    expect(gateway.ingress).toEqual([{ ports: [{ port: 'http', protocol: 'TCP' }, { port: 'otlp-grpc', protocol: 'TCP' }], from: [{ podSelector: { matchLabels: { role: 'writer' } } }] }]);
    expect(gateway.policyTypes).toEqual(['Ingress']);
  });
});
