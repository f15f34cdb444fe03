import { GATEWAY_TEST_TOKEN, startGatewayFixture, type GatewayFixture } from '../support/gateway-fixture';
import type { QueryEngineLike } from '@strata/gateway';

const headers = { authorization: `Bearer ${GATEWAY_TEST_TOKEN}`, 'content-type': 'application/json' };

describe('/v1/sql on the default PostgreSQL executor', () => {
  let f: GatewayFixture;
  beforeAll(async () => {
    f = await startGatewayFixture('gw_sql');
  });
  afterAll(async () => f?.close());

  test('a statement with parameters returns fields and rows as JSON; errors come back as 400 with SQLSTATE', async () => {
    const write = await fetch(f.gateway.url + '/write/metrics', { method: 'POST', headers, body: JSON.stringify([{ time: '2026-11-25T01:00:00Z', app: 'sql', host: 'a', value: 2.5 }, { time: '2026-11-25T01:00:01Z', app: 'sql', host: 'b', value: 4 }]) });
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

describe('/v1/sql with an injected backend', () => {
  let f: GatewayFixture;
  const seen: Array<{ sql: string; params: unknown }> = [];
  // A QueryEngine-shaped backend (proxy/src/engine/contract.ts) the lead plugs in; this
  // one answers from PostgreSQL through the fixture's own connection.
  const engine: QueryEngineLike = {
    async execute(stmt) {
      seen.push({ sql: stmt.sql, params: stmt.params });
      const r = await f.pg.query({ text: stmt.sql, values: stmt.params, rowMode: 'array', types: { getTypeParser: () => (v: string) => v } });
      return {
        fields: r.fields.map((x) => ({ name: x.name, typeOid: x.dataTypeID })),
        rows: (async function* () {
          for (const row of r.rows as Array<Array<string | null>>) yield row;
        })(),
        commandTag: () => `SELECT ${r.rowCount}`,
      };
    },
  };
  beforeAll(async () => {
    f = await startGatewayFixture('gw_sql_engine', { sql: { engine } });
  });
  afterAll(async () => f?.close());

  test('statements go to the injected QueryEngine; its text values come back', async () => {
    const res = await fetch(f.gateway.url + '/v1/sql', { method: 'POST', headers, body: JSON.stringify({ sql: 'SELECT $1::int + 1 AS n', params: [41] }) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ fields: [{ name: 'n', typeOid: 23 }], rows: [['42']] });
    expect(seen).toEqual([{ sql: 'SELECT $1::int + 1 AS n', params: ['41'] }]);
  });
});
