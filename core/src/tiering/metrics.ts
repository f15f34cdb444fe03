import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { TierRunResult } from './tierer';
import type { TieringError } from './errors';

/**
 * Prometheus metrics for tiering runs. Registered on the registry the caller owns (the
 * operator's, `strata up`'s, or a fresh one that `strata tier --metrics-textfile`
 * writes for node_exporter's textfile collector when it runs as a CronJob).
 */
export interface TieringMetrics {
  readonly registry: Registry;
  recordRun(result: TierRunResult, now?: Date): void;
  recordFailure(table: string, err: TieringError | Error): void;
}

export function createTieringMetrics(registry = new Registry()): TieringMetrics {
  const runs = new Counter({
    name: 'strata_tiering_runs_total',
    help: 'Tiering runs by table and outcome (ok, or the TieringError code)',
    labelNames: ['table', 'outcome'] as const,
    registers: [registry],
  });
  const rows = new Counter({
    name: 'strata_tiering_rows_moved_total',
    help: 'Rows moved from PostgreSQL to ClickHouse',
    labelNames: ['table'] as const,
    registers: [registry],
  });
  const bytes = new Counter({
    name: 'strata_tiering_bytes_moved_total',
    help: 'Bytes of ClickHouse insert payload moved',
    labelNames: ['table'] as const,
    registers: [registry],
  });
  const quarantined = new Counter({
    name: 'strata_tiering_rows_quarantined_total',
    help: 'Rows set aside in strata.quarantine instead of moved: a value in them the cold tier cannot hold (alert on any increase)',
    labelNames: ['table'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'strata_tiering_run_duration_seconds',
    help: 'Duration of successful tiering runs',
    labelNames: ['table'] as const,
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
    registers: [registry],
  });
  const watermark = new Gauge({
    name: 'strata_tiering_watermark_seconds',
    help: 'The watermark W as Unix time: rows below it live in ClickHouse',
    labelNames: ['table'] as const,
    registers: [registry],
  });
  const lastSuccess = new Gauge({
    name: 'strata_tiering_last_success_timestamp_seconds',
    help: 'When the last successful run finished; alert on time() minus this',
    labelNames: ['table'] as const,
    registers: [registry],
  });

  return {
    registry,
    recordRun(result, now = new Date()) {
      const table = result.table;
      runs.inc({ table, outcome: 'ok' });
      rows.inc({ table }, result.rows);
      bytes.inc({ table }, result.bytes);
      quarantined.inc({ table }, result.quarantinedRows);
      duration.observe({ table }, result.durationMs / 1000);
      const w = Date.parse(result.watermark);
      if (Number.isFinite(w)) watermark.set({ table }, w / 1000);
      lastSuccess.set({ table }, now.getTime() / 1000);
    },
    recordFailure(table, err) {
      const code = (err as { code?: unknown }).code;
      runs.inc({ table, outcome: typeof code === 'string' ? code : 'error' });
    },
  };
}
