// The operator against a real kube-apiserver + etcd, real PostgreSQL and the real
// ClickHouse engine (chDB behind its HTTP endpoint), running as its own process with
// exactly the Helm chart's RBAC (a token of the chart's ServiceAccount).
import { Client } from 'pg';
import { createColdStore, type ColdStore } from '@strata/core';
import { startChdbHttpServer, type ChdbHttpServer } from '../support/cold-endpoint';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { eventually, kubectl, kubectlJson, kubectlRun } from '../support/operator-kubectl';
import { OPERATOR_NAMESPACE, operatorTestEnv, secretManifest, startOperatorCluster, type OperatorCluster } from '../support/operator-cluster';
import { startOperatorProcess, type OperatorProcess } from '../support/operator-process';
import { startSwitchableProxy, type SwitchableProxy } from '../support/operator-net';
import { cond, tieredTable, type TtObject } from './manifests';

const NS = 'apps';
const PG_PASSWORD = 'pg-s3cret-pw';
const CH_USER = 'strata';
const CH_PASSWORD = 'ch-s3cret-pw';

describe('operator on a real kube-apiserver', () => {
  let cluster: OperatorCluster;
  let db: TestDatabase;
  let ch: ChdbHttpServer;
  let pgProxy: SwitchableProxy;
  let chProxy: SwitchableProxy;
  let op: OperatorProcess;
  let pg: Client;
  let cold: ColdStore;

  const getTt = (name: string) => kubectlJson<TtObject>(cluster.admin, ['get', 'tt', name, '-n', NS]);
  const waitTt = (what: string, name: string, pred: (o: TtObject) => boolean, timeoutMs = 60_000) =>
    eventually(what, async () => {
      const o = await getTt(name);
      return pred(o) ? o : undefined;
    }, timeoutMs);
  const apply = (manifest: string) => kubectl(cluster.admin, ['apply', '-f', '-'], manifest);
  const pgColumns = async (table: string) =>
    (await pg.query<{ column_name: string }>('SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position', [table])).rows.map((r) => r.column_name);
  const chTables = async () => (await cold.query<{ name: string }>("SELECT name FROM system.tables WHERE database = 'strata' ORDER BY name")).map((r) => r.name);

  beforeAll(async () => {
    cluster = await startOperatorCluster([NS]);
    db = await createTestDatabase('operator');
    ch = await startChdbHttpServer({ user: CH_USER, password: CH_PASSWORD });
    const pgPort = Number(new URL(db.url).port || 5432);
    pgProxy = await startSwitchableProxy(pgPort);
    chProxy = await startSwitchableProxy(ch.port);
    // PostgreSQL here trusts local connections, so the password is never checked; it
    // is there to prove credentials stay out of logs, events and status.
    const withPassword = new URL(db.url);
    withPassword.password = PG_PASSWORD;
    const viaProxy = new URL(withPassword);
    viaProxy.port = String(pgProxy.port);
    await apply(
      secretManifest(NS, 'strata-connection', {
        pgUrl: viaProxy.toString(),
        clickhouseUrl: `http://127.0.0.1:${chProxy.port}`,
        clickhouseUser: CH_USER,
        clickhousePassword: CH_PASSWORD,
        clickhouseDatabase: 'strata',
      }),
    );
    pg = new Client({ connectionString: db.url });
    await pg.connect();
    cold = createColdStore({ kind: 'http', url: ch.url, username: CH_USER, password: CH_PASSWORD, database: 'default' });
    // Its own settings (what the chart passes from its Secret) serve tables without spec.connection.
    op = await startOperatorProcess(
      cluster.operator,
      operatorTestEnv({
        STRATA_OPERATOR_TIERING: 'in-process',
        // One replica here: nothing to take over, so a lease that tolerates a slow machine.
        STRATA_OPERATOR_LEASE_DURATION_SECONDS: '30',
        STRATA_OPERATOR_RENEW_DEADLINE_MS: '20000',
        STRATA_PG_URL: withPassword.toString(),
        STRATA_CLICKHOUSE_URL: ch.url,
        STRATA_CLICKHOUSE_USER: CH_USER,
        STRATA_CLICKHOUSE_PASSWORD: CH_PASSWORD,
      }),
      'op-main',
    );
  });

  afterAll(async () => {
    await op?.stop();
    await pg?.end();
    await cold?.close();
    await pgProxy?.close();
    await chProxy?.close();
    await ch?.stop();
    await db?.drop();
    await cluster?.stop();
  });

  test('apply → both tiers exist, tiering runs, `kubectl get tt` shows Ready with the watermark', async () => {
    const t0 = Date.now();
    await apply(tieredTable({ name: 'metrics', namespace: NS, table: 'metrics' }));
    const ready = await waitTt('metrics Ready with a watermark', 'metrics', (o) => cond(o, 'Ready')?.status === 'True' && !!o.status?.watermark);
    console.log(`kubectl apply → Ready with a watermark: ${Date.now() - t0} ms`);
    expect(ready.metadata.finalizers).toContain('strata.dev/tables');
    expect(ready.status!.observedGeneration).toBe(ready.metadata.generation);
    for (const type of ['HotReady', 'ColdReady', 'SchemaInSync', 'TieringHealthy']) expect(cond(ready, type)).toMatchObject({ status: 'True', observedGeneration: ready.metadata.generation });
    expect(await pgColumns('metrics')).toEqual(['time', 'app', 'host', 'value']);
    expect(await chTables()).toEqual(expect.arrayContaining(['metrics', 'metrics__rollup_1m']));

    // Old rows move to ClickHouse on the next in-process run; status reports them.
    await pg.query(
      `INSERT INTO metrics SELECT now() - interval '30 hours' - make_interval(secs => g), 'api', 'h' || (g % 3), g FROM generate_series(1, 500) g`,
    );
    const moved = await waitTt('500 rows in the cold tier', 'metrics', (o) => o.status?.rowsCold === 500 && o.status?.rowsHot === 0);
    expect(moved.status!.lastTiering).toMatchObject({ finishedAt: expect.any(String) });
    expect(moved.status!.lastTiering!.error).toBeUndefined();
    expect(moved.status!.lagSeconds).toBeGreaterThanOrEqual(0);

    const printed = await kubectl(cluster.admin, ['get', 'tt', '-n', NS]);
    const [header, row] = printed.trim().split('\n');
    expect(header.split(/\s+/)).toEqual(['NAME', 'TABLE', 'MODE', 'WATERMARK', 'LAG', 'READY', 'AGE']);
    const cols = row.split(/\s+/);
    expect(cols.slice(0, 3)).toEqual(['metrics', 'metrics', 'hot-then-cold']);
    expect(Date.parse(cols[3])).toBe(Date.parse(moved.status!.watermark!));
    expect(cols[5]).toBe('True');

    const events = await kubectl(cluster.admin, ['get', 'events', '-n', NS, '--field-selector', 'involvedObject.name=metrics', '-o', 'custom-columns=R:.reason', '--no-headers']);
    expect(events.split('\n')).toEqual(expect.arrayContaining(['Created', 'TieringScheduled']));

    for (const probe of ['healthz', 'readyz']) expect((await fetch(`http://127.0.0.1:${op.port}/${probe}`)).status).toBe(200);
    expect(await op.metric('strata_operator_leader')).toBe(1);
    expect(await op.metric('strata_operator_tiering_rows_total')).toBeGreaterThanOrEqual(500);
    expect(await op.metric('strata_operator_reconcile_total', { result: 'success' })).toBeGreaterThan(0);
  });

  test('a spec change (new column, new cold retention) reaches both tiers and observedGeneration advances', async () => {
    const before = await getTt('metrics');
    await apply(tieredTable({ name: 'metrics', namespace: NS, table: 'metrics', extraColumns: [{ name: 'region', type: 'text' }], coldRetention: '90d' }));
    const after = await waitTt('generation 2 observed', 'metrics', (o) => o.metadata.generation > before.metadata.generation && o.status?.observedGeneration === o.metadata.generation && cond(o, 'Ready')?.status === 'True');
    expect(cond(after, 'SchemaInSync')).toMatchObject({ status: 'True', observedGeneration: after.metadata.generation });
    expect(await pgColumns('metrics')).toContain('region');
    const chCols = await cold.query<{ name: string }>("SELECT name FROM system.columns WHERE database = 'strata' AND table = 'metrics'");
    expect(chCols.map((c) => c.name)).toContain('region');
    const ddl = await cold.query<{ q: string }>("SELECT create_table_query AS q FROM system.tables WHERE database = 'strata' AND name = 'metrics'");
    expect(ddl[0].q).toMatch(/TTL .*toIntervalDay\(90\)|TTL .*INTERVAL 90 DAY|TTL .*7776000/);
    const events = await kubectl(cluster.admin, ['get', 'events', '-n', NS, '--field-selector', 'involvedObject.name=metrics,reason=Updated', '-o', 'custom-columns=M:.message', '--no-headers']);
    expect(events).toContain('column region added');
  });

  test('the API server refuses what the CRD schema can judge: a missing time column, an immutable field', async () => {
    const bad = await kubectlRun(cluster.admin, ['apply', '-f', '-'], tieredTable({ name: 'bad-time', namespace: NS, table: 'bad_time', timeColumn: 'ts' }));
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('timeColumn must be the name of one of the columns');
    const renamed = await kubectlRun(cluster.admin, ['apply', '-f', '-'], tieredTable({ name: 'metrics', namespace: NS, table: 'metrics_renamed', extraColumns: [{ name: 'region', type: 'text' }], coldRetention: '90d' }));
    expect(renamed.code).not.toBe(0);
    expect(renamed.stderr).toContain('table is immutable');
  });

  test('the API server refuses changes that would rewrite a tier: cold layout, removed columns (CEL transition rules)', async () => {
    const current = { name: 'metrics', namespace: NS, table: 'metrics', extraColumns: [{ name: 'region', type: 'text' }], coldRetention: '90d' };
    const layout = await kubectlRun(cluster.admin, ['apply', '-f', '-'], tieredTable({ ...current, partitionBy: 'month' }));
    expect(layout.code).not.toBe(0);
    expect(layout.stderr).toContain('cold.partitionBy is immutable');
    const removed = await kubectlRun(cluster.admin, ['apply', '-f', '-'], tieredTable({ ...current, extraColumns: [] }));
    expect(removed.code).not.toBe(0);
    expect(removed.stderr).toContain('columns cannot be removed');
  });

  test('a change only core can refuse (a redefined rollup) → SchemaInSync=False ChangeRefused; reverting it recovers', async () => {
    const current = { name: 'metrics', namespace: NS, table: 'metrics', extraColumns: [{ name: 'region', type: 'text' }], coldRetention: '90d' };
    await apply(tieredTable({ ...current, rollupAggregates: { value: ['avg', 'max', 'count', 'min'] } }));
    const refused = await waitTt('ChangeRefused', 'metrics', (o) => cond(o, 'SchemaInSync')?.reason === 'ChangeRefused' && o.status?.observedGeneration === o.metadata.generation);
    expect(cond(refused, 'Ready')).toMatchObject({ status: 'False', reason: 'ChangeRefused' });
    expect(cond(refused, 'SchemaInSync')!.message).toContain('rollup "1m" cannot change');
    await apply(tieredTable(current));
    await waitTt('in sync again', 'metrics', (o) => cond(o, 'Ready')?.status === 'True' && o.status?.observedGeneration === o.metadata.generation);
    const events = await kubectl(cluster.admin, ['get', 'events', '-n', NS, '--field-selector', 'involvedObject.name=metrics,reason=ChangeRefused', '-o', 'name']);
    expect(events.trim().split('\n')).toHaveLength(1);
  });

  test('a spec only core can judge invalid gets Ready=False with the reason, one Warning event, and no hot loop', async () => {
    // avg of a text column: the CRD cannot know column types of aggregates, core does.
    await apply(tieredTable({ name: 'bad-agg', namespace: NS, table: 'bad_agg', rollupAggregates: { app: ['avg'] } }));
    const o = await waitTt('bad-agg Ready=False', 'bad-agg', (x) => cond(x, 'Ready')?.status === 'False');
    expect(cond(o, 'Ready')).toMatchObject({ reason: 'InvalidSpec', observedGeneration: o.metadata.generation });
    expect(cond(o, 'SchemaInSync')!.message).toContain('spec.rollups[0].aggregates.app');
    const invalidBefore = await op.metric('strata_operator_reconcile_total', { result: 'invalid' });
    await new Promise((r) => setTimeout(r, 6000));
    const invalidAfter = await op.metric('strata_operator_reconcile_total', { result: 'invalid' });
    // Only the 2 s resync touches it (≤ 4 in 6 s); a hot loop would be hundreds.
    expect(invalidAfter - invalidBefore).toBeLessThanOrEqual(4);
    const events = await kubectl(cluster.admin, ['get', 'events', '-n', NS, '--field-selector', 'involvedObject.name=bad-agg,reason=InvalidSpec', '-o', 'name']);
    expect(events.trim().split('\n')).toHaveLength(1);
    expect((await pg.query("SELECT to_regclass('bad_agg') AS t")).rows[0].t).toBeNull();
    await kubectl(cluster.admin, ['delete', 'tt', 'bad-agg', '-n', NS, '--wait=true', '--timeout=30s']);
  });

  test('a ClickHouse outage turns ColdReady and Ready False with a reason, and they recover by themselves', async () => {
    const before = (await getTt('metrics')).status!.rowsCold!;
    chProxy.setTarget(null);
    await pg.query(`INSERT INTO metrics (time, app, host, value) SELECT now() - interval '40 hours' - make_interval(secs => g), 'web', 'h9', g FROM generate_series(1, 100) g`);
    // The in-process run fails too: status shows its error while PostgreSQL keeps the rows.
    const down = await waitTt('ColdReady False and a failed run', 'metrics', (o) => cond(o, 'ColdReady')?.status === 'False' && !!o.status?.lastTiering?.error);
    expect(cond(down, 'ColdReady')!.reason).toBe('ColdUnavailable');
    expect(cond(down, 'Ready')).toMatchObject({ status: 'False', reason: 'ColdUnavailable' });
    expect(cond(down, 'TieringHealthy')).toMatchObject({ status: 'False', reason: 'TieringFailed' });
    expect(down.status!.rowsHot).toBe(100);
    chProxy.setTarget(ch.port);
    const up = await waitTt('Ready again, rows moved', 'metrics', (o) => cond(o, 'Ready')?.status === 'True' && o.status?.rowsCold === before + 100);
    expect(up.status!.lastTiering!.error).toBeUndefined();
    expect(up.status!.rowsHot).toBe(0);
    const reasons = await kubectl(cluster.admin, ['get', 'events', '-n', NS, '--field-selector', 'involvedObject.name=metrics', '-o', 'custom-columns=R:.reason', '--no-headers']);
    expect(reasons.split('\n')).toEqual(expect.arrayContaining(['ColdUnavailable', 'Recovered']));
  });

  test('a PostgreSQL outage turns HotReady and Ready False with a reason, and they recover by themselves', async () => {
    pgProxy.setTarget(null);
    const down = await waitTt('HotReady False', 'metrics', (o) => cond(o, 'HotReady')?.status === 'False');
    expect(cond(down, 'HotReady')!.reason).toBe('HotUnavailable');
    expect(cond(down, 'Ready')!.status).toBe('False');
    pgProxy.setTarget(Number(new URL(db.url).port || 5432));
    await waitTt('Ready again', 'metrics', (o) => cond(o, 'Ready')?.status === 'True' && cond(o, 'HotReady')?.status === 'True');
  });

  test("cold-only and hot-only tables without spec.connection use the operator's own settings, in its own namespace only", async () => {
    const HOME = OPERATOR_NAMESPACE;
    const getHome = (name: string, what: string, pred: (o: TtObject) => boolean) =>
      eventually(what, async () => {
        const o = await kubectlJson<TtObject>(cluster.admin, ['get', 'tt', name, '-n', HOME]);
        return pred(o) ? o : undefined;
      }, 60_000);
    await apply(tieredTable({ name: 'logs', namespace: HOME, table: 'logs', mode: 'cold-only', secret: null, deletionPolicy: 'Delete' }));
    await apply(tieredTable({ name: 'sessions', namespace: HOME, table: 'sessions', mode: 'hot-only', secret: null, deletionPolicy: 'Delete' }));
    const logs = await getHome('logs', 'logs Ready', (o) => cond(o, 'Ready')?.status === 'True');
    expect(cond(logs, 'HotReady')).toMatchObject({ status: 'True', reason: 'NotUsed' });
    expect(cond(logs, 'TieringHealthy')).toMatchObject({ status: 'True', reason: 'NotTiered' });
    await getHome('sessions', 'sessions Ready', (o) => cond(o, 'Ready')?.status === 'True');
    // hot-only runs delete rows past hot.retention instead of moving them.
    await pg.query(`INSERT INTO sessions SELECT now() - interval '30 hours' - make_interval(secs => g), 'api', 'h', 1 FROM generate_series(1, 10) g`);
    await pg.query(`INSERT INTO sessions SELECT now() - make_interval(secs => g), 'api', 'h', 1 FROM generate_series(1, 5) g`);
    const sessions = await getHome('sessions', 'expired rows deleted', (o) => o.status?.rowsHot === 5 && cond(o, 'TieringHealthy')?.reason === 'TieringSucceeded');
    expect(cond(sessions, 'ColdReady')).toMatchObject({ status: 'True', reason: 'NotUsed' });
    expect(await chTables()).toContain('logs');
    expect(await chTables()).not.toContain('sessions');
    expect((await pg.query("SELECT to_regclass('logs') AS t")).rows[0].t).toBeNull();
    expect((await pg.query("SELECT to_regclass('sessions')::text AS t")).rows[0].t).toBe('sessions');
    await kubectl(cluster.admin, ['delete', 'tt', 'logs', 'sessions', '-n', HOME, '--wait=true', '--timeout=60s']);
    expect(await chTables()).not.toContain('logs');
    expect((await pg.query("SELECT to_regclass('sessions') AS t")).rows[0].t).toBeNull();

    // Outside the release namespace a TieredTable must name its own Secret.
    await apply(tieredTable({ name: 'no-secret', namespace: NS, table: 'no_secret', secret: null, deletionPolicy: 'Delete' }));
    const refused = await waitTt('no-secret refused', 'no-secret', (o) => cond(o, 'Ready')?.reason === 'ConnectionConfigError');
    expect(cond(refused, 'Ready')!.message).toContain(`spec.connection.secretRef is required in namespace ${NS}`);
    expect((await pg.query("SELECT to_regclass('no_secret') AS t")).rows[0].t).toBeNull();
    await kubectl(cluster.admin, ['delete', 'tt', 'no-secret', '-n', NS, '--wait=true', '--timeout=30s']);
  });

  test('a Secret that does not exist yet: Ready=False ConnectionConfigError, then Ready once it is created', async () => {
    await apply(tieredTable({ name: 'late', namespace: NS, table: 'late', secret: 'late-connection', deletionPolicy: 'Delete' }));
    const waiting = await waitTt('ConnectionConfigError', 'late', (o) => cond(o, 'Ready')?.reason === 'ConnectionConfigError');
    expect(cond(waiting, 'Ready')!.message).toContain(`Secret ${NS}/late-connection: not found`);
    const current = await kubectlJson<{ data: Record<string, string> }>(cluster.admin, ['get', 'secret', 'strata-connection', '-n', NS]);
    await apply(JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'late-connection', namespace: NS }, data: current.data }));
    await waitTt('late Ready', 'late', (o) => cond(o, 'Ready')?.status === 'True');
    await kubectl(cluster.admin, ['delete', 'tt', 'late', '-n', NS, '--wait=true', '--timeout=60s']);
  });

  test('delete with deletionPolicy Retain keeps both tiers and their rows', async () => {
    await kubectl(cluster.admin, ['delete', 'tt', 'metrics', '-n', NS, '--wait=true', '--timeout=60s']);
    expect((await kubectlRun(cluster.admin, ['get', 'tt', 'metrics', '-n', NS])).code).not.toBe(0);
    expect((await pg.query("SELECT to_regclass('metrics')::text AS t")).rows[0].t).toBe('metrics');
    expect(await chTables()).toContain('metrics');
    const n = await cold.query<{ n: string }>('SELECT count() AS n FROM strata.metrics');
    expect(Number(n[0].n)).toBeGreaterThanOrEqual(500);
    expect((await pg.query("SELECT count(*)::int AS n FROM strata.table_registry WHERE table_name = 'metrics'")).rows[0].n).toBe(0);
  });

  test('delete with deletionPolicy Delete drops both tiers', async () => {
    await apply(tieredTable({ name: 'scratch', namespace: NS, table: 'scratch', deletionPolicy: 'Delete' }));
    await waitTt('scratch Ready', 'scratch', (o) => cond(o, 'Ready')?.status === 'True');
    expect(await chTables()).toContain('scratch');
    await kubectl(cluster.admin, ['delete', 'tt', 'scratch', '-n', NS, '--wait=true', '--timeout=60s']);
    expect((await pg.query("SELECT to_regclass('scratch') AS t")).rows[0].t).toBeNull();
    expect(await chTables()).not.toContain('scratch');
    expect(await chTables()).not.toContain('scratch__rollup_1m');
    const reasons = await kubectl(cluster.admin, ['get', 'events', '-n', NS, '--field-selector', 'involvedObject.name=scratch', '-o', 'custom-columns=R:.reason', '--no-headers']);
    expect(reasons).toContain('TablesDropped');
  });

  test('no password reaches the operator log, an Event or a status', async () => {
    expect(op.logs.length).toBeGreaterThan(50);
    const everything = [
      JSON.stringify(op.logs),
      await kubectl(cluster.admin, ['get', 'events', '-n', NS, '-o', 'json']),
      await kubectl(cluster.admin, ['get', 'tt', '-A', '-o', 'json']),
    ].join('\n');
    // The outage tests above made the operator log and report connection failures.
    expect(everything).toContain('ColdUnavailable');
    for (const secret of [PG_PASSWORD, CH_PASSWORD]) expect(everything).not.toContain(secret);
  });
});
