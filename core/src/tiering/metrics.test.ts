import { createTieringMetrics } from './metrics';
import { TieringError, TIERING_ERROR_CODES } from './errors';

test('a run and a failure show up in the exposition text', async () => {
  const m = createTieringMetrics();
  m.recordRun(
    { table: 'metrics_events', gen: '3', previousWatermark: '-infinity', watermark: '2026-01-05T00:00:00.000Z', rows: 1200, bytes: 4096, durationMs: 1500, droppedPartitions: 2, checksum: 'x', expiredRows: 0, quarantinedRows: 2 },
    new Date('2026-01-06T00:00:00Z'),
  );
  m.recordFailure('metrics_events', new TieringError(TIERING_ERROR_CODES.coldStore, 'ClickHouse: down'));
  const text = await m.registry.metrics();
  expect(text).toContain('strata_tiering_rows_moved_total{table="metrics_events"} 1200');
  expect(text).toContain('strata_tiering_bytes_moved_total{table="metrics_events"} 4096');
  expect(text).toContain('strata_tiering_rows_quarantined_total{table="metrics_events"} 2');
  expect(text).toContain('strata_tiering_watermark_seconds{table="metrics_events"} 1767571200');
  expect(text).toContain('strata_tiering_last_success_timestamp_seconds{table="metrics_events"} 1767657600');
  expect(text).toContain('strata_tiering_runs_total{table="metrics_events",outcome="ok"} 1');
  expect(text).toContain(`strata_tiering_runs_total{table="metrics_events",outcome="${TIERING_ERROR_CODES.coldStore}"} 1`);
  expect(text).toContain('strata_tiering_run_duration_seconds_sum{table="metrics_events"} 1.5');
});
