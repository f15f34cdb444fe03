import { validateTieredTable, type TieredTableInput, type TieredTableSpec } from '@strata/core';

/**
 * The tables the protocol endpoints write to (gateway/README.md documents each column).
 * They are created at start when missing; a table of the same name registered beforehand
 * is used as it is, so an operator can widen retention, add rollups or columns.
 */

const jsonb = (name: string) => ({ name, type: 'jsonb' });
const text = (name: string) => ({ name, type: 'text' });
const ts = (name: string) => ({ name, type: 'timestamptz' });

export const BUILTIN_TABLES = {
  /** The seed's tables (/write/metrics and /write/logs default to them). */
  metricsEvents: 'metrics_events',
  logsEvents: 'logs_events',
  otelMetrics: 'otel_metrics',
  otelLogs: 'otel_logs',
  otelTraces: 'otel_traces',
  promMetrics: 'prom_metrics',
  influxMetrics: 'influx_metrics',
} as const;

const HOT = { chunkInterval: '1h', retention: '24h' };

const INPUTS: TieredTableInput[] = [
  {
    table: BUILTIN_TABLES.metricsEvents,
    timeColumn: 'time',
    mode: 'hot-then-cold',
    columns: [ts('time'), text('app'), text('host'), jsonb('labels'), { name: 'value', type: 'double precision' }, text('trace_id'), text('level')],
    hot: HOT,
    cold: { orderBy: ['app', 'host', 'time'], partitionBy: 'day', retention: '90d' },
    rollups: [{ name: '1m', interval: '1m', groupBy: ['app', 'host'], aggregates: { value: ['avg', 'min', 'max', 'sum', 'count'] } }],
  },
  {
    table: BUILTIN_TABLES.logsEvents,
    timeColumn: 'timestamp',
    mode: 'cold-only',
    columns: [ts('timestamp'), text('app'), text('host'), text('trace_id'), text('message'), jsonb('labels')],
    // The default's month partitions: a time-first sort key kept forever (core defaultPartitionBy).
    cold: { orderBy: ['timestamp', 'app'] },
  },
  {
    table: BUILTIN_TABLES.otelMetrics,
    timeColumn: 'time',
    mode: 'hot-then-cold',
    columns: [
      ts('time'),
      text('service'),
      text('metric'),
      text('kind'),
      text('unit'),
      { name: 'value', type: 'double precision' },
      { name: 'count', type: 'bigint' },
      jsonb('buckets'),
      ts('start_time'),
      jsonb('resource'),
      jsonb('scope'),
      jsonb('labels'),
    ],
    hot: HOT,
    cold: { orderBy: ['service', 'metric', 'time'], partitionBy: 'day' },
  },
  {
    table: BUILTIN_TABLES.otelLogs,
    timeColumn: 'timestamp',
    mode: 'cold-only',
    columns: [
      ts('timestamp'),
      ts('observed_timestamp'),
      text('service'),
      { name: 'severity_number', type: 'integer' },
      text('severity_text'),
      text('body'),
      text('trace_id'),
      text('span_id'),
      text('event_name'),
      jsonb('resource'),
      jsonb('scope'),
      jsonb('labels'),
    ],
    cold: { orderBy: ['service', 'timestamp'], partitionBy: 'day' },
  },
  {
    table: BUILTIN_TABLES.otelTraces,
    timeColumn: 'time',
    mode: 'hot-then-cold',
    columns: [
      ts('time'),
      ts('end_time'),
      { name: 'duration_ms', type: 'double precision' },
      text('service'),
      text('trace_id'),
      text('span_id'),
      text('parent_span_id'),
      text('name'),
      { name: 'kind', type: 'integer' },
      { name: 'status_code', type: 'integer' },
      text('status_message'),
      jsonb('events'),
      jsonb('links'),
      jsonb('resource'),
      jsonb('scope'),
      jsonb('labels'),
    ],
    hot: HOT,
    cold: { orderBy: ['service', 'name', 'time'], partitionBy: 'day' },
  },
  {
    table: BUILTIN_TABLES.promMetrics,
    timeColumn: 'time',
    mode: 'hot-then-cold',
    columns: [ts('time'), text('metric'), { name: 'value', type: 'double precision' }, jsonb('labels')],
    hot: HOT,
    cold: { orderBy: ['metric', 'time'], partitionBy: 'day' },
  },
  {
    table: BUILTIN_TABLES.influxMetrics,
    timeColumn: 'time',
    mode: 'hot-then-cold',
    columns: [ts('time'), text('measurement'), text('field'), { name: 'value', type: 'double precision' }, text('value_text'), jsonb('labels')],
    hot: HOT,
    cold: { orderBy: ['measurement', 'field', 'time'], partitionBy: 'day' },
  },
];

export function builtinTableSpecs(): TieredTableSpec[] {
  return INPUTS.map((input) => {
    const r = validateTieredTable(input);
    if (!r.ok) throw new Error(`built-in table ${input.table} is invalid: ${JSON.stringify(r.errors)}`);
    return r.spec;
  });
}
