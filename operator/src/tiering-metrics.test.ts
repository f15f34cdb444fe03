import { Registry } from 'prom-client';
import type { TableStatus } from '@strata/core';
import { createTieringGauges } from './tiering-metrics';

const status = (over: Partial<Omit<TableStatus, 'lastRun'>> & { lastRun?: Partial<TableStatus['lastRun']> }): TableStatus => ({
  table: 'cpu',
  mode: 'hot-then-cold',
  watermark: '2026-01-01T00:00:00.000Z',
  rowsHot: 5,
  rowsCold: 100,
  lagSeconds: 0,
  totalRowsMoved: 100,
  rowsQuarantined: 0,
  ...over,
  lastRun: { startedAt: null, finishedAt: '2026-01-01T00:01:00.000Z', rows: 100, durationMs: 10, error: null, ...over.lastRun },
});

async function value(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  const v = (m?.values as Array<{ labels: Record<string, string>; value: number }> | undefined)?.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v?.value;
}

describe('tiering gauges from the catalog', () => {
  const labels = { namespace: 'apps', table: 'cpu' };

  test('a failed run sets last_run_failed and keeps the last success it saw', async () => {
    const registry = new Registry();
    const g = createTieringGauges(registry);
    g.observe(labels, status({}));
    expect(await value(registry, 'strata_tiering_last_success_timestamp_seconds', labels)).toBe(Date.parse('2026-01-01T00:01:00Z') / 1000);
    g.observe(labels, status({ lastRun: { finishedAt: '2026-01-01T00:02:00.000Z', error: 'ClickHouse: connection refused' } }));
    expect(await value(registry, 'strata_tiering_last_run_failed', labels)).toBe(1);
    expect(await value(registry, 'strata_tiering_last_success_timestamp_seconds', labels)).toBe(Date.parse('2026-01-01T00:01:00Z') / 1000);
  });

  test('rows moved follows the catalog total, resetting when the table was made again; forget ends the series', async () => {
    const registry = new Registry();
    const g = createTieringGauges(registry);
    g.observe(labels, status({ totalRowsMoved: 100 }));
    g.observe(labels, status({ totalRowsMoved: 250 }));
    expect(await value(registry, 'strata_tiering_rows_moved_total', labels)).toBe(250);
    g.observe(labels, status({ totalRowsMoved: 30 }));
    expect(await value(registry, 'strata_tiering_rows_moved_total', labels)).toBe(30);
    // Before the first run W is -infinity: no watermark, no lag.
    g.observe({ namespace: 'apps', table: 'fresh' }, status({ table: 'fresh', watermark: '-infinity', lagSeconds: null }));
    expect(await value(registry, 'strata_tiering_watermark_seconds', { table: 'fresh' })).toBeUndefined();
    g.forget(labels);
    expect(await value(registry, 'strata_tiering_watermark_seconds', labels)).toBeUndefined();
    expect(await value(registry, 'strata_tiering_table_rows', labels)).toBeUndefined();
  });
});
