import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import pino from 'pino';
import { startGateway, type GatewayConfig } from '@strata/gateway';
import { createRouter, createTierEngine, loadCatalogSnapshot, loadSqlParser, pgHotSession, type CatalogSnapshot } from '@strata/proxy';
import { GATEWAY_TEST_TOKEN, startGatewayFixture, tierUntil, type GatewayFixture } from '../support/gateway-fixture';
import { createReaderRole, type ReaderRole } from '../support/sql-reader-role';
import { startGatewayProcess } from './gateway-process';

// Issue 16, item 1: /v1/sql ran any SQL, several statements at once, as the gateway's
// PostgreSQL user, for anyone holding an ingest token. Each attack below is sent to the
// real gateway over HTTP, and its effect is checked in PostgreSQL (or on the host), not in
// what the gateway answered.

const SQL_TOKEN = 'sql-token-' + randomBytes(12).toString('hex');
const ingest = { authorization: `Bearer ${GATEWAY_TEST_TOKEN}`, 'content-type': 'application/json' };
const reader = { authorization: `Bearer ${SQL_TOKEN}`, 'content-type': 'application/json' };

let f: GatewayFixture;
let role: ReaderRole;
/** The tiered read and what PostgreSQL alone answered before tiering moved some of its rows. */
const tiered = { sql: 'SELECT host, count(*) AS n, sum(value) AS total, min(time) AS first FROM metrics_events WHERE app = $1 GROUP BY host ORDER BY host', params: ['tiers'] };
let beforeTiering: unknown[][] = [];
const marker = join(tmpdir(), `strata-sql-api-${randomBytes(6).toString('hex')}`);

const sql = (body: unknown, headers: Record<string, string> = reader) =>
  fetch(f.gateway.url + '/v1/sql', { method: 'POST', headers, body: JSON.stringify(body) });
const tableExists = async (name: string) => (await f.pg.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [name])).rows[0].t !== null;

beforeAll(async () => {
  f = await startGatewayFixture('gw_sql_api');
  role = await createReaderRole(f.db);
});
afterAll(async () => {
  rmSync(marker, { force: true });
  await f?.close();
  await role?.drop();
});

describe('without SQL API settings', () => {
  test('/v1/sql is off: an ingest token can neither create tables nor run programs on the host', async () => {
    const created = await sql({ sql: 'CREATE TABLE made_by_ingest_token(i int); SELECT 1' }, ingest);
    const program = await sql({ sql: `COPY (SELECT 1) TO PROGRAM 'touch ${marker}'` }, ingest);
    expect(await tableExists('made_by_ingest_token')).toBe(false);
    expect(existsSync(marker)).toBe(false);
    expect(created.status).toBe(404);
    expect(await created.json()).toMatchObject({ error: 'SQL_API_DISABLED' });
    expect(program.status).toBe(404);
  });
});

