// The gateway keeps a TieredTable for every table registered or evolved through it, on a
// real kube-apiserver with the CRD from crds/, as a ServiceAccount holding exactly the
// chart's gateway Role: read back from the API server, not from the gateway's answer.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { getRegisteredTable } from '@strata/core';
import { KubeTieredTableApplier, type KubeAccess } from '@strata/gateway';
import { startGatewayFixture, type GatewayFixture } from '../support/gateway-fixture';
import { kubeTestbedAvailable, startKubeApiserver, writeKubeconfig, type KubeApiserver } from '../support/kube-apiserver';
import { helm, kubectl, kubectlJson, kubectlRun } from '../support/operator-kubectl';
import { freePort } from '../support/ports';
import { repoPath } from '../support/paths';

const NS = 'apps';
const GATEWAY_MAIN = repoPath('gateway', 'dist', 'main.js');

interface TieredTableObject {
  metadata: { name: string; namespace: string; generation: number; labels?: Record<string, string>; managedFields?: Array<{ manager: string; operation: string }> };
  spec: Record<string, unknown> & { columns: Array<{ name: string; type: string }> };
}

/** How the test reaches the API server as a ServiceAccount (the gateway's own loader uses @kubernetes/client-node, which jest cannot load). */
function tokenAccess(server: string, caPem: string, token: string): KubeAccess {
  return {
    server,
    namespace: NS,
    async authorize(opts) {
      opts.ca = caPem;
      opts.headers = { ...(opts.headers as Record<string, string>), Authorization: `Bearer ${token}` };
    },
  };
}

const describeKube = kubeTestbedAvailable() ? describe : describe.skip;

