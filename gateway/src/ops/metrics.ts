import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The gateway's Prometheus metrics, on a registry of its own (several gateways may share a process in tests). */
export interface GatewayMetrics {
  registry: Registry;
  requests: Counter<'protocol' | 'status'>;
  rowsAccepted: Counter<'protocol' | 'table'>;
  rowsWritten: Counter<'store' | 'table'>;
  flushSeconds: Histogram<'store' | 'table'>;
  flushFailures: Counter<'store' | 'table'>;
  pendingRows: Gauge<'store'>;
  backpressure: Counter<'store'>;
}

export function createGatewayMetrics(): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'strata_gateway_' });
  return {
    registry,
    requests: new Counter({ name: 'strata_gateway_requests_total', help: 'Ingest requests by protocol and outcome (HTTP status or gRPC code).', labelNames: ['protocol', 'status'], registers: [registry] }),
    rowsAccepted: new Counter({ name: 'strata_gateway_rows_accepted_total', help: 'Rows acknowledged to clients.', labelNames: ['protocol', 'table'], registers: [registry] }),
    rowsWritten: new Counter({ name: 'strata_gateway_rows_written_total', help: 'Rows committed to a store.', labelNames: ['store', 'table'], registers: [registry] }),
    flushSeconds: new Histogram({
      name: 'strata_gateway_flush_seconds',
      help: 'Time to commit one batch.',
      labelNames: ['store', 'table'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    flushFailures: new Counter({ name: 'strata_gateway_flush_failures_total', help: 'Batches a store failed to commit.', labelNames: ['store', 'table'], registers: [registry] }),
    pendingRows: new Gauge({ name: 'strata_gateway_pending_rows', help: 'Rows accepted and not yet committed.', labelNames: ['store'], registers: [registry] }),
    backpressure: new Counter({ name: 'strata_gateway_backpressure_total', help: 'Requests refused with 429 because the writers lag.', labelNames: ['store'], registers: [registry] }),
  };
}