describe('with SQL tokens, a reading role and the tier engine', () => {
  let catalogPool: Pool;
  let snapshot: CatalogSnapshot;
  beforeAll(async () => {
    await loadSqlParser();
    catalogPool = new Pool({ connectionString: f.db.url, max: 1 });
    snapshot = await loadCatalogSnapshot(catalogPool);
    const engine = createTierEngine({ cold: f.cold, coldDatabase: f.coldDatabase, catalog: () => snapshot });
    const session = { user: role.role, database: f.db.name, settings: new Map([['strata.route', 'auto']]), inTransaction: true };
    await f.restartGateway({
      sqlApi: {
        tokens: [SQL_TOKEN],
        pgUrl: role.url,
        statementTimeoutMs: 1500,
        engine: {
          engine,
          route: (text) => createRouter(snapshot)(text, session).target,
          hotSession: (client) => {
            const hot = pgHotSession(client, true);
            return { session: hot, done: () => hot.detach() };
          },
        },
      },
    });
  });
  afterAll(async () => catalogPool?.end());

  test('scopes: an ingest token is refused on /v1/sql (403), a SQL token on the ingest endpoints (403), no token 401', async () => {
    const withIngest = await sql({ sql: 'SELECT 1' }, ingest);
    expect(withIngest.status).toBe(403);
    expect((await withIngest.json()) as { message: string }).toMatchObject({ error: 'FORBIDDEN', message: expect.stringMatching(/SQL token/) });
    const basic = { authorization: `Basic ${Buffer.from(`user:${GATEWAY_TEST_TOKEN}`).toString('base64')}`, 'content-type': 'application/json' };
    expect((await sql({ sql: 'SELECT 1' }, basic)).status).toBe(403);
    const write = await fetch(f.gateway.url + '/write/metrics', { method: 'POST', headers: reader, body: JSON.stringify([{ time: '2026-11-25T01:00:00Z', app: 'x', value: 1 }]) });
    expect(write.status).toBe(403);
    expect((await sql({ sql: 'SELECT 1' }, { 'content-type': 'application/json' })).status).toBe(401);
    expect((await sql({ sql: 'SELECT 1' }, { authorization: 'Bearer not-a-token-of-this-gateway', 'content-type': 'application/json' })).status).toBe(401);
  });

  test('a SQL token reads: one SELECT with parameters answers fields and rows', async () => {
    const res = await sql({ sql: 'SELECT $1::int + 1 AS n, current_user AS who', params: [41] });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ fields: [{ name: 'n', typeOid: 23 }, { name: 'who', typeOid: 19 }], rows: [[42, role.role]] });
  });

  test.each([
    ['several statements', 'CREATE TABLE made_by_sql_token(i int); SELECT 1', /one statement/],
    ['DDL', 'CREATE TABLE made_by_sql_token(i int)', /CREATE TABLE/],
    ['DROP', 'DROP TABLE metrics_events', /DROP/],
    ['COPY TO PROGRAM', `COPY (SELECT 1) TO PROGRAM 'touch ${marker}'`, /COPY/],
    ['a data-modifying WITH', 'WITH gone AS (DELETE FROM metrics_events RETURNING 1) SELECT count(*) FROM gone', /DELETE/],
    ['SELECT INTO', 'SELECT 1 AS i INTO made_by_sql_token', /SELECT INTO/],
    ['FOR UPDATE', 'SELECT * FROM metrics_events FOR UPDATE', /FOR UPDATE/],
    ['EXPLAIN ANALYZE of a DELETE', 'EXPLAIN ANALYZE DELETE FROM metrics_events', /DELETE/],
    ['SET', "SET ROLE postgres", /SET/],
    ['a transaction', 'COMMIT', /COMMIT|TRANSACTION/i],
  ])('%s is refused with 400 and the reason before it reaches PostgreSQL', async (_name, text, reason) => {
    const before = Number((await f.pg.query('SELECT count(*) FROM metrics_events')).rows[0].count);
    // The same text with an ingest token too: that is how it got through before.
    const asIngest = await sql({ sql: text }, ingest);
    const res = await sql({ sql: text });
    expect(await tableExists('made_by_sql_token')).toBe(false);
    expect(await tableExists('metrics_events')).toBe(true);
    expect(Number((await f.pg.query('SELECT count(*) FROM metrics_events')).rows[0].count)).toBe(before);
    expect(existsSync(marker)).toBe(false);
    expect(asIngest.status).toBe(403);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; message: string };
    expect(body.error).toBe('SQL_REFUSED');
    expect(body.message).toMatch(reason);
  });

  test('a function that writes is stopped by the role and the READ ONLY transaction (403 with the SQLSTATE), and changes nothing', async () => {
    await f.pg.query('CREATE TABLE sql_api_victim (i int)');
    await f.pg.query(`CREATE FUNCTION sql_api_write() RETURNS int LANGUAGE sql AS 'INSERT INTO sql_api_victim VALUES (1) RETURNING i'`);
    // Runs as its owner (the superuser): only the transaction stops it.
    await f.pg.query(`CREATE FUNCTION sql_api_write_definer() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'INSERT INTO sql_api_victim VALUES (2) RETURNING i'`);
    const answers = [];
    for (const fn of ['sql_api_write', 'sql_api_write_definer']) {
      answers.push(await sql({ sql: `SELECT ${fn}()` }, ingest), await sql({ sql: `SELECT ${fn}()` }));
    }
    // Through the tier engine (a tiered table in the statement) the transaction is READ ONLY too.
    const viaEngine = await sql({ sql: 'SELECT sql_api_write_definer() AS w, count(*) AS n FROM metrics_events' });
    expect(viaEngine.status).toBe(403);
    expect(await viaEngine.json()).toMatchObject({ sqlState: '25006' });
    expect((await f.pg.query('SELECT count(*)::int AS n FROM sql_api_victim')).rows[0].n).toBe(0);
    expect(answers.map((a) => a.status)).toEqual([403, 403, 403, 403]);
    for (const a of answers.filter((_, i) => i % 2 === 1)) expect(await a.json()).toMatchObject({ sqlState: expect.stringMatching(/^(25006|42501)$/) });
  });

  test('what survives a rollback does not survive the request: session advisory locks are released', async () => {
    const asIngest = await sql({ sql: 'SELECT pg_advisory_lock(424242)' }, ingest);
    const res = await sql({ sql: 'SELECT pg_advisory_lock(424242)' });
    const held = await f.pg.query("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = 424242 AND granted");
    expect(held.rows[0].n).toBe(0);
    expect(asIngest.status).toBe(403);
    expect(res.status).toBe(200);
  });

  test('statement errors are 400 with their SQLSTATE; a statement past the timeout is cancelled (57014)', async () => {
    const missing = await sql({ sql: 'SELECT nope FROM metrics_events' });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ sqlState: '42703', message: expect.stringMatching(/column "nope" does not exist/) });
    const syntax = await sql({ sql: 'SELEC 1' });
    expect(syntax.status).toBe(400);
    expect(await syntax.json()).toMatchObject({ sqlState: '42601' });
    const denied = await sql({ sql: 'SELECT * FROM pg_authid' });
    expect(denied.status).toBe(403);
    expect(await denied.json()).toMatchObject({ sqlState: '42501' });
    const slow = await sql({ sql: 'SELECT pg_sleep(10)' });
    expect(slow.status).toBe(400);
    expect(await slow.json()).toMatchObject({ sqlState: '57014' });
  });

  test('a tiered table read across both tiers answers what PostgreSQL alone answered before tiering', async () => {
    const rows = Array.from({ length: 240 }, (_, i) => ({ time: new Date(Date.UTC(2026, 10, 20) + i * 60_000).toISOString(), app: 'tiers', host: `h${i % 3}`, value: i / 4 }));
    expect((await fetch(f.gateway.url + '/write/metrics', { method: 'POST', headers: ingest, body: JSON.stringify(rows) })).status).toBe(200);
    const query = tiered;
    const before = await f.pg.query({ text: query.sql, values: query.params, rowMode: 'array' });
    beforeTiering = JSON.parse(JSON.stringify(before.rows)) as unknown[][];
    const run = await tierUntil(f, 'metrics_events', new Date(Date.UTC(2026, 10, 20, 2)));
    expect(run.rows).toBeGreaterThan(0);
    const hotNow = await f.pg.query("SELECT count(*)::int AS n FROM metrics_events WHERE app = 'tiers'");
    expect(hotNow.rows[0].n).toBeLessThan(240);
    const res = await sql(query);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { rows: unknown[][] };
    expect(body.rows).toEqual(JSON.parse(JSON.stringify(before.rows)));
  });

  test('the gateway refuses to start the SQL API as a role that can write', async () => {
    const base: GatewayConfig = { pgUrl: f.db.url, cold: f.cold, coldDatabase: f.coldDatabase, tokens: [GATEWAY_TEST_TOKEN], grpcPort: null, logger: pino({ level: 'silent' }) };
    await expect(startGateway({ ...base, sqlApi: { tokens: [SQL_TOKEN], pgUrl: f.db.url } })).rejects.toThrow(/superuser/);
    await f.pg.query(`GRANT INSERT ON sql_api_victim TO ${role.role}`);
    try {
      await expect(startGateway({ ...base, sqlApi: { tokens: [SQL_TOKEN], pgUrl: role.url } })).rejects.toThrow(/INSERT on public\.sql_api_victim/);
    } finally {
      await f.pg.query(`REVOKE INSERT ON sql_api_victim FROM ${role.role}`);
    }
    await expect(startGateway({ ...base, sqlApi: { tokens: [GATEWAY_TEST_TOKEN], pgUrl: role.url } })).rejects.toThrow(/both/);
  });
});

