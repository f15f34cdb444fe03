import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { Client } from 'pg';
import { applyTable } from '@strata/core';
import { GATEWAY_TEST_TOKEN, startGatewayFixture, startProxyFor, type GatewayFixture } from '../support/gateway-fixture';
import type { ProxyProcess } from '../support/proxy-process';
import { repoPath } from '../support/paths';
import { parseTomlSubset, type TomlTable } from '../support/toml-subset';
import { observabilitySpec } from './corpus/observability-dataset';

/**
 * examples/vector/vector.toml (issue 17, item 5): the seed's pipeline with its two sinks,
 * checked as Vector would read it and then replayed request by request — Vector is not
 * installable where these tests run, so each sink's requests are sent as Vector's source
 * builds them (src/sinks/postgres/service.rs: one prepared
 * `INSERT INTO <table> SELECT * FROM jsonb_populate_recordset(NULL::<table>, $1)` per batch,
 * a prepared `SELECT 1` health check; src/sinks/clickhouse/service.rs: POST
 * `/?input_format_import_nested_json=1&query=INSERT INTO {database:Identifier}.{table:Identifier}
 * FORMAT JSONEachRow&param_database=…&param_table=…`, NDJSON, Content-Encoding from
 * `compression`, Basic auth, and `GET /?query=SELECT 1` as its health check), with the
 * events its transforms make, then read back through the proxy with the seed's panel query.
 */
const config = parseTomlSubset(readFileSync(repoPath('examples', 'vector', 'vector.toml'), 'utf8'));
const table = (t: TomlTable, k: string) => t[k] as TomlTable;
const sinks = table(config, 'sinks');
const transforms = table(config, 'transforms');

