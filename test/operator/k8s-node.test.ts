// Strata on a real single-node cluster (issue 15, items 2–3): scripts/k8s/node.sh starts
// etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy and a kubelet
// on Debian's containerd; the image `make image` built is imported into containerd;
// `helm install` of charts/strata runs the operator, proxy and gateway as pods, reaching
// the machine's PostgreSQL and a ClickHouse engine through forwarders on the pods'
// bridge. The proxy's Service serves TLS only (a certificate from a CA the test makes,
// verified as sslmode=verify-full does), and the chart's ServiceMonitors are scraped by a
// Prometheus the Prometheus Operator runs on the node (test/support/prometheus-operator.ts).
// Only with STRATA_TEST_K8S=1 (`make test-k8s`): it needs root, the image and changes the
// host's network (undone by `node.sh down`).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { startChdbHttpServer, type ChdbHttpServer } from '../support/cold-endpoint';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { eventually, helm, kubectl, kubectlJson } from '../support/operator-kubectl';
import { secretManifest } from '../support/operator-cluster';
import { repoPath } from '../support/paths';
import { applyPrometheusOperatorCrds, prometheusImageArchives, prometheusManifests, promQuery, startPrometheusOperator, type RunningPrometheusOperator } from '../support/prometheus-operator';
import { makeServiceCertificate, type ServiceCertificate } from '../support/service-certificate';
import { cond, tieredTable, type TtObject } from './manifests';

const run = promisify(execFile);
const ENABLED = process.env.STRATA_TEST_K8S === '1';
const IMAGE = process.env.STRATA_IMAGE ?? 'localhost/strata:dev';
const BRIDGE_IP = '10.244.0.1';
const NS = 'strata';
const NODE = repoPath('scripts', 'k8s', 'node.sh');

/** host:port on the pods' bridge → a service on the host's loopback. */
async function forward(port: number, target: number): Promise<Server> {
  const server = createServer((c) => {
    const up = connect(target, '127.0.0.1');
    c.pipe(up).pipe(c);
    c.on('error', () => up.destroy());
    up.on('error', () => c.destroy());
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, BRIDGE_IP, resolve));
  return server;
}

