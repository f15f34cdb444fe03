import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { createTieringGauges, type TieringGauges } from './tiering-metrics';

/** The operator's Prometheus metrics, on a registry of its own (no global state). */
export interface OperatorMetrics {
  registry: Registry;
  reconciles: Counter<'result'>;
  reconcileSeconds: Histogram<'result'>;
  queueDepth: Gauge;
  isLeader: Gauge;
  watchRestarts: Counter<'reason'>;
  tieringRuns: Counter<'result'>;
  tieringRows: Counter;
  /** Per-table tiering state from the catalog, in both tiering modes. */
  tables: TieringGauges;
}

export function createOperatorMetrics(): OperatorMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'strata_operator_process_' });
  const registers = [registry];
  return {
    registry,
    reconciles: new Counter({ name: 'strata_operator_reconcile_total', help: 'Reconciles by result (success, requeue, error, invalid).', labelNames: ['result'], registers }),
    reconcileSeconds: new Histogram({
      name: 'strata_operator_reconcile_duration_seconds',
      help: 'Reconcile wall time.',
      labelNames: ['result'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    queueDepth: new Gauge({ name: 'strata_operator_workqueue_depth', help: 'Keys waiting in the work queue.', registers }),
    isLeader: new Gauge({ name: 'strata_operator_leader', help: '1 while this replica holds the leader Lease.', registers }),
    watchRestarts: new Counter({ name: 'strata_operator_watch_restarts_total', help: 'Watch reconnects by reason (timeout, disconnect, gone, error).', labelNames: ['reason'], registers }),
    tieringRuns: new Counter({ name: 'strata_operator_tiering_runs_total', help: 'In-process tiering runs by result.', labelNames: ['result'], registers }),
    tieringRows: new Counter({ name: 'strata_operator_tiering_rows_total', help: 'Rows moved by in-process tiering runs.', registers }),
    tables: createTieringGauges(registry),
  };
}
