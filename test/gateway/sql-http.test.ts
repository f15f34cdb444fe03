import { GATEWAY_TEST_TOKEN, startGatewayFixture, type GatewayFixture } from '../support/gateway-fixture';
import { createReaderRole, type ReaderRole } from '../support/sql-reader-role';
import type { QueryEngineLike } from '@strata/gateway';

const SQL_TOKEN = 'sql-http-test-token-0123456789';
const ingest = { authorization: `Bearer ${GATEWAY_TEST_TOKEN}`, 'content-type': 'application/json' };
const headers = { authorization: `Bearer ${SQL_TOKEN}`, 'content-type': 'application/json' };

describe('/v1/sql on PostgreSQL alone (no tier engine)', () => {
  let f: GatewayFixture;
  let role: ReaderRole;
  beforeAll(async () => {
    f = await startGatewayFixture('gw_sql');
    role = await createReaderRole(f.db);
    await f.restartGateway({ sqlApi: { tokens: [SQL_TOKEN], pgUrl: role.url } });
  });
  afterAll(async () => {
    await f?.close();
    await role?.drop();
  });

  test('a statement with parameters returns fields and rows as JSON; errors come back as 400 with SQLSTATE', async () => {
    const write = await fetch(f.gateway.url + '/write/metrics', { method: 'POST', headers: ingest, body: JSON.stringify([{ time: '2026-11-25T01:00:00Z', app: 'sql', host: 'a', value: 2.5 }, { time: '2026-11-25T01:00:01Z', app: 'sql', host: 'b', value: 4 }]) });
    expect(write.status).toBe(200);
    const res = await fetch(f.gateway.url + '/v1/sql', { method: 'POST', headers, body: JSON.stringify({ sql: 'SELECT host, value FROM metrics_events WHERE app = $1 ORDER BY host', params: ['sql'] }) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ fields: [{ name: 'host', typeOid: 25 }, { name: 'value', typeOid: 701 }], rows: [['a', 2.5], ['b', 4]] });
    const bad = await fetch(f.gateway.url + '/v1/sql', { method: 'POST', headers, body: JSON.stringify({ sql: 'SELECT nope FROM metrics_events' }) });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ sqlState: '42703', message: expect.stringMatching(/column "nope" does not exist/) });
    const malformed = await fetch(f.gateway.url + '/v1/sql', { method: 'POST', headers, body: '{"sql": ' });
    expect(malformed.status).toBe(400);
    const unauth = await fetch(f.gateway.url + '/v1/sql', { method: 'POST', body: JSON.stringify({ sql: 'SELECT 1' }), headers: { 'content-type': 'application/json' } });
    expect(unauth.status).toBe(401);
  });
});

describe('/v1/sql with an injected tier engine', () => {
  let f: GatewayFixture;
  let role: ReaderRole;
  const seen: Array<{ sql: string; params: unknown; role?: string; inTransaction: boolean }> = [];
  // A QueryEngine-shaped engine (proxy/src/engine/contract.ts), answering in PostgreSQL's
  // text format on the session the gateway hands it: the SQL role's client, in its transaction.
  const engine: QueryEngineLike = {
    async execute(stmt, session, _signal, hot) {
      seen.push({ sql: stmt.sql, params: stmt.params, role: session.role, inTransaction: session.inTransaction });
      const client = hot as { query: (q: object) => Promise<{ fields: Array<{ name: string; dataTypeID: number }>; rows: Array<Array<string | null>>; rowCount: number }> };
      const r = await client.query({ text: stmt.sql, values: stmt.params, rowMode: 'array', types: { getTypeParser: () => (v: string) => v } });
      return {
        fields: r.fields.map((x) => ({ name: x.name, typeOid: x.dataTypeID })),
        rows: (async function* () {
          for (const row of r.rows) yield row;
        })(),
        commandTag: () => `SELECT ${r.rowCount}`,
      };
    },
  };
  beforeAll(async () => {
    f = await startGatewayFixture('gw_sql_engine');
    role = await createReaderRole(f.db);
    await f.restartGateway({
      sqlApi: { tokens: [SQL_TOKEN], pgUrl: role.url, engine: { engine, route: (sql) => (sql.includes('engine') ? 'engine' : 'postgres'), hotSession: (client) => ({ session: client, done: () => undefined }) } },
    });
  });
  afterAll(async () => {
    await f?.close();
    await role?.drop();
  });

  test('statements the router sends to the engine reach it as the SQL role, in a transaction; its text values come back parsed as PostgreSQL alone gives them', async () => {
    const sql = "SELECT $1::int + 1 AS n, 2.5::float8 AS x, '2026-11-25T01:00:00Z'::timestamptz AS t, 'engine' AS via";
    const res = await fetch(f.gateway.url + '/v1/sql', { method: 'POST', headers, body: JSON.stringify({ sql, params: [41] }) });
    expect(res.status).toBe(200);
    const direct = await fetch(f.gateway.url + '/v1/sql', { method: 'POST', headers, body: JSON.stringify({ sql: sql.replace("'engine'", "'pg'"), params: [41] }) });
    const [a, b] = [(await res.json()) as { rows: unknown[][] }, (await direct.json()) as { rows: unknown[][] }];
    expect(a.rows).toEqual([[42, 2.5, '2026-11-25T01:00:00.000Z', 'engine']]);
    expect(b.rows).toEqual([[42, 2.5, '2026-11-25T01:00:00.000Z', 'pg']]);
    expect(seen).toEqual([{ sql, params: ['41'], role: role.role, inTransaction: true }]);
  });
});
