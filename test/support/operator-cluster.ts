// A test cluster for the operator: a real kube-apiserver with the TieredTable CRD and
// the Helm chart applied, plus a kubeconfig carrying a token of the chart's operator
// ServiceAccount, so the operator under test has exactly the chart's RBAC.
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { startKubeApiserver, writeKubeconfig, type KubeApiserver } from './kube-apiserver';
import { helm, kubectl } from './operator-kubectl';
import { repoPath } from './paths';

export const OPERATOR_NAMESPACE = 'strata';
export const OPERATOR_SERVICE_ACCOUNT = 'strata-operator';
export const LEASE_NAME = 'strata-operator';

export interface OperatorCluster {
  api: KubeApiserver;
  /** system:masters: for the test's own setup and checks. */
  admin: string;
  /** The chart's operator ServiceAccount, by TokenRequest. */
  operator: string;
  stop(): Promise<void>;
}

export async function startOperatorCluster(namespaces: string[]): Promise<OperatorCluster> {
  const api = await startKubeApiserver();
  try {
    const admin = api.kubeconfig;
    await kubectl(admin, ['apply', '-f', repoPath('crds', 'tieredtables.strata.dev.yaml')]);
    await kubectl(admin, ['wait', '--for=condition=Established', '--timeout=60s', 'crd/tieredtables.strata.dev']);
    for (const ns of [OPERATOR_NAMESPACE, ...namespaces]) await kubectl(admin, ['create', 'namespace', ns]);
    // The operator may read connection Secrets in the test's namespaces (a Role in each).
    const secretNamespaces = `{${[OPERATOR_NAMESPACE, ...namespaces].join(',')}}`;
    const rendered = await helm(['template', 'strata', repoPath('charts', 'strata'), '--namespace', OPERATOR_NAMESPACE, '--set', `operator.secretNamespaces=${secretNamespaces}`]);
    // `apply -n` refuses objects of another namespace: those go on their own.
    const docs = parseAllDocuments(rendered).map((d) => d.toJS() as { metadata?: { namespace?: string } } | null).filter((d) => d !== null);
    const elsewhere = docs.filter((d) => d.metadata?.namespace && d.metadata.namespace !== OPERATOR_NAMESPACE);
    await kubectl(admin, ['apply', '-n', OPERATOR_NAMESPACE, '-f', '-'], docs.filter((d) => !elsewhere.includes(d)).map((d) => JSON.stringify(d)).join('\n---\n'));
    if (elsewhere.length) await kubectl(admin, ['apply', '-f', '-'], elsewhere.map((d) => JSON.stringify(d)).join('\n---\n'));
    const token = (await kubectl(admin, ['create', 'token', OPERATOR_SERVICE_ACCOUNT, '-n', OPERATOR_NAMESPACE, '--duration=2h'])).trim();
    const operator = join(api.dir, 'operator.kubeconfig');
    writeKubeconfig(operator, api.server, api.caPem, { token });
    return { api, admin, operator, stop: () => api.stop() };
  } catch (err) {
    await api.stop();
    throw err;
  }
}

/** Base64 Secret data from plain strings. */
export function secretManifest(namespace: string, name: string, data: Record<string, string>): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace },
    type: 'Opaque',
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  });
}

/** The env the operator process gets in tests: short periods so conditions move in seconds. */
export function operatorTestEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    POD_NAMESPACE: OPERATOR_NAMESPACE,
    STRATA_OPERATOR_LEASE_NAME: LEASE_NAME,
    // Short enough for takeovers in seconds, long enough that a loaded CI machine does
    // not make a healthy leader miss its renew deadline.
    STRATA_OPERATOR_LEASE_DURATION_SECONDS: '6',
    STRATA_OPERATOR_RENEW_DEADLINE_MS: '5000',
    STRATA_OPERATOR_RETRY_PERIOD_MS: '750',
    STRATA_OPERATOR_RESYNC_MS: '2000',
    STRATA_OPERATOR_BACKOFF_BASE_MS: '200',
    STRATA_OPERATOR_BACKOFF_MAX_MS: '2000',
    ...extra,
  };
}
