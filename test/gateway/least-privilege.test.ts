// The gateway's PostgreSQL writes as the least-privilege role docs/security.md lists
// ("Database roles", gateway): the role below gets exactly those grants, and every protocol
// that writes a hot table still lands its rows; what the role may not do (DDL for new tables
// or columns, reading rows back) is refused and leaves nothing behind.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { pushTimeseries } from 'prometheus-remote-write';
import { Client } from 'pg';
import { getRegisteredTable } from '@strata/core';
import { startGatewayFixture, type GatewayFixture } from '../support/gateway-fixture';
import { repoPath } from '../support/paths';

const ROLE = `strata_gateway_lp_${randomBytes(3).toString('hex')}`;
// Copied from docs/security.md; a test below checks the document still says this.
const GRANTS = [
  `CREATE ROLE ${ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT`,
  `GRANT USAGE ON SCHEMA public, strata TO ${ROLE}`,
  `GRANT INSERT ON metrics_events, otel_metrics, otel_traces, prom_metrics, influx_metrics TO ${ROLE}`,
];

let f: GatewayFixture;
let roleUrl: string;
beforeAll(async () => {
  // The owner (the fixture's superuser here, strata apply / the operator in a deployment)
  // migrates the catalog and creates the built-in tables; then the gateway runs as the role.
  f = await startGatewayFixture('gw_least_priv');
  for (const sql of GRANTS) await f.pg.query(sql);
  const url = new URL(f.db.url);
  url.username = ROLE;
  roleUrl = url.toString();
  await f.restartGateway({ pgUrl: roleUrl });
});
afterAll(async () => {
  await f?.close();
  await new Client({ connectionString: new URL('/postgres', f.db.url).toString() }).connect().then(async (c) => {
    await c.query(`DROP ROLE IF EXISTS ${ROLE}`);
    await c.end();
  }).catch(() => undefined);
});

const post = async (path: string, body: string, type: string) => {
  const res = await fetch(`${f.gateway.url}${path}`, { method: 'POST', body, headers: { ...f.auth, 'content-type': type } });
  return { status: res.status, text: await res.text() };
};
const count = async (sql: string) => (await f.pg.query(sql)).rows[0].n as number;

test('docs/security.md lists exactly these grants for the gateway', async () => {
  const doc = readFileSync(repoPath('docs', 'security.md'), 'utf8');
  for (const sql of GRANTS.slice(1)) expect(doc).toContain(sql.replace(ROLE, 'strata_gateway'));
});

test('every hot built-in table is written through its protocol', async () => {
  const t = Date.parse('2026-12-01T00:00:00Z');
  expect((await post('/write/metrics', JSON.stringify([{ time: new Date(t).toISOString(), app: 'lp', value: 1 }]), 'application/json')).status).toBe(200);
  expect((await post('/write', `cpu,host=lp usage=1 ${t}000000`, 'text/plain')).status).toBe(204);
  const prom = await pushTimeseries([{ labels: { __name__: 'lp_metric' }, samples: [{ value: 1, timestamp: t }] }], {
    url: `${f.gateway.url}/api/v1/write`,
    headers: f.auth,
    fetch: globalThis.fetch as never,
  });
  expect(prom.status).toBe(204);
  const ns = `${t}000000`;
  const metrics = { resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'lp_gauge', gauge: { dataPoints: [{ timeUnixNano: ns, asDouble: 1 }] } }] }] }] };
  expect((await post('/v1/metrics', JSON.stringify(metrics), 'application/json')).status).toBe(200);
  const spans = { resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', name: 'lp', startTimeUnixNano: ns, endTimeUnixNano: ns }] }] }] };
  expect((await post('/v1/traces', JSON.stringify(spans), 'application/json')).status).toBe(200);
  expect(await count(`SELECT count(*)::int n FROM metrics_events WHERE app = 'lp'`)).toBe(1);
  expect(await count(`SELECT count(*)::int n FROM influx_metrics WHERE measurement = 'cpu'`)).toBe(1);
  expect(await count(`SELECT count(*)::int n FROM prom_metrics WHERE metric = 'lp_metric'`)).toBe(1);
  expect(await count(`SELECT count(*)::int n FROM otel_metrics`)).toBe(1);
  expect(await count(`SELECT count(*)::int n FROM otel_traces`)).toBe(1);
});

test('what the role may not do is refused: a new table, a new column, reading rows back', async () => {
  const register = await post('/schema/register', JSON.stringify({ table_name: 'lp_new', schema: { columns: [{ name: 'time', type: 'timestamp' }, { name: 'v', type: 'double' }] } }), 'application/json');
  expect(register.status).toBeGreaterThanOrEqual(400);
  expect(await getRegisteredTable(f.pg, 'lp_new')).toBeNull();
  expect(await count(`SELECT count(*)::int n FROM pg_class WHERE relname = 'lp_new'`)).toBe(0);
  // metrics_events ignores unknown fields; whatever it answers, no column is added.
  await post('/write/metrics', JSON.stringify([{ time: '2026-12-01T00:00:00Z', app: 'lp_col', value: 1, brand_new: 'x' }]), 'application/json');
  expect(await count(`SELECT count(*)::int n FROM information_schema.columns WHERE table_name = 'metrics_events' AND column_name = 'brand_new'`)).toBe(0);
  const asRole = new Client({ connectionString: roleUrl });
  await asRole.connect();
  try {
    await expect(asRole.query('SELECT * FROM metrics_events')).rejects.toMatchObject({ code: '42501' });
    await expect(asRole.query('DELETE FROM metrics_events')).rejects.toMatchObject({ code: '42501' });
    await expect(asRole.query("COPY (SELECT 1) TO PROGRAM 'true'")).rejects.toMatchObject({ code: '42501' });
  } finally {
    await asRole.end();
  }
});
