// Tables whose spec says ingest.unknownFields: addColumns get a column for each new row
// field, on both tiers, before the row is written — checked in PostgreSQL and in the
// ClickHouse engine themselves, and after a tiering run for the hot-then-cold table.
import pino from 'pino';
import { getRegisteredTable } from '@strata/core';
import { startGateway } from '@strata/gateway';
import { GATEWAY_TEST_TOKEN, startGatewayFixture, startProxyFor, tierUntil, type GatewayFixture } from '../support/gateway-fixture';
import type { ProxyProcess } from '../support/proxy-process';

let f: GatewayFixture;
/** `strata proxy` (the process, as deployed) over the fixture's stores, started before any column is added. */
let proxy: ProxyProcess;

beforeAll(async () => {
  f = await startGatewayFixture('gw_newcols');
  for (const spec of [
    {
      table: 'evo_metrics',
      timeColumn: 'time',
      columns: [
        { name: 'time', type: 'timestamptz' },
        { name: 'app', type: 'text' },
        { name: 'labels', type: 'jsonb' },
        { name: 'value', type: 'double precision' },
      ],
      ingest: { unknownFields: 'addColumns' },
    },
    {
      table: 'evo_logs',
      timeColumn: 'time',
      mode: 'cold-only',
      columns: [
        { name: 'time', type: 'timestamptz' },
        { name: 'service', type: 'text' },
        { name: 'message', type: 'text' },
      ],
      ingest: { unknownFields: 'addColumns' },
    },
  ]) {
    const res = await post('/schema/register', JSON.stringify(spec));
    expect(res.status).toBe(201);
  }
  // No refresh during the suite: the columns added below must be seen without one.
  proxy = await startProxyFor(f, { catalogRefreshMs: 3_600_000 });
});
afterAll(async () => {
  await proxy?.stop();
  await f?.close();
});