describeKube('TieredTables for tables registered through the gateway (real kube-apiserver)', () => {
  let api: KubeApiserver;
  let f: GatewayFixture;
  let gatewayToken: string;

  beforeAll(async () => {
    api = await startKubeApiserver();
    await kubectl(api.kubeconfig, ['apply', '-f', repoPath('crds', 'tieredtables.strata.dev.yaml')]);
    await kubectl(api.kubeconfig, ['wait', '--for=condition=Established', '--timeout=60s', 'crd/tieredtables.strata.dev']);
    await kubectl(api.kubeconfig, ['create', 'namespace', NS]);
    // The chart's gateway Role and RoleBinding, rendered for this namespace, and nothing more.
    const rbac = await helm(['template', 'strata', repoPath('charts', 'strata'), '--namespace', NS, '--show-only', 'templates/gateway-rbac.yaml']);
    await kubectl(api.kubeconfig, ['apply', '-n', NS, '-f', '-'], rbac);
    await kubectl(api.kubeconfig, ['create', 'serviceaccount', 'strata-gateway', '-n', NS]);
    await kubectl(api.kubeconfig, ['create', 'serviceaccount', 'unbound', '-n', NS]);
    gatewayToken = (await kubectl(api.kubeconfig, ['create', 'token', 'strata-gateway', '-n', NS, '--duration=1h'])).trim();
    f = await startGatewayFixture('gw_kube', { kube: new KubeTieredTableApplier(tokenAccess(api.server, api.caPem, gatewayToken)) });
  });
  afterAll(async () => {
    await f?.close();
    await api?.stop();
  });

  async function post(path: string, body: unknown) {
    const res = await fetch(f.gateway.url + path, { method: 'POST', body: JSON.stringify(body), headers: { ...f.auth, 'content-type': 'application/json' } });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, retryAfter: res.headers.get('retry-after') };
  }
  const getTt = (name: string) => kubectlJson<TieredTableObject>(api.kubeconfig, ['get', 'tieredtable', name, '-n', NS, '--show-managed-fields']);
  const ttExists = async (name: string) => (await kubectlRun(api.kubeconfig, ['get', 'tieredtable', name, '-n', NS])).code === 0;
  const hotTableExists = async (table: string) => (await f.pg.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [`public.${table}`])).rows[0].t !== null;

  const kubeMetrics = {
    table: 'kube_metrics',
    timeColumn: 'time',
    columns: [
      { name: 'time', type: 'timestamptz' },
      { name: 'host', type: 'text' },
      { name: 'value', type: 'double precision' },
    ],
    cold: { orderBy: ['host', 'time'], retention: '30d' },
  };

  test('POST /schema/register creates the tables and the TieredTable, whose spec is the registered one', async () => {
    const res = await post('/schema/register', kubeMetrics);
    expect(res).toMatchObject({ status: 201, body: { table: 'kube_metrics', action: 'created', kubernetes: { namespace: NS, name: 'kube-metrics' } } });
    const tt = await getTt('kube-metrics');
    const registered = (await getRegisteredTable(f.pg, 'kube_metrics'))!.spec;
    expect(tt.spec).toEqual(registered);
    expect(tt.metadata.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'strata-gateway' });
    expect(tt.metadata.managedFields).toEqual(expect.arrayContaining([expect.objectContaining({ manager: 'strata-gateway', operation: 'Apply' })]));
    expect(await hotTableExists('kube_metrics')).toBe(true);
  });

  test('registering again with an added column updates the TieredTable; an unchanged spec leaves it be', async () => {
    const wider = { ...kubeMetrics, columns: [...kubeMetrics.columns, { name: 'region', type: 'text' }] };
    expect(await post('/schema/register', wider)).toMatchObject({ status: 200, body: { action: 'updated', changes: ['column region added'] } });
    const tt = await getTt('kube-metrics');
    expect(tt.spec.columns.map((c) => c.name)).toEqual(['time', 'host', 'value', 'region']);
    expect(tt.metadata.generation).toBe(2);
    expect(await post('/schema/register', wider)).toMatchObject({ status: 200, body: { action: 'unchanged' } });
    expect((await getTt('kube-metrics')).metadata.generation).toBe(2);
  });

  test('an invalid spec is refused with 400: no TieredTable, no tables', async () => {
    const res = await post('/schema/register', { table: 'kube_broken', timeColumn: 'time', columns: [{ name: 'time', type: 'timestamptz' }, { name: 'v', type: 'money' }] });
    expect(res).toMatchObject({ status: 400, body: { error: 'BAD_REQUEST', message: expect.stringContaining('columns[1].type') } });
    expect(await ttExists('kube-broken')).toBe(false);
    expect(await getRegisteredTable(f.pg, 'kube_broken')).toBeNull();
    expect(await hotTableExists('kube_broken')).toBe(false);
  });

  test('a write that adds columns (ingest.unknownFields: addColumns) updates the TieredTable before the rows land', async () => {
    const spec = { table: 'kube_events', timeColumn: 'time', columns: [{ name: 'time', type: 'timestamptz' }, { name: 'msg', type: 'text' }], ingest: { unknownFields: 'addColumns' } };
    expect((await post('/schema/register', spec)).status).toBe(201);
    expect(await post('/write/metrics?table=kube_events', [{ time: '2026-11-25T00:00:00Z', msg: 'm', latency_ms: 12.5 }])).toMatchObject({ status: 200, body: { rows: 1 } });
    const tt = await getTt('kube-events');
    expect(tt.spec.columns).toEqual([
      { name: 'time', type: 'timestamptz' },
      { name: 'msg', type: 'text' },
      { name: 'latency_ms', type: 'double precision' },
    ]);
    expect(tt.spec.ingest).toEqual({ unknownFields: 'addColumns' });
    expect((await f.pg.query('SELECT latency_ms FROM kube_events')).rows).toEqual([{ latency_ms: 12.5 }]);
  });

  test('the gateway process (main.ts) with STRATA_GATEWAY_KUBECONFIG applies TieredTables through @kubernetes/client-node', async () => {
    expect(existsSync(GATEWAY_MAIN)).toBe(true); // built by `npx tsc -b`
    const kubeconfig = join(api.dir, 'gateway.kubeconfig');
    writeKubeconfig(kubeconfig, api.server, api.caPem, { token: gatewayToken });
    const child: ChildProcess = spawn(process.execPath, [GATEWAY_MAIN], {
      env: {
        PATH: process.env.PATH ?? '',
        STRATA_PG_URL: f.db.url,
        STRATA_CLICKHOUSE_URL: f.ch.url,
        STRATA_GATEWAY_INSECURE: '1',
        STRATA_GATEWAY_PORT: '0',
        STRATA_GATEWAY_GRPC_PORT: String(await freePort()),
        STRATA_GATEWAY_KUBECONFIG: kubeconfig,
        STRATA_GATEWAY_NAMESPACE: NS,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const logs: Array<Record<string, unknown>> = [];
      const listening = new Promise<number>((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`gateway exited with ${code}: ${JSON.stringify(logs)}`)));
        createInterface({ input: child.stdout! }).on('line', (line) => {
          const entry = JSON.parse(line) as Record<string, unknown>;
          logs.push(entry);
          if (entry.msg === 'gateway listening') resolve(entry.port as number);
        });
      });
      const port = await listening;
      expect(logs).toEqual(expect.arrayContaining([expect.objectContaining({ msg: 'TieredTables kept for registered tables', namespace: NS, via: 'kubeconfig' })]));
      const res = await fetch(`http://127.0.0.1:${port}/schema/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ table_name: 'kube_from_main', schema: { columns: [{ name: 'time', type: 'timestamp' }, { name: 'n', type: 'double' }] } }),
      });
      expect(res.status).toBe(201);
      expect(await res.json()).toMatchObject({ kubernetes: { namespace: NS, name: 'kube-from-main' } });
      expect((await getTt('kube-from-main')).spec.columns).toEqual([
        { name: 'time', type: 'timestamptz' },
        { name: 'n', type: 'double precision' },
      ]);
    } finally {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
    }
  });

  test('the API server refusing (no RBAC) → 502 with its reason, and the dry run kept the tables from being created', async () => {
    const unbound = (await kubectl(api.kubeconfig, ['create', 'token', 'unbound', '-n', NS, '--duration=1h'])).trim();
    await f.restartGateway({ kube: new KubeTieredTableApplier(tokenAccess(api.server, api.caPem, unbound)) });
    const res = await post('/schema/register', { ...kubeMetrics, table: 'kube_denied' });
    expect(res).toMatchObject({
      status: 502,
      body: { error: 'KUBERNETES_REJECTED', message: expect.stringMatching(/refused TieredTable apps\/kube-denied: 403 Forbidden: .*cannot patch resource "tieredtables"/) },
    });
    expect(await getRegisteredTable(f.pg, 'kube_denied')).toBeNull();
    expect(await hotTableExists('kube_denied')).toBe(false);

    // A write that needs a new column: refused the same way, nothing added, nothing written.
    const write = await post('/write/metrics?table=kube_events', [{ time: '2026-11-25T00:00:01Z', msg: 'denied', retries: 3 }]);
    expect(write).toMatchObject({ status: 502, body: { error: 'KUBERNETES_REJECTED' } });
    expect((await getRegisteredTable(f.pg, 'kube_events'))!.spec.columns.map((c) => c.name)).toEqual(['time', 'msg', 'latency_ms']);
    expect((await f.pg.query(`SELECT count(*)::int AS n FROM kube_events WHERE msg = 'denied'`)).rows).toEqual([{ n: 0 }]);
  });

  test('the API server lost between the dry run and the apply → 503 saying the tables changed; registering again applies the TieredTable', async () => {
    const reachable = new KubeTieredTableApplier(tokenAccess(api.server, api.caPem, gatewayToken));
    const lost = new KubeTieredTableApplier(tokenAccess(`https://127.0.0.1:${await freePort()}`, api.caPem, gatewayToken));
    await f.restartGateway({ kube: { check: (s) => reachable.check(s), apply: (s) => lost.apply(s) } });
    const res = await post('/schema/register', { ...kubeMetrics, table: 'kube_half' });
    expect(res).toMatchObject({
      status: 503,
      body: { error: 'KUBERNETES_UNAVAILABLE', message: expect.stringContaining('table kube_half was changed in both tiers all the same; registering it again applies the TieredTable') },
    });
    expect(await hotTableExists('kube_half')).toBe(true);
    expect(await ttExists('kube-half')).toBe(false);
    await f.restartGateway({ kube: reachable });
    expect(await post('/schema/register', { ...kubeMetrics, table: 'kube_half' })).toMatchObject({ status: 200, body: { action: 'unchanged', kubernetes: { name: 'kube-half' } } });
    expect((await getTt('kube-half')).spec).toEqual((await getRegisteredTable(f.pg, 'kube_half'))!.spec);
  });

  test('the API server unreachable → 503 with Retry-After, nothing created', async () => {
    const closed = `https://127.0.0.1:${await freePort()}`;
    await f.restartGateway({ kube: new KubeTieredTableApplier(tokenAccess(closed, api.caPem, gatewayToken)) });
    const res = await post('/schema/register', { ...kubeMetrics, table: 'kube_unreachable' });
    expect(res).toMatchObject({ status: 503, retryAfter: expect.any(String), body: { error: 'KUBERNETES_UNAVAILABLE', message: expect.stringContaining('ECONNREFUSED') } });
    expect(await getRegisteredTable(f.pg, 'kube_unreachable')).toBeNull();
  });
});