function step(what: string, t0: number): void {
  console.log(`[k8s] ${what} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

(ENABLED ? describe : describe.skip)('Strata on a real node', () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-node-'));
  const admin = join(dir, 'admin.kubeconfig');
  let db: TestDatabase;
  let ch: ChdbHttpServer;
  let pg: Client;
  let proxyCert: ServiceCertificate;
  let promOperator: RunningPrometheusOperator | undefined;
  const forwards: Server[] = [];
  const t0 = Date.now();
  const getTt = (name: string) => kubectlJson<TtObject>(admin, ['get', 'tt', name, '-n', NS]);
  const waitTt = (what: string, name: string, pred: (o: TtObject) => boolean, timeoutMs = 120_000) =>
    eventually(what, async () => {
      const o = await getTt(name);
      return pred(o) ? o : undefined;
    }, timeoutMs);

  beforeAll(async () => {
    await run(NODE, ['up', dir], { maxBuffer: 1 << 24 });
    step('node Ready', t0);
    const archive = join(dir, 'strata-image.tar');
    const ctrImport = (tar: string) => run('ctr', ['--address', join(dir, 'containerd.sock'), '-n', 'k8s.io', 'images', 'import', tar], { maxBuffer: 1 << 24 });
    await Promise.all([
      run('podman', ['--runtime', 'runc', 'save', '--format', 'docker-archive', '-o', archive, IMAGE]).then(() => ctrImport(archive)),
      ...prometheusImageArchives().map(ctrImport),
      // Before helm install: the chart's ServiceMonitors need the operator's CRDs.
      applyPrometheusOperatorCrds(admin),
    ]);
    promOperator = await startPrometheusOperator(admin, NS, join(dir, 'logs', 'prometheus-operator.log'));
    step(`${IMAGE} and Prometheus's images imported into containerd, the Prometheus Operator's CRDs applied and the operator started`, t0);
    proxyCert = makeServiceCertificate(join(dir, 'proxy-tls'), 'strata-proxy', NS);
    db = await createTestDatabase('k8s_node');
    ch = await startChdbHttpServer();
    forwards.push(await forward(15432, Number(new URL(db.url).port || 5432)), await forward(18123, ch.port));
    pg = new Client({ connectionString: db.url });
    await pg.connect();
  }, 300_000);

  afterAll(async () => {
    if (process.env.STRATA_K8S_KEEP !== '1') {
      await run(NODE, ['down', dir]).catch((err: Error) => console.log(`node.sh down: ${err.message}`));
      // Each component's log and the pods' logs, kept for a failure: .build/k8s-node-logs/.
      rmSync(repoPath('.build', 'k8s-node-logs'), { recursive: true, force: true });
      await run('cp', ['-r', join(dir, 'logs'), repoPath('.build', 'k8s-node-logs')]).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
    await promOperator?.stop();
    for (const f of forwards) f.close();
    await pg?.end();
    await ch?.stop();
    await db?.drop();
  }, 120_000);

  test('helm install: every pod becomes Ready through its own probes', async () => {
    await kubectl(admin, ['create', 'namespace', NS]);
    const podUrl = new URL(db.url);
    podUrl.hostname = BRIDGE_IP;
    podUrl.port = '15432';
    await kubectl(admin, ['apply', '-f', '-'], secretManifest(NS, 'strata-connection', { pgUrl: podUrl.toString(), clickhouseUrl: `http://${BRIDGE_IP}:18123`, clickhouseDatabase: 'strata' }));
    await kubectl(admin, ['apply', '-f', '-'], secretManifest(NS, 'strata-proxy-users', { users: 'grafana:grafana-pw' }));
    await kubectl(admin, ['apply', '-f', '-'], secretManifest(NS, 'strata-gateway-tokens', { tokens: 'ingest-token-0123456789' }));
    await kubectl(admin, ['create', 'secret', 'tls', 'strata-proxy-tls', '-n', NS, `--cert=${proxyCert.certFile}`, `--key=${proxyCert.keyFile}`]);
    const [repository, tag] = IMAGE.split(/:(?=[^:/]+$)/);
    await helm([
      'install', 'strata', repoPath('charts', 'strata'), '--kubeconfig', admin, '--namespace', NS,
      '--set', `image.repository=${repository}`, '--set', `image.tag=${tag}`, '--set', 'image.pullPolicy=Never',
      '--set', 'proxy.replicas=1', '--set', 'gateway.replicas=1', '--set', 'operator.replicas=2',
      '--set', 'proxy.tlsSecret=strata-proxy-tls', '--set', 'serviceMonitor.enabled=true', '--set', 'serviceMonitor.interval=5s',
    ]);
    step('helm install (proxy TLS, ServiceMonitors)', t0);
    // The Prometheus selecting the release's ServiceMonitors starts beside Strata's pods.
    await kubectl(admin, ['apply', '-f', '-'], prometheusManifests({ name: 'strata', namespace: NS, release: 'strata', scrapeInterval: '5s' }));
    // One wait per Deployment: kubectl wait's timeout is shared by all the pods it waits for.
    try {
      for (const d of ['strata-operator', 'strata-proxy', 'strata-gateway']) {
        await kubectl(admin, ['rollout', 'status', `deployment/${d}`, '-n', NS, '--timeout=180s']);
        step(`${d} Ready`, t0);
      }
    } finally {
      console.log(await kubectl(admin, ['get', 'pods', '-n', NS, '-o', 'wide']));
    }
    step('every pod Ready', t0);
  }, 300_000);

  test('kubectl apply of a TieredTable → the operator pod reconciles it → a CronJob Job pod moves rows → the watermark advances', async () => {
    await kubectl(admin, ['apply', '-f', '-'], tieredTable({ name: 'metrics', namespace: NS, table: 'metrics', secret: null, every: '1m', deletionPolicy: 'Delete' }));
    await waitTt('metrics Ready', 'metrics', (o) => cond(o, 'Ready')?.status === 'True');
    step('TieredTable Ready (reconciled by the operator pod)', t0);
    await pg.query(`INSERT INTO metrics SELECT now() - interval '30 hours' - make_interval(secs => g), 'api', 'h' || (g % 3), g FROM generate_series(1, 300) g`);
    const moved = await waitTt('rows moved by a tiering Job', 'metrics', (o) => o.status?.rowsCold === 300 && o.status?.rowsHot === 0, 200_000);
    step(`CronJob fired, Job pod moved 300 rows; watermark ${moved.status!.watermark}`, t0);
    console.log(await kubectl(admin, ['get', 'tt,cronjobs,jobs', '-n', NS]));
    // The Job's pod moved the rows; the Job itself completes a moment later.
    await eventually('a tiering Job succeeded', async () => {
      const jobs = await kubectlJson<{ items: Array<{ status: { succeeded?: number } }> }>(admin, ['get', 'jobs', '-n', NS]);
      return jobs.items.some((j) => j.status.succeeded === 1);
    }, 60_000, 1000);
  }, 300_000);

  test('through the Services: reads of both tiers via the proxy (TLS verify-full, SCRAM), a gateway write read back through the proxy', async () => {
    const svcIp = async (name: string) => (await kubectlJson<{ spec: { clusterIP: string } }>(admin, ['get', 'svc', name, '-n', NS])).spec.clusterIP;
    const proxyIp = await svcIp('strata-proxy');
    const gatewayIp = await svcIp('strata-gateway');
    // A hot row beside the 300 cold ones.
    await pg.query(`INSERT INTO metrics VALUES (now(), 'web', 'h1', 1)`);
    const database = new URL(db.url).pathname.slice(1);
    const serviceName = proxyCert.dnsNames[2]; // strata-proxy.strata.svc
    // As sslmode=verify-full: the chain up to the test's CA and the Service's name (no
    // cluster DNS here, so the name is checked while the ClusterIP is dialled).
    const viaProxy = new Client({ host: proxyIp, port: 5432, user: 'grafana', password: 'grafana-pw', database, ssl: { ca: readFileSync(proxyCert.caFile, 'utf8'), servername: serviceName } });
    await viaProxy.connect();
    try {
      const socket = (viaProxy as unknown as { connection: { stream: TLSSocket } }).connection.stream;
      expect([socket.encrypted, socket.authorized, socket.getPeerCertificate().subjectaltname]).toEqual([true, true, expect.stringContaining(`DNS:${serviceName}`)]);
      const both = await viaProxy.query<{ n: number }>(`SELECT count(*)::int AS n FROM metrics WHERE time > now() - interval '3 days'`);
      expect(both.rows[0].n).toBe(301);
      step(`proxy Service ${proxyIp}:5432 (${socket.getProtocol()}, certificate verified for ${serviceName}, SCRAM) read both tiers: 301 rows`, t0);
      // psql the same way (hostaddr dials, host is the name verified), and what it refuses.
      const psql = (conninfo: string, ...commands: string[]) =>
        run('psql', ['-X', '-A', '-t', `${conninfo} hostaddr=${proxyIp} port=5432 dbname=${database} user=grafana`, ...commands.flatMap((c) => ['-c', c])], { env: { ...process.env, PGPASSWORD: 'grafana-pw' } });
      const verified = await psql(`host=${serviceName} sslmode=verify-full sslrootcert=${proxyCert.caFile}`, '\\conninfo', `SELECT count(*) FROM metrics WHERE time > now() - interval '3 days'`);
      expect(verified.stdout).toMatch(/SSL connection \(protocol: TLSv1\.[23]/);
      expect(verified.stdout.trim().split('\n').pop()).toBe('301');
      await expect(psql(`host=${serviceName} sslmode=disable`, 'SELECT 1')).rejects.toThrow(/accepts only connections over TLS/);
      await expect(psql(`host=strata-gateway.${NS}.svc sslmode=verify-full sslrootcert=${proxyCert.caFile}`, 'SELECT 1')).rejects.toThrow(/does not match host name/);
      step(`psql sslmode=verify-full: ${verified.stdout.split('\n').find((l) => l.startsWith('SSL connection'))}; sslmode=disable refused; another name refused`, t0);
      const res = await fetch(`http://${gatewayIp}:8080/write/metrics?table=metrics`, {
        method: 'POST',
        headers: { authorization: 'Bearer ingest-token-0123456789', 'content-type': 'application/json' },
        body: JSON.stringify([{ time: new Date().toISOString(), app: 'gw', host: 'g1', value: 7 }]),
      });
      expect([res.status, await res.text()]).toEqual([200, expect.any(String)]);
      const written = await viaProxy.query<{ n: number }>(`SELECT count(*)::int AS n FROM metrics WHERE app = 'gw'`);
      expect(written.rows[0].n).toBe(1);
      step(`gateway Service ${gatewayIp}:8080 write read back through the proxy`, t0);
    } finally {
      await viaProxy.end();
    }
  }, 120_000);

  test("the chart's ServiceMonitors scraped: a Prometheus run by the Prometheus Operator has every target up and Strata's metrics", async () => {
    await kubectl(admin, ['rollout', 'status', 'statefulset/prometheus-strata', '-n', NS, '--timeout=180s']);
    const monitors = await kubectlJson<{ items: Array<{ metadata: { name: string } }> }>(admin, ['get', 'servicemonitors', '-n', NS]);
    const services = monitors.items.map((m) => m.metadata.name).sort();
    expect(services).toEqual(['strata-gateway', 'strata-operator', 'strata-proxy']);
    const podIp = (await kubectlJson<{ status: { podIP: string } }>(admin, ['get', 'pod', 'prometheus-strata-0', '-n', NS])).status.podIP;
    const prometheus = `http://${podIp}:9090`;
    step(`Prometheus (StatefulSet prometheus-strata, made by the Prometheus Operator) Ready at ${prometheus}`, t0);
    // Each ServiceMonitor's Service has targets, all up: the selector, port name and path
    // the chart wrote reached real pods (the operator has two replicas, both serve /metrics).
    const up = await eventually('every ServiceMonitor target up', async () => {
      const samples = await promQuery(prometheus, `up{namespace="${NS}"}`);
      const byService = new Map<string, number[]>();
      for (const x of samples) byService.set(x.metric.service, [...(byService.get(x.metric.service) ?? []), x.value]);
      const complete = services.every((svc) => byService.get(svc)?.length && byService.get(svc)!.every((v) => v === 1)) && byService.get('strata-operator')!.length === 2;
      return complete ? samples : undefined;
    }, 120_000, 1000);
    expect(up.map((x) => `${x.metric.job} ${x.metric.endpoint}`).sort()).toEqual(['strata-gateway http', 'strata-operator http', 'strata-operator http', 'strata-proxy metrics']);
    // What happened earlier in this run, seen through the scrapes: the TLS reads above,
    // the gateway's row, the watermark of the table the CronJob tiered (honorLabels keeps
    // the TieredTable's namespace as `namespace`).
    const seen = await eventually("Strata's metrics scraped", async () => {
      const [connections, rows, watermark] = await Promise.all([
        promQuery(prometheus, `sum(strata_proxy_client_connections_total{service="strata-proxy"})`),
        promQuery(prometheus, `sum(strata_gateway_rows_accepted_total{service="strata-gateway", table="metrics"})`),
        promQuery(prometheus, `max(strata_tiering_watermark_seconds{service="strata-operator", namespace="${NS}", table="metrics"})`),
      ]);
      const ok = connections[0]?.value >= 2 && rows[0]?.value === 1 && watermark[0]?.value > 0;
      return ok ? { connections: connections[0].value, watermark: watermark[0].value } : undefined;
    }, 90_000, 1000);
    // The CronJob keeps advancing W every minute: the scraped value is one it had lately.
    const tt = await getTt('metrics');
    const current = Date.parse(tt.status!.watermark!) / 1000;
    expect(seen.watermark).toBeLessThanOrEqual(current);
    expect(seen.watermark).toBeGreaterThan(current - 300);
    step(`Prometheus scraped ${up.length} targets up; strata_proxy_client_connections_total ${seen.connections}, the gateway's row, strata_tiering_watermark_seconds = ${tt.status!.watermark}`, t0);
  }, 300_000);

  test('the leading operator pod deleted: the other replica takes the Lease and reconciles', async () => {
    const holder = async () => (await kubectlJson<{ spec: { holderIdentity?: string } }>(admin, ['get', 'lease', 'strata-operator', '-n', NS])).spec.holderIdentity;
    const leader = await holder();
    expect(leader).toMatch(/^strata-operator-/);
    await kubectl(admin, ['delete', 'pod', leader!, '-n', NS, '--wait=false']);
    const next = await eventually('another replica leads', async () => {
      const h = await holder();
      return h && h !== leader ? h : undefined;
    }, 120_000);
    step(`${leader} deleted; ${next} holds the Lease`, t0);
    const before = await getTt('metrics');
    await kubectl(admin, ['apply', '-f', '-'], tieredTable({ name: 'metrics', namespace: NS, table: 'metrics', secret: null, every: '1m', deletionPolicy: 'Delete', coldRetention: '60d' }));
    await waitTt('the new leader reconciled generation 2', 'metrics', (o) => o.metadata.generation > before.metadata.generation && o.status?.observedGeneration === o.metadata.generation && cond(o, 'Ready')?.status === 'True');
    step('the new leader reconciled a spec change', t0);
  }, 180_000);

  test('deleting the TieredTable (deletionPolicy Delete) runs the finalizer in the operator pod', async () => {
    await kubectl(admin, ['delete', 'tt', 'metrics', '-n', NS, '--wait=true', '--timeout=120s']);
    expect((await pg.query("SELECT to_regclass('metrics') AS t")).rows[0].t).toBeNull();
    step('finalizer dropped both tiers', t0);
  }, 180_000);

  test('helm upgrade to a changed value rolls the pods; helm uninstall leaves the data', async () => {
    await kubectl(admin, ['apply', '-f', '-'], tieredTable({ name: 'kept', namespace: NS, table: 'kept', secret: null, every: '1m' }));
    await waitTt('kept Ready', 'kept', (o) => cond(o, 'Ready')?.status === 'True');
    const podsBefore = (await kubectl(admin, ['get', 'pods', '-n', NS, '-l', 'app.kubernetes.io/component=operator', '-o', 'name'])).trim().split('\n').sort();
    const [repository, tag] = IMAGE.split(/:(?=[^:/]+$)/);
    await helm([
      'upgrade', 'strata', repoPath('charts', 'strata'), '--kubeconfig', admin, '--namespace', NS, '--reuse-values',
      '--set', `image.repository=${repository}`, '--set', `image.tag=${tag}`, '--set', 'operator.logLevel=debug',
    ]);
    await kubectl(admin, ['rollout', 'status', 'deployment/strata-operator', '-n', NS, '--timeout=180s']);
    // The old leader releases its Lease on SIGTERM; its pod may still be terminating.
    await kubectl(admin, ['wait', '--for=delete', ...podsBefore, '-n', NS, '--timeout=120s']);
    const podsAfter = (await kubectl(admin, ['get', 'pods', '-n', NS, '-l', 'app.kubernetes.io/component=operator', '-o', 'name'])).trim().split('\n').sort();
    expect(podsAfter.filter((p) => podsBefore.includes(p))).toEqual([]);
    step('helm upgrade (operator.logLevel=debug) rolled the operator pods', t0);
    await helm(['uninstall', 'strata', '--kubeconfig', admin, '--namespace', NS, '--wait', '--timeout', '120s']);
    // The CRD (helm keeps CRDs) and the TieredTable stay; deletionPolicy Retain keeps the table.
    expect((await pg.query("SELECT to_regclass('kept')::text AS t")).rows[0].t).toBe('kept');
    step('helm uninstall: table kept (CRDs and TieredTables are not removed by helm)', t0);
  }, 300_000);
});
