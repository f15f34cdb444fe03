// Grafana's PostgreSQL datasource queries (health check, version, TimescaleDB probe,
// table and column pickers) return through the proxy exactly what PostgreSQL returns.
import { Client, type QueryResult } from 'pg';
import { startProxyFixture, type ProxyFixture } from '../support/proxy-fixture';

const GRAFANA_QUERIES = [
  '-- ping',
  "SELECT current_setting('server_version_num')::int/100 as version",
  "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'",
  `select quote_ident(table_name) as "table" from information_schema.tables
    where quote_ident(table_schema) not in ('information_schema','pg_catalog','_timescaledb_cache','_timescaledb_catalog','_timescaledb_internal','_timescaledb_config','timescaledb_information','timescaledb_experimental')
      and table_type = 'BASE TABLE' and quote_ident(table_schema) IN (
        select CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
        from generate_series(array_lower(string_to_array(current_setting('search_path'),','),1), array_upper(string_to_array(current_setting('search_path'),','),1)) as i,
             string_to_array(current_setting('search_path'),',') s)`,
  "select column_name, data_type from information_schema.columns where quote_ident(table_name) = 'metrics' order by column_name",
  "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'metrics' ORDER BY ordinal_position",
];

function shape(r: QueryResult | QueryResult[]) {
  const results = Array.isArray(r) ? r : [r];
  return results.map((x) => ({ command: x.command, fields: x.fields.map((f) => [f.name, f.dataTypeID]), rows: x.rows }));
}

describe("Grafana's catalog queries", () => {
  let fx: ProxyFixture;
  let direct: Client;
  let proxied: Client;
  beforeAll(async () => {
    fx = await startProxyFixture();
    direct = new Client({ connectionString: fx.db.url });
    await direct.connect();
    await direct.query('CREATE TABLE metrics (time timestamptz, host text, value double precision)');
    proxied = new Client({ connectionString: fx.url });
    await proxied.connect();
  });
  afterAll(async () => {
    await proxied.end();
    await direct.end();
    await fx.stop();
  });

  it.each(GRAFANA_QUERIES)('%s', async (sql) => {
    const expected = shape(await direct.query(sql));
    expect(shape(await proxied.query(sql))).toEqual(expected);
    if (!sql.startsWith('--')) {
      // Over the extended protocol too (pgx's default for non-panel queries).
      expect(shape(await proxied.query({ text: sql, values: [] }))).toEqual(shape(await direct.query({ text: sql, values: [] })));
    }
  });
});
