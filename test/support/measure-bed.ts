import { Client } from 'pg';
import { ensurePartitions, runTiering, validateTieredTable, type TieredTableSpec } from '@strata/core';
import { resolveProxyConfig } from '../../proxy/src/config';
import { startTieredProxy, type RunningTieredProxy } from '../../proxy/src/tiered-proxy';
import { tieredFixture, tiererDeps, type TieredFixture } from './tiered-fixture';

/**
 * The bed of the measurement tests (test/routing/*-measure.test.ts): `measure_events`
 * (time, host, v) with `rows` rows evenly over `days` days from 2026-01-01 (host
 * 'h' || n % hosts, a deterministic value), the same rows in the plain table
 * `measure_reference`, rows below `until` tiered, and a client through the proxy.
 */
export interface MeasureBed {
  fx: TieredFixture;
  proxy: RunningTieredProxy;
  client: Client;
  close(): Promise<void>;
}

/** measure_events' spec (1-day chunks, day partitions), with `extra` fields (rollups, …). */
export function measureSpec(extra: Record<string, unknown> = {}): TieredTableSpec {
  const r = validateTieredTable({
    table: 'measure_events',
    timeColumn: 'time',
    columns: [
      { name: 'time', type: 'timestamptz' },
      { name: 'host', type: 'text' },
      { name: 'v', type: 'double precision' },
    ],
    hot: { chunkInterval: '1d', retention: '24h' },
    cold: { orderBy: ['host', 'time'], partitionBy: 'day' },
    ...extra,
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.spec;
}

const START = Date.parse('2026-01-01T00:00:00Z');
const PASSWORD = 'measure-secret';

export async function startMeasureBed(spec: TieredTableSpec, opts: { rows: number; days: number; hosts: number; until: string }): Promise<MeasureBed> {
  const fx = await tieredFixture(spec);
  await ensurePartitions(fx.hot, spec, new Date(START), new Date(START + (opts.days + 1) * 86_400_000));
  const step = (opts.days * 86_400) / opts.rows;
  const rows = `SELECT timestamptz '2026-01-01 00:00+00' + make_interval(secs => n * ${step}), 'h' || (n % ${opts.hosts}), (n::int8 * 7919 % 100003)::float8 / 7 FROM generate_series(0, ${opts.rows - 1}) n`;
  await fx.hot.query(`INSERT INTO measure_events ${rows}`);
  await fx.hot.query('CREATE TABLE measure_reference AS SELECT * FROM measure_events');
  await fx.hot.query('ANALYZE measure_events; ANALYZE measure_reference');
  await runTiering(tiererDeps(fx.pgUrl, fx.cold, fx.database), { table: 'measure_events', until: new Date(opts.until) });
  const pino = (await import('pino')).default;
  const proxy = await startTieredProxy(resolveProxyConfig({ listen: '127.0.0.1:0', backendUrl: fx.pgUrl, users: { postgres: PASSWORD } }), {
    pgUrl: fx.pgUrl,
    cold: fx.cold,
    coldDatabase: fx.database,
    logger: pino({ level: 'silent' }),
  });
  const client = new Client({ connectionString: `postgres://postgres:${PASSWORD}@${proxy.host}:${proxy.port}/${new URL(fx.pgUrl).pathname.slice(1)}` });
  await client.connect();
  return {
    fx,
    proxy,
    client,
    async close() {
      await client.end().catch(() => undefined);
      await proxy.close();
      await fx.close();
    },
  };
}

/** The median time of five runs of `sql`, and the last run's rows. */
export async function medianRun(c: Client, sql: string): Promise<{ ms: number; rows: unknown[][] }> {
  const times: number[] = [];
  let rows: unknown[][] = [];
  for (let i = 0; i < 5; i++) {
    const t = process.hrtime.bigint();
    rows = (await c.query({ text: sql, rowMode: 'array' })).rows;
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return { ms: times.sort((a, b) => a - b)[2], rows };
}