describe('examples/vector/vector.toml', () => {
  test("keeps the seed's sources and sinks, with metric_to_log before the remap that reshapes metrics", () => {
    expect(table(config, 'sources')).toEqual({
      prom: { type: 'prometheus_scrape', endpoints: ['http://localhost:9100/metrics'] },
      logs: { type: 'journald' },
    });
    expect(table(transforms, 'jsonify_logs')).toEqual({ type: 'remap', inputs: ['logs'], source: '.structured = parse_json!(string!(.message))\n' });
    expect(table(transforms, 'prom_logs')).toMatchObject({ type: 'metric_to_log', inputs: ['prom'] });
    expect(table(transforms, 'observability_rows')).toMatchObject({ type: 'remap', inputs: ['prom_logs', 'jsonify_logs'] });
    // Every remap reads log events only: metrics pass through metric_to_log first.
    for (const [name, t] of Object.entries(transforms) as Array<[string, TomlTable]>) {
      if (t.type === 'remap') expect({ name, inputs: t.inputs }).not.toEqual({ name, inputs: expect.arrayContaining(['prom']) });
    }
    expect(table(sinks, 'pg')).toEqual({
      type: 'postgres',
      inputs: ['observability_rows'],
      endpoint: 'postgresql://strata:${STRATA_PROXY_PASSWORD}@127.0.0.1:6543/strata?sslmode=require',
      table: 'observability_events',
    });
    expect(table(sinks, 'ch')).toMatchObject({
      type: 'clickhouse',
      inputs: ['jsonify_logs'],
      endpoint: '${STRATA_GATEWAY_URL}',
      database: 'default',
      table: 'logs_events',
      compression: 'gzip',
      auth: { strategy: 'basic', user: 'default', password: '${STRATA_GATEWAY_TOKEN}' },
    });
  });

  describe('replayed against a gateway and a proxy', () => {
    let f: GatewayFixture;
    let proxy: ProxyProcess;

    beforeAll(async () => {
      f = await startGatewayFixture('gw_vector_example');
      await applyTable({ hot: f.pg, cold: f.cold, coldTarget: { database: f.coldDatabase } }, observabilitySpec());
      proxy = await startProxyFor(f);
    });
    afterAll(async () => {
      await proxy?.stop();
      await f?.close();
    });

    const at = '2026-11-25T18:00:00.123456789Z';
    const journald = {
      host: 'node-a',
      message: '{"level":"info","msg":"started"}',
      source_type: 'journald',
      timestamp: at,
      _SYSTEMD_UNIT: 'app.service',
      PRIORITY: '6',
      structured: { level: 'info', msg: 'started' },
    };

    test('sinks.pg: the sqlx statements through the proxy, then the seed panel reads the rows', async () => {
      const pg = table(sinks, 'pg');
      const t = pg.table as string;
      // What observability_rows makes of a journald event and of a scraped sample after metric_to_log.
      const metric = { name: 'node_load1', tags: { instance: 'localhost:9100', job: 'node' }, kind: 'absolute', gauge: { value: 0.42 }, timestamp: at, host: 'localhost:9100' };
      const batch = [
        { event_time: at, node: journald.host, source_type: 'journald', message: journald.message, raw: { ...journald, source: 'journald' } },
        { event_time: at, node: metric.host, source_type: 'prometheus_scrape', message: null, raw: { ...metric, source: 'prometheus_scrape' } },
      ];
      const c = new Client({ connectionString: proxy.url });
      await c.connect();
      try {
        expect((await c.query({ name: 'sqlx_s_1', text: 'SELECT 1' })).rowCount).toBe(1);
        const r = await c.query({ name: 'sqlx_s_2', text: `INSERT INTO ${t} SELECT * FROM jsonb_populate_recordset(NULL::${t}, $1)`, values: [JSON.stringify(batch)] });
        expect(r.rowCount).toBe(2);
        const panel = (node: string, source: string) =>
          c.query({
            text: `SELECT time_bucket('1 minute', event_time) AS ts, COUNT(*)\nFROM observability_events\nWHERE node = '${node}'\n  AND raw->>'source' = '${source}'\n  AND event_time BETWEEN '2026-11-25T00:00:00Z' AND '2026-11-26T00:00:00Z'\nGROUP BY ts\nORDER BY ts;`,
            types: { getTypeParser: () => (v: string) => v },
          });
        expect((await panel('node-a', 'journald')).rows).toEqual([{ ts: '2026-11-25 18:00:00+00', count: '1' }]);
        expect((await panel('localhost:9100', 'prometheus_scrape')).rows).toEqual([{ ts: '2026-11-25 18:00:00+00', count: '1' }]);
        const stored = await c.query(`SELECT raw->'structured'->>'msg' AS msg, raw->'gauge'->>'value' AS gauge FROM ${t} ORDER BY source_type`);
        expect(stored.rows).toEqual([
          { msg: 'started', gauge: null },
          { msg: null, gauge: '0.42' },
        ]);
      } finally {
        await c.end();
      }
    });

    test('sinks.ch: the health check and a gzip JSONEachRow batch into logs_events, read back through the proxy', async () => {
      const ch = table(sinks, 'ch');
      const auth = table(ch, 'auth');
      const endpoint = (ch.endpoint as string).replace('${STRATA_GATEWAY_URL}', f.gateway.url);
      const basic = 'Basic ' + Buffer.from(`${auth.user as string}:${(auth.password as string).replace('${STRATA_GATEWAY_TOKEN}', GATEWAY_TEST_TOKEN)}`).toString('base64');
      expect(await (await fetch(`${endpoint}/?query=SELECT%201`, { headers: { authorization: basic } })).text()).toBe('1\n');
      const url =
        `${endpoint}/?input_format_import_nested_json=1&` +
        new URLSearchParams({ query: 'INSERT INTO {database:Identifier}.{table:Identifier} FORMAT JSONEachRow', param_database: ch.database as string, param_table: ch.table as string }).toString();
      const res = await fetch(url, {
        method: 'POST',
        body: gzipSync(JSON.stringify(journald) + '\n'),
        headers: { authorization: basic, 'content-type': 'application/x-ndjson', 'content-encoding': ch.compression as string },
      });
      expect(res.status).toBe(200);
      const viaProxy = await proxy.query(`SELECT host, message, labels->'structured'->>'msg' AS msg, labels->>'_SYSTEMD_UNIT' AS unit FROM logs_events WHERE host = 'node-a'`);
      expect(viaProxy.rows).toEqual([{ host: 'node-a', message: journald.message, msg: 'started', unit: 'app.service' }]);
    });
  });
});
