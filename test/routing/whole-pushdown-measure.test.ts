import { Client } from 'pg';
import { ensurePartitions, runTiering, validateTieredTable } from '@strata/core';
import { resolveProxyConfig } from '../../proxy/src/config';
import { startTieredProxy, type RunningTieredProxy } from '../../proxy/src/tiered-proxy';
import { tieredFixture, tiererDeps, type TieredFixture } from '../support/tiered-fixture';

/**
 * A measurement, not part of the suite (STRATA_MEASURE_WHOLE=1 runs it): per-host p95 and
 * stddev over ROWS rows, five sixths of them cold, through the proxy three ways — whole
 * pushdown (hot rows shipped), the same answer asked so that it is not pushed (raw cold
 * rows copied into PostgreSQL: percentile_cont(0.05) … ORDER BY v DESC is the same p95),
 * and PostgreSQL alone holding every row. Prints the median of five runs of each.
 *
 *   STRATA_MEASURE_WHOLE=1 ROWS=2000000 scripts/run-jest.sh test/routing/whole-pushdown-measure.test.ts
 */
const run = process.env.STRATA_MEASURE_WHOLE === '1' ? describe : describe.skip;
const ROWS = Number(process.env.ROWS ?? 1_000_000);
const PASSWORD = 'measure-secret';

const spec = validateTieredTable({
  table: 'measure_events',
  timeColumn: 'time',
  columns: [
    { name: 'time', type: 'timestamptz' },
    { name: 'host', type: 'text' },
    { name: 'v', type: 'double precision' },
  ],
  hot: { chunkInterval: '1d', retention: '24h' },
  cold: { orderBy: ['host', 'time'], partitionBy: 'day' },
});

jest.setTimeout(1_800_000);

run('whole pushdown, measured', () => {
  let fx: TieredFixture;
  let proxy: RunningTieredProxy;
  let client: Client;

  beforeAll(async () => {
    if (!spec.ok) throw new Error(JSON.stringify(spec.errors));
    fx = await tieredFixture(spec.spec);
    await ensurePartitions(fx.hot, spec.spec, new Date('2026-01-01T00:00:00Z'), new Date('2026-01-08T00:00:00Z'));
    // ROWS rows evenly over six days; W after the fifth.
    const step = (6 * 86_400) / ROWS;
    const rows = `SELECT timestamptz '2026-01-01 00:00+00' + make_interval(secs => n * ${step}), 'h' || (n % 20), (n::int8 * 7919 % 100003)::float8 / 7 FROM generate_series(0, ${ROWS - 1}) n`;
    await fx.hot.query(`INSERT INTO measure_events ${rows}`);
    await fx.hot.query('CREATE TABLE measure_reference AS SELECT * FROM measure_events');
    await fx.hot.query('ANALYZE measure_events; ANALYZE measure_reference');
    await runTiering(tiererDeps(fx.pgUrl, fx.cold, fx.database), { table: 'measure_events', until: new Date('2026-01-06T00:00:00Z') });
    const pino = (await import('pino')).default;
    proxy = await startTieredProxy(resolveProxyConfig({ listen: '127.0.0.1:0', backendUrl: fx.pgUrl, users: { postgres: PASSWORD } }), {
      pgUrl: fx.pgUrl,
      cold: fx.cold,
      coldDatabase: fx.database,
      logger: pino({ level: 'silent' }),
    });
    client = new Client({ connectionString: `postgres://postgres:${PASSWORD}@${proxy.host}:${proxy.port}/${new URL(fx.pgUrl).pathname.slice(1)}` });
    await client.connect();
  });

  afterAll(async () => {
    await client?.end();
    await proxy?.close();
    await fx?.close();
  });

  async function median(c: Client, sql: string): Promise<{ ms: number; rows: unknown[] }> {
    const times: number[] = [];
    let rows: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      const t = process.hrtime.bigint();
      rows = (await c.query({ text: sql, rowMode: 'array' })).rows;
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    return { ms: times.sort((a, b) => a - b)[2], rows };
  }

  it('prints the three timings', async () => {
    const whole = `SELECT host, percentile_cont(0.95) WITHIN GROUP (ORDER BY v), stddev(v) FROM measure_events GROUP BY host ORDER BY host`;
    const raw = `SELECT host, percentile_cont(0.05) WITHIN GROUP (ORDER BY v DESC), stddev(v) FROM measure_events GROUP BY host ORDER BY host`;
    expect((await client.query(`EXPLAIN ${whole}`)).rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/plan class: whole/);
    expect((await client.query(`EXPLAIN ${raw}`)).rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/plan class: raw/);
    const a = await median(client, whole);
    const b = await median(client, raw);
    const c = await median(fx.hot, whole.replace('measure_events', 'measure_reference'));
    expect(a.rows.map((r) => (r as unknown[])[1])).toEqual(c.rows.map((r) => (r as unknown[])[1]));
    process.stdout.write(`${JSON.stringify({ rows: ROWS, whole_ms: a.ms, raw_fallback_ms: b.ms, postgres_ms: c.ms, speedup_vs_postgres: +(c.ms / a.ms).toFixed(2), speedup_vs_raw: +(b.ms / a.ms).toFixed(2) })}\n`);
  });
});