async function post(path: string, body: string) {
  const res = await fetch(f.gateway.url + path, { method: 'POST', body, headers: { ...f.auth, 'content-type': 'application/json' } });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function hotColumns(table: string): Promise<Record<string, string>> {
  const r = await f.pg.query<{ column_name: string; data_type: string }>(
    `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`,
    [table],
  );
  return Object.fromEntries(r.rows.map((c) => [c.column_name, c.data_type]));
}

async function coldColumns(table: string): Promise<Record<string, string>> {
  const rows = await f.cold.query<{ name: string; type: string }>('SELECT name, type FROM system.columns WHERE database = {db:String} AND table = {t:String} ORDER BY position', {
    db: f.coldDatabase,
    t: table,
  });
  return Object.fromEntries(rows.map((c) => [c.name, c.type]));
}

async function registeredColumns(table: string): Promise<Array<{ name: string; type: string }>> {
  return (await getRegisteredTable(f.pg, table))!.spec.columns;
}

describe('hot-then-cold table: new fields become columns in both tiers', () => {
  test('POST /write/metrics with new fields: typed from the JSON value, in the spec, in PostgreSQL and ClickHouse, the values stored', async () => {
    const rows = [
      { time: '2026-01-01T10:00:00Z', app: 'api', value: 1, cpu_temp: 71, region: 'eu', healthy: true, attrs: { pod: 'p-1' } },
      { time: '2026-01-01T10:00:01Z', app: 'api', value: 2, cpu_temp: 71.5, region: null, tags: ['a', 'b'] },
    ];
    expect(await post('/write/metrics?table=evo_metrics', JSON.stringify(rows))).toEqual({ status: 200, body: { rows: 2 } });

    expect(await registeredColumns('evo_metrics')).toEqual([
      { name: 'time', type: 'timestamptz' },
      { name: 'app', type: 'text' },
      { name: 'labels', type: 'jsonb' },
      { name: 'value', type: 'double precision' },
      // Integral 71 in row 1 still makes a double: row 2's 71.5 must fit.
      { name: 'cpu_temp', type: 'double precision' },
      { name: 'region', type: 'text' },
      { name: 'healthy', type: 'boolean' },
      { name: 'attrs', type: 'jsonb' },
      { name: 'tags', type: 'jsonb' },
    ]);
    expect(await hotColumns('evo_metrics')).toMatchObject({ cpu_temp: 'double precision', region: 'text', healthy: 'boolean', attrs: 'jsonb', tags: 'jsonb' });
    expect(await coldColumns('evo_metrics')).toMatchObject({ cpu_temp: 'Nullable(Float64)', region: 'Nullable(String)', healthy: 'Nullable(Bool)', tags: expect.any(String) });

    const stored = await f.pg.query(`SELECT value, cpu_temp, region, healthy, attrs, tags, labels FROM evo_metrics ORDER BY time`);
    expect(stored.rows).toEqual([
      { value: 1, cpu_temp: 71, region: 'eu', healthy: true, attrs: { pod: 'p-1' }, tags: null, labels: null },
      { value: 2, cpu_temp: 71.5, region: null, healthy: null, attrs: null, tags: ['a', 'b'], labels: null },
    ]);
  });

  test('after a tiering run the new columns read back from ClickHouse', async () => {
    const run = await tierUntil(f, 'evo_metrics', new Date('2026-01-02T00:00:00Z'));
    expect(run.rows).toBe(2);
    const cold = await f.cold.query<{ cpu_temp: number; region: string | null; healthy: boolean | null }>(
      `SELECT cpu_temp, region, healthy FROM ${f.coldDatabase}.evo_metrics ORDER BY time`,
    );
    expect(cold).toEqual([
      { cpu_temp: 71, region: 'eu', healthy: true },
      { cpu_temp: 71.5, region: null, healthy: null },
    ]);
  });

  test('a later value of another type for an added column is refused like any wrong type', async () => {
    const res = await post('/write/metrics?table=evo_metrics', JSON.stringify([{ time: '2026-01-03T00:00:00Z', app: 'api', cpu_temp: 'hot' }]));
    expect(res).toMatchObject({ status: 400, body: { error: 'WRONG_TYPE', message: 'row 1: column cpu_temp: expected a number, got string' } });
  });
});

describe('cold-only table: new fields become ClickHouse columns', () => {
  test('POST /write/logs with a new field: the column is added and the value read back from ClickHouse', async () => {
    const rows = [{ time: '2026-01-05T00:00:00Z', service: 'api', message: 'up', status_code: 200, user_agent: 'curl/8' }];
    expect(await post('/write/logs?table=evo_logs', JSON.stringify(rows))).toEqual({ status: 200, body: { rows: 1 } });
    expect(await coldColumns('evo_logs')).toMatchObject({ status_code: 'Nullable(Float64)', user_agent: 'Nullable(String)' });
    expect(await hotColumns('evo_logs')).toEqual({});
    const stored = await f.cold.query(`SELECT service, status_code, user_agent FROM ${f.coldDatabase}.evo_logs`);
    expect(stored).toEqual([{ service: 'api', status_code: 200, user_agent: 'curl/8' }]);
  });

  test('concurrent requests adding the same column all succeed; every row is stored once', async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        post('/write/logs?table=evo_logs', JSON.stringify([{ time: `2026-01-05T01:00:0${i}Z`, service: 'race', message: `m${i}`, trace_flags: i, [`only_${i % 2}`]: 'x' }])),
      ),
    );
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    const names = (await registeredColumns('evo_logs')).map((c) => c.name);
    expect(names.filter((n) => n === 'trace_flags')).toHaveLength(1);
    expect(names).toEqual(expect.arrayContaining(['only_0', 'only_1']));
    const stored = await f.cold.query<{ message: string; trace_flags: number; only_0: string | null; only_1: string | null }>(
      `SELECT message, trace_flags, only_0, only_1 FROM ${f.coldDatabase}.evo_logs WHERE service = 'race' ORDER BY message`,
    );
    expect(stored).toEqual(
      Array.from({ length: 6 }, (_, i) => ({ message: `m${i}`, trace_flags: i, only_0: i % 2 === 0 ? 'x' : null, only_1: i % 2 === 1 ? 'x' : null })),
    );
  });
});

describe('two gateway replicas on one database', () => {
  test('adding different columns to one table at once: both land in the registry (the per-table advisory lock)', async () => {
    const other = await startGateway({
      pgUrl: f.db.url,
      cold: { kind: 'http', url: f.ch.url, database: f.coldDatabase, maxRetries: 0 },
      coldDatabase: f.coldDatabase,
      tokens: [GATEWAY_TEST_TOKEN],
      grpcPort: null,
      logger: pino({ level: 'silent' }),
    });
    try {
      const send = (url: string, field: string, i: number) =>
        fetch(`${url}/write/logs?table=evo_logs`, {
          method: 'POST',
          headers: { ...f.auth, 'content-type': 'application/json' },
          body: JSON.stringify([{ time: `2026-01-05T02:00:0${i}Z`, service: 'replicas', message: field, [field]: i }]),
        }).then((r) => r.status);
      for (let round = 0; round < 3; round++) {
        const statuses = await Promise.all([send(f.gateway.url, `replica_a${round}`, 2 * round), send(other.url, `replica_b${round}`, 2 * round + 1)]);
        expect(statuses).toEqual([200, 200]);
      }
      const names = (await registeredColumns('evo_logs')).map((c) => c.name);
      expect(names).toEqual(expect.arrayContaining(['replica_a0', 'replica_b0', 'replica_a1', 'replica_b1', 'replica_a2', 'replica_b2']));
      expect(await f.cold.query(`SELECT count() AS n FROM ${f.coldDatabase}.evo_logs WHERE service = 'replicas'`)).toEqual([{ n: '6' }]);
    } finally {
      await other.close();
    }
  });
});

