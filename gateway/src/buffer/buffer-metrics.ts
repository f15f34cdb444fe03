import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The buffer's Prometheus metrics, on the gateway's (or `strata writer`'s) registry. */
export interface BufferMetrics {
  published: Counter<'store'>;
  publishRefused: Counter<'reason'>;
  applied: Counter<'store' | 'outcome'>;
  rowsApplied: Counter<'store' | 'table'>;
  redeliveries: Counter<'store'>;
  deadLetters: Counter<'store' | 'table'>;
  applyFailures: Counter<'store'>;
  applySeconds: Histogram<'store'>;
  lagMessages: Gauge;
  lagSeconds: Gauge;
}

export function createBufferMetrics(registry: Registry): BufferMetrics {
  const registers = [registry];
  return {
    published: new Counter({ name: 'strata_buffer_published_messages_total', help: 'Batches stored in the JetStream stream (acknowledged to clients).', labelNames: ['store'], registers }),
    publishRefused: new Counter({
      name: 'strata_buffer_publish_refused_total',
      help: 'Publishes refused: stream_full (429) or unavailable (503).',
      labelNames: ['reason'],
      registers,
    }),
    applied: new Counter({
      name: 'strata_buffer_messages_applied_total',
      help: 'Messages applied by the writers: applied, or duplicate (already applied; a redelivery).',
      labelNames: ['store', 'outcome'],
      registers,
    }),
    rowsApplied: new Counter({ name: 'strata_buffer_rows_applied_total', help: 'Rows the writers committed to a store.', labelNames: ['store', 'table'], registers }),
    redeliveries: new Counter({ name: 'strata_buffer_redeliveries_total', help: 'Messages delivered to a writer more than once.', labelNames: ['store'], registers }),
    deadLetters: new Counter({ name: 'strata_buffer_dead_letters_total', help: 'Batches the store refused, moved to the dead-letter stream.', labelNames: ['store', 'table'], registers }),
    applyFailures: new Counter({ name: 'strata_buffer_apply_failures_total', help: 'Batches a store could not take (unreachable): redelivered later.', labelNames: ['store'], registers }),
    applySeconds: new Histogram({
      name: 'strata_buffer_apply_seconds',
      help: 'Time to apply one batch of messages.',
      labelNames: ['store'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    lagMessages: new Gauge({ name: 'strata_buffer_lag_messages', help: 'Messages in the stream not yet applied (pending and unacknowledged).', registers }),
    lagSeconds: new Gauge({ name: 'strata_buffer_lag_seconds', help: 'Age of the oldest message not yet applied.', registers }),
  };
}