describe('the deployed gateway: its own process, configured from its environment', () => {
  const env = () => ({ STRATA_PG_URL: f.db.url, STRATA_CLICKHOUSE_URL: f.ch.url, STRATA_CLICKHOUSE_DATABASE: f.coldDatabase, STRATA_GATEWAY_TOKENS: GATEWAY_TEST_TOKEN, STRATA_GATEWAY_KUBERNETES: 'off' });

  test('with STRATA_GATEWAY_SQL_TOKENS and _SQL_PG_URL it reads both tiers through the engine main.ts builds; ingest tokens and several statements are refused', async () => {
    expect(beforeTiering.length).toBe(3);
    const gw = await startGatewayProcess({ ...env(), STRATA_GATEWAY_SQL_TOKENS: SQL_TOKEN, STRATA_GATEWAY_SQL_PG_URL: role.url });
    try {
      const post = (body: unknown, headers = reader) => fetch(`http://127.0.0.1:${gw.port}/v1/sql`, { method: 'POST', headers, body: JSON.stringify(body) });
      const res = await post(tiered);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { rows: unknown[][] }).rows).toEqual(beforeTiering);
      expect((await post(tiered, ingest)).status).toBe(403);
      expect((await post({ sql: 'SELECT 1; CREATE TABLE made_by_process(i int)' })).status).toBe(400);
      expect(await tableExists('made_by_process')).toBe(false);
      expect(gw.logs.find((l) => l.msg === 'gateway listening')).toMatchObject({ sqlApi: 'both tiers' });
    } finally {
      await gw.stop();
    }
  });

  test('without them /v1/sql is off (404); with a superuser role the gateway does not start', async () => {
    const off = await startGatewayProcess(env());
    try {
      const res = await fetch(`http://127.0.0.1:${off.port}/v1/sql`, { method: 'POST', headers: ingest, body: JSON.stringify({ sql: 'SELECT 1' }) });
      expect(res.status).toBe(404);
    } finally {
      await off.stop();
    }
    await expect(startGatewayProcess({ ...env(), STRATA_GATEWAY_SQL_TOKENS: SQL_TOKEN, STRATA_GATEWAY_SQL_PG_URL: f.db.url })).rejects.toThrow(/is a superuser/);
  });
});