describe('through the proxy (started before the columns existed)', () => {
  test('the added columns read back from ClickHouse (tiered and cold-only) and PostgreSQL', async () => {
    // Below the watermark the tiering run set: answered by ClickHouse. The proxy's catalog
    // (not refreshed during the suite) predates the new columns; the engine plans on the
    // registry as the statement's own snapshot has it, so the values read back at once, not as NULL.
    const tieredSql = `SELECT cpu_temp, region, healthy FROM evo_metrics WHERE time >= '2026-01-01T00:00:00Z' AND time < '2026-01-02T00:00:00Z' ORDER BY time`;
    const tiered = await proxy.query(tieredSql);
    expect(tiered.rows).toEqual([
      { cpu_temp: 71, region: 'eu', healthy: true },
      { cpu_temp: 71.5, region: null, healthy: null },
    ]);
    // At or above the watermark: PostgreSQL; a span: both tiers merged.
    expect(await post('/write/metrics?table=evo_metrics', JSON.stringify([{ time: '2026-01-03T01:00:00Z', app: 'api', value: 3, cpu_temp: 80 }]))).toMatchObject({ status: 200 });
    const hot = await proxy.query(`SELECT cpu_temp, region FROM evo_metrics WHERE time >= '2026-01-03T00:00:00Z' AND time < '2026-01-04T00:00:00Z'`);
    expect(hot.rows).toEqual([{ cpu_temp: 80, region: null }]);
    const span = await proxy.query(`SELECT count(cpu_temp) AS n, max(cpu_temp) AS hi FROM evo_metrics WHERE time >= '2026-01-01T00:00:00Z' AND time < '2026-01-04T00:00:00Z'`);
    expect(span.rows).toEqual([{ n: '3', hi: 80 }]);
    const logs = await proxy.query(`SELECT status_code, user_agent FROM evo_logs WHERE service = 'api' AND time >= '2026-01-05T00:00:00Z' AND time < '2026-01-06T00:00:00Z'`);
    expect(logs.rows).toEqual([{ status_code: 200, user_agent: 'curl/8' }]);
    const flags = await proxy.query(`SELECT sum(trace_flags) AS s, count(only_0) AS n FROM evo_logs WHERE service = 'race' AND time >= '2026-01-05T00:00:00Z' AND time < '2026-01-06T00:00:00Z'`);
    expect(flags.rows).toEqual([{ s: 15, n: '3' }]);
  });
});

describe('refusals write nothing and add nothing', () => {
  test.each([
    ['a name that is no column name', { 'Bad-Name': 1 }, 'row 1: field "Bad-Name" cannot become a column of table evo_logs: it is not a valid column name'],
    ['a reserved word', { select: 1 }, 'row 1: field "select" cannot become a column of table evo_logs: it is a reserved PostgreSQL keyword'],
    ['Strata’s own prefix', { _strata_gen: 1 }, 'row 1: field "_strata_gen" cannot become a column of table evo_logs: it starts with _strata'],
  ])('%s → 400 naming the field', async (_what, extra, message) => {
    const before = await registeredColumns('evo_logs');
    const res = await post('/write/logs?table=evo_logs', JSON.stringify([{ time: '2026-01-06T00:00:00Z', service: 'refused', message: 'm', ok_field: 1, ...extra }]));
    expect(res).toEqual({ status: 400, body: { error: 'BAD_REQUEST', message: expect.stringContaining(message) } });
    expect(await registeredColumns('evo_logs')).toEqual(before);
    expect(await f.cold.query(`SELECT count() AS n FROM ${f.coldDatabase}.evo_logs WHERE service = 'refused'`)).toEqual([{ n: '0' }]);
  });

  test('a table without the policy keeps refusing unknown fields, and says how to allow them', async () => {
    expect((await post('/schema/register', JSON.stringify({ table: 'fixed_cols', timeColumn: 'time', columns: [{ name: 'time', type: 'timestamptz' }] }))).status).toBe(201);
    const res = await post('/write/metrics?table=fixed_cols', JSON.stringify([{ time: '2026-01-06T00:00:00Z', extra: 1 }]));
    expect(res).toMatchObject({ status: 400, body: { message: expect.stringContaining('spec.ingest.unknownFields: addColumns would add a column for it') } });
    expect(await hotColumns('fixed_cols')).toEqual({ time: 'timestamp with time zone' });
  });
});
