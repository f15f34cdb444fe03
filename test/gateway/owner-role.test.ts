// The owner's database role from docs/security.md ("Database roles": strata apply, the
// operator, strata tier) without superuser: applying a TieredTable, loading rows and
// tiering them all work as a role with only CREATE on the database and on schema public;
// and the gateway's role, given INSERT by default privileges, writes a table the owner
// created afterwards.
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { applyTable, createColdStore, DATASET_START, runTiering, type ColdStore } from '@strata/core';
import { startChdbHttpServer, type ChdbHttpServer } from '../support/cold-endpoint';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { loadDataset, metricsSpec, tiererDeps } from '../support/tiered-fixture';

const suffix = randomBytes(3).toString('hex');
const OWNER = `strata_owner_${suffix}`;
const GATEWAY = `strata_gateway_${suffix}`;
const DATABASE = 'strata_owner_test';

let db: TestDatabase;
let ch: ChdbHttpServer;
let cold: ColdStore;
let admin: Client;
const urlAs = (role: string) => {
  const u = new URL(db.url);
  u.username = role;
  return u.toString();
};

beforeAll(async () => {
  db = await createTestDatabase('gw_owner_role');
  ch = await startChdbHttpServer({});
  cold = createColdStore({ kind: 'http', url: ch.url, database: DATABASE });
  admin = new Client({ connectionString: db.url });
  await admin.connect();
  // As docs/security.md lists them, with this test's names.
  for (const sql of [
    `CREATE ROLE ${OWNER} LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB`,
    `GRANT CREATE ON DATABASE ${db.name} TO ${OWNER}`,
    `GRANT CREATE, USAGE ON SCHEMA public TO ${OWNER}`,
    `CREATE ROLE ${GATEWAY} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT`,
    `ALTER DEFAULT PRIVILEGES FOR ROLE ${OWNER} IN SCHEMA public GRANT INSERT ON TABLES TO ${GATEWAY}`,
  ]) await admin.query(sql);
});
afterAll(async () => {
  await cold?.close().catch(() => undefined);
  await ch?.stop();
  await admin?.end();
  await db?.drop();
  const c = new Client({ connectionString: new URL('/postgres', db.url).toString() });
  await c.connect();
  await c.query(`DROP ROLE IF EXISTS ${GATEWAY}`).catch(() => undefined);
  await c.query(`DROP ROLE IF EXISTS ${OWNER}`).catch(() => undefined);
  await c.end();
});

test('the owner role, not a superuser, applies a TieredTable, loads rows and tiers them; the gateway role inserts into it', async () => {
  expect((await admin.query(`SELECT rolsuper FROM pg_roles WHERE rolname = $1`, [OWNER])).rows).toEqual([{ rolsuper: false }]);
  const owner = new Client({ connectionString: urlAs(OWNER) });
  await owner.connect();
  try {
    const spec = metricsSpec();
    await applyTable({ hot: owner, cold, coldTarget: { database: DATABASE } }, spec, new Date(DATASET_START));
    await loadDataset(owner, 'metrics_events', { fromMinute: 0, toMinute: 180 }, spec);
    const before = Number((await owner.query('SELECT count(*) FROM metrics_events')).rows[0].count);
    const run = await runTiering(tiererDeps(urlAs(OWNER), cold, DATABASE), { table: 'metrics_events', until: new Date(DATASET_START + 120 * 60_000) });
    expect(run.rows).toBeGreaterThan(0);
    const after = Number((await owner.query('SELECT count(*) FROM metrics_events')).rows[0].count);
    expect(after).toBe(before - run.rows);
    expect((await admin.query(`SELECT tableowner FROM pg_tables WHERE tablename = 'metrics_events'`)).rows).toEqual([{ tableowner: OWNER }]);
  } finally {
    await owner.end();
  }
  const gateway = new Client({ connectionString: urlAs(GATEWAY) });
  await gateway.connect();
  try {
    await gateway.query(`INSERT INTO metrics_events (time, app, value) VALUES ('2026-01-01T02:30:00Z', 'as-gateway', 1)`);
    await expect(gateway.query('SELECT count(*) FROM metrics_events')).rejects.toMatchObject({ code: '42501' });
  } finally {
    await gateway.end();
  }
});
