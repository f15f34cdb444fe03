// Tenancy on a real kube-apiserver: one database, TieredTables in several namespaces. The
// registry records which TieredTable owns each table; another TieredTable naming it is
// refused and changes nothing, its deletion drops nothing; the operator's own connection
// serves only its namespace; it reads Secrets only where the chart lets it. The operator
// runs as its own process with exactly the chart's RBAC.
import { Client } from 'pg';
import { createColdStore, type ColdStore } from '@strata/core';
import { startChdbHttpServer, type ChdbHttpServer } from '../support/cold-endpoint';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { eventually, kubectl, kubectlJson, kubectlRun } from '../support/operator-kubectl';
import { operatorTestEnv, secretManifest, startOperatorCluster, type OperatorCluster } from '../support/operator-cluster';
import { startOperatorProcess, type OperatorProcess } from '../support/operator-process';
import { cond, tieredTable, type TtObject } from './manifests';

const A = 'team-a';
const B = 'team-b';
/** Exists, but is not in the chart's operator.secretNamespaces. */
const C = 'team-c';

interface RegistryRow {
  owner_namespace: string | null;
  owner_name: string | null;
  owner_uid: string | null;
  schema: { hot: { retention: string }; cold: { retention: string } };
  updated_at: Date;
}

describe('tenancy: who owns a table', () => {
  let cluster: OperatorCluster;
  let db: TestDatabase;
  let ch: ChdbHttpServer;
  let op: OperatorProcess;
  let pg: Client;
  let cold: ColdStore;

  const getTt = (ns: string, name: string) => kubectlJson<TtObject>(cluster.admin, ['get', 'tt', name, '-n', ns]);
  const waitTt = (what: string, ns: string, name: string, pred: (o: TtObject) => boolean, timeoutMs = 60_000) =>
    eventually(what, async () => {
      const o = await getTt(ns, name);
      return pred(o) ? o : undefined;
    }, timeoutMs);
  const apply = (manifest: string) => kubectl(cluster.admin, ['apply', '-f', '-'], manifest);
  const registry = async (table: string) =>
    (await pg.query<RegistryRow>('SELECT owner_namespace, owner_name, owner_uid, schema, updated_at FROM strata.table_registry WHERE table_name = $1', [table])).rows[0];
  const chTables = async () => (await cold.query<{ name: string }>("SELECT name FROM system.tables WHERE database = 'strata' ORDER BY name")).map((r) => r.name);
  const reasons = async (ns: string, name: string) =>
    (await kubectl(cluster.admin, ['get', 'events', '-n', ns, '--field-selector', `involvedObject.name=${name}`, '-o', 'custom-columns=R:.reason', '--no-headers'])).split('\n');
  const cronJobs = async (ns: string) => (await kubectl(cluster.admin, ['get', 'cronjobs', '-n', ns, '-o', 'name'])).trim();

  beforeAll(async () => {
    cluster = await startOperatorCluster([A, B]);
    await kubectl(cluster.admin, ['create', 'namespace', C]);
    db = await createTestDatabase('operator_tenancy');
    ch = await startChdbHttpServer();
    for (const ns of [A, B, C]) await apply(secretManifest(ns, 'conn', { pgUrl: db.url, clickhouseUrl: ch.url }));
    pg = new Client({ connectionString: db.url });
    await pg.connect();
    cold = createColdStore({ kind: 'http', url: ch.url, database: 'default' });
    op = await startOperatorProcess(
      cluster.operator,
      // The operator's own connection is set: it must still not serve team-a or team-b.
      operatorTestEnv({ STRATA_OPERATOR_TIERING: 'cronjob', STRATA_OPERATOR_TIERING_IMAGE: 'strata:test', STRATA_PG_URL: db.url, STRATA_CLICKHOUSE_URL: ch.url }),
      'op-tenancy',
    );
  });

  afterAll(async () => {
    await op?.stop();
    await pg?.end();
    await cold?.close();
    await ch?.stop();
    await db?.drop();
    await cluster?.stop();
  });

  test('the first TieredTable to provision a table owns it: the registry records namespace, name and uid', async () => {
    await apply(tieredTable({ name: 'events', namespace: A, table: 'events', secret: 'conn', deletionPolicy: 'Delete' }));
    const a = await waitTt('team-a/events Ready', A, 'events', (o) => cond(o, 'Ready')?.status === 'True');
    expect(await registry('events')).toMatchObject({ owner_namespace: A, owner_name: 'events', owner_uid: a.metadata.uid });
    expect(await cronJobs(A)).toContain('cronjob.batch/');
  });

  test('a TieredTable in another namespace naming it is refused (TableOwnedElsewhere) and changes nothing', async () => {
    const before = await registry('events');
    // Another retention and deletionPolicy Delete: what an intruder would change or drop.
    await apply(tieredTable({ name: 'events', namespace: B, table: 'events', secret: 'conn', deletionPolicy: 'Delete', coldRetention: '1d' }));
    const b = await waitTt('team-b/events refused', B, 'events', (o) => cond(o, 'Ready')?.status === 'False' && o.status?.observedGeneration === o.metadata.generation);
    expect(cond(b, 'Ready')).toMatchObject({ reason: 'TableOwnedElsewhere' });
    expect(cond(b, 'Ready')!.message).toContain(`table events is owned by TieredTable ${A}/events (uid ${before.owner_uid})`);
    expect(b.status!.watermark).toBeUndefined();
    expect(b.status!.rowsHot).toBeUndefined();
    expect(await reasons(B, 'events')).toContain('TableOwnedElsewhere');
    expect(await cronJobs(B)).toBe('');
    const after = await registry('events');
    expect(after).toEqual(before);
    const ddl = await cold.query<{ q: string }>("SELECT create_table_query AS q FROM system.tables WHERE database = 'strata' AND name = 'events'");
    expect(ddl[0].q).toMatch(/toIntervalDay\(30\)|INTERVAL 30 DAY|2592000/);
    // The owner stays Ready.
    expect(cond(await getTt(A, 'events'), 'Ready')?.status).toBe('True');
  });

  test('in the same namespace, another TieredTable (another uid) naming it is refused too', async () => {
    await apply(tieredTable({ name: 'events-again', namespace: A, table: 'events', secret: 'conn', deletionPolicy: 'Delete' }));
    const dup = await waitTt('team-a/events-again refused', A, 'events-again', (o) => cond(o, 'Ready')?.reason === 'TableOwnedElsewhere');
    expect(cond(dup, 'Ready')!.message).toContain(`TieredTable ${A}/events`);
  });

  test('deleting the refused TieredTables (deletionPolicy Delete) drops nothing', async () => {
    await kubectl(cluster.admin, ['delete', 'tt', 'events', '-n', B, '--wait=true', '--timeout=30s']);
    await kubectl(cluster.admin, ['delete', 'tt', 'events-again', '-n', A, '--wait=true', '--timeout=30s']);
    expect((await pg.query("SELECT to_regclass('events')::text AS t")).rows[0].t).toBe('events');
    expect(await chTables()).toEqual(expect.arrayContaining(['events', 'events__rollup_1m']));
    expect(await registry('events')).toMatchObject({ owner_namespace: A, owner_name: 'events' });
    expect(await reasons(B, 'events')).not.toContain('TablesDropped');
    expect(cond(await getTt(A, 'events'), 'Ready')?.status).toBe('True');
  });

  test('two namespaces racing for a new table: exactly one owns it', async () => {
    await Promise.all([
      apply(tieredTable({ name: 'race', namespace: A, table: 'race', secret: 'conn', deletionPolicy: 'Delete' })),
      apply(tieredTable({ name: 'race', namespace: B, table: 'race', secret: 'conn', deletionPolicy: 'Delete' })),
    ]);
    const settled = (o: TtObject) => cond(o, 'Ready')?.status === 'True' || cond(o, 'Ready')?.reason === 'TableOwnedElsewhere';
    const [a, b] = await Promise.all([waitTt('team-a/race settled', A, 'race', settled), waitTt('team-b/race settled', B, 'race', settled)]);
    const ready = [a, b].filter((o) => cond(o, 'Ready')?.status === 'True');
    expect(ready).toHaveLength(1);
    expect((await registry('race')).owner_uid).toBe(ready[0].metadata.uid);
    const loser = a === ready[0] ? B : A;
    await kubectl(cluster.admin, ['delete', 'tt', 'race', '-n', loser, '--wait=true', '--timeout=30s']);
    expect((await pg.query("SELECT to_regclass('race')::text AS t")).rows[0].t).toBe('race');
  });

  test("outside the release namespace the operator's own connection is not used", async () => {
    await apply(tieredTable({ name: 'implicit', namespace: A, table: 'implicit', secret: null, deletionPolicy: 'Delete' }));
    const o = await waitTt('team-a/implicit refused', A, 'implicit', (x) => cond(x, 'Ready')?.reason === 'ConnectionConfigError');
    expect(cond(o, 'Ready')!.message).toContain(`spec.connection.secretRef is required in namespace ${A}`);
    expect((await pg.query("SELECT to_regclass('implicit') AS t")).rows[0].t).toBeNull();
    await kubectl(cluster.admin, ['delete', 'tt', 'implicit', '-n', A, '--wait=true', '--timeout=30s']);
  });

  test('Secrets are read only in the namespaces the chart grants', async () => {
    await apply(tieredTable({ name: 'elsewhere', namespace: C, table: 'elsewhere', secret: 'conn', deletionPolicy: 'Delete' }));
    const o = await waitTt('team-c/elsewhere cannot read its Secret', C, 'elsewhere', (x) => cond(x, 'Ready')?.reason === 'ConnectionConfigError');
    expect(cond(o, 'Ready')!.message).toMatch(/Secret team-c\/conn: .*forbidden/i);
    expect((await pg.query("SELECT to_regclass('elsewhere') AS t")).rows[0].t).toBeNull();
    const can = async (...args: string[]) =>
      (await kubectlRun(cluster.admin, ['auth', 'can-i', '--as=system:serviceaccount:strata:strata-operator', ...args])).stdout.trim();
    expect(await can('get', 'secrets', '-n', A)).toBe('yes');
    expect(await can('get', 'secrets', '-n', C)).toBe('no');
    expect(await can('get', 'secrets', '-A')).toBe('no');
    // Its Secret stays unreadable: the finalizer cannot know what it owns there, so it stays.
    await kubectl(cluster.admin, ['delete', 'tt', 'elsewhere', '-n', C, '--wait=false']);
  });

  test('the owner deleted with deletionPolicy Delete drops its tables', async () => {
    await kubectl(cluster.admin, ['delete', 'tt', 'events', '-n', A, '--wait=true', '--timeout=60s']);
    expect((await pg.query("SELECT to_regclass('events') AS t")).rows[0].t).toBeNull();
    expect(await chTables()).not.toContain('events');
    expect(await registry('events')).toBeUndefined();
    expect(await reasons(A, 'events')).toContain('TablesDropped');
  });
});
