// The Prometheus Operator against the real node's API server, so the chart's
// ServiceMonitors are scraped the way a user's cluster scrapes them: the operator's CRDs
// (from its Go module), the operator itself (built from that module, run on the host with
// the admin kubeconfig), and a Prometheus resource it turns into a StatefulSet whose pod
// runs Prometheus (built from its Go module) with the operator's config-reloader, discovering targets
// through the API server from the config the operator generated out of the
// ServiceMonitors (scripts/k8s/prometheus-operator.sh builds and caches all of it).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoPath } from './paths';
import { testbedBin } from './kube-apiserver';
import { kubectl } from './operator-kubectl';
import { freePort } from './ports';

const run = promisify(execFile);
const SCRIPT = repoPath('scripts', 'k8s', 'prometheus-operator.sh');
export const PROMETHEUS_OPERATOR_VERSION = process.env.STRATA_PROMETHEUS_OPERATOR_VERSION ?? 'v0.85.0';
export const PROMETHEUS_VERSION = 'v3.5.0';
export const PROMETHEUS_IMAGE = `localhost/prometheus:${PROMETHEUS_VERSION}`;
export const RELOADER_IMAGE = `localhost/prometheus-config-reloader:${PROMETHEUS_OPERATOR_VERSION}`;

/** The cached image archives, for `ctr images import`. */
export function prometheusImageArchives(): string[] {
  const images = join(process.env.STRATA_CACHE ?? join(homedir(), '.cache', 'strata'), 'image');
  return [join(images, `prometheus-${PROMETHEUS_VERSION}.tar`), join(images, `prometheus-config-reloader-${PROMETHEUS_OPERATOR_VERSION}.tar`)];
}

/** The CRDs of the operator's release (server-side: the Prometheus CRD is too large for the last-applied annotation). */
export async function applyPrometheusOperatorCrds(kubeconfig: string): Promise<void> {
  const { stdout } = await run(SCRIPT, ['crds']);
  await kubectl(kubeconfig, ['apply', '--server-side', '-f', stdout.trim()]);
  await kubectl(kubeconfig, ['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s']);
}

export interface RunningPrometheusOperator {
  stop(): Promise<void>;
}

/** The operator watching one namespace, its log appended to logFile. */
export async function startPrometheusOperator(kubeconfig: string, namespace: string, logFile: string): Promise<RunningPrometheusOperator> {
  const log = createWriteStream(logFile, { flags: 'a' });
  const child: ChildProcess = spawn(
    testbedBin(`prometheus-operator-${PROMETHEUS_OPERATOR_VERSION}`),
    [`--namespaces=${namespace}`, `--prometheus-config-reloader=${RELOADER_IMAGE}`, `--web.listen-address=127.0.0.1:${await freePort()}`, '--log-level=info'],
    { env: { ...process.env, KUBECONFIG: kubeconfig }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  return {
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      log.end();
    },
  };
}

/**
 * A Prometheus resource selecting the ServiceMonitors of a Helm release in its namespace,
 * with the ServiceAccount and Role its pod's Kubernetes service discovery needs.
 */
export function prometheusManifests(o: { name: string; namespace: string; release: string; scrapeInterval: string }): string {
  const meta = { name: `prometheus-${o.name}`, namespace: o.namespace };
  const items = [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: meta,
      rules: [
        { apiGroups: [''], resources: ['services', 'endpoints', 'pods'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: meta.name },
      subjects: [{ kind: 'ServiceAccount', name: meta.name, namespace: o.namespace }],
    },
    {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'Prometheus',
      metadata: { name: o.name, namespace: o.namespace },
      spec: {
        version: PROMETHEUS_VERSION,
        image: PROMETHEUS_IMAGE,
        imagePullPolicy: 'Never',
        replicas: 1,
        serviceAccountName: meta.name,
        serviceMonitorSelector: { matchLabels: { 'app.kubernetes.io/instance': o.release } },
        scrapeInterval: o.scrapeInterval,
        resources: { requests: { cpu: '50m', memory: '128Mi' } },
      },
    },
  ];
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
}

export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

/** An instant query through Prometheus's HTTP API. */
export async function promQuery(baseUrl: string, query: string): Promise<PromSample[]> {
  const res = await fetch(`${baseUrl}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await res.json()) as { status: string; error?: string; data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
  if (body.status !== 'success') throw new Error(`query ${query}: ${body.error ?? res.status}`);
  return body.data!.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}
