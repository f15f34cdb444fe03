import type { BenchLayout } from './bench-data';

/**
 * One bench/cold query: the statement a client sends (to Strata and to PostgreSQL
 * holding every row), and the best ClickHouse SQL a person would write for the same
 * question over the cold rows — the engine's own speed on this machine, the floor the
 * proxy's time is compared with (`overhead`). The hand-written statements read the cold
 * tables only (the last day of metrics is in PostgreSQL), use the rollup where one
 * serves, and skip Strata's visibility filters.
 */
export interface BenchQuery {
  name: string;
  sql: string;
  clickhouse: string;
  /** The query a rollup can serve: `rollup_gain` compares it with rollups off. */
  rollup?: boolean;
  /**
   * For the rollup query: the best hand-written ClickHouse SQL over the raw cold rows
   * (no rollup), so the run also measures the engine's own rollup gain (`ceiling_rollup_gain`).
   */
  clickhouseRaw?: string;
  /**
   * Beyond the fifteen: timed and checked like the others and listed with them,
   * but left out of the summary (ratio, worst, overhead…), which keeps measuring the set
   * the goals were set on.
   */
  extra?: true;
}

export function benchQueries(l: BenchLayout, db: string): BenchQuery[] {
  const { end, iso, minutes, hotMinutes } = l;
  const m = `\`${db}\`.metrics_events`;
  const logs = `\`${db}\`.logs_events`;
  const rollup = `\`${db}\`.metrics_events__rollup_1m_app`;
  const day = 1440;
  const lastDays = (n: number) => iso(Math.max(0, minutes - n * day));
  const shortFrom = iso(minutes - hotMinutes - 5);
  const shortTo = iso(minutes - hotMinutes + 5);
  const twoDays = iso(minutes - 2 * hotMinutes);
  const endCh = `toDateTime64('${end.replace('T', ' ').replace('Z', '')}', 6, 'UTC')`;
  const ch = (isoText: string) => `toDateTime64('${isoText.replace('T', ' ').replace('Z', '')}', 6, 'UTC')`;
  return [
    {
      name: 'timegroup-1h-avg-all',
      sql: `SELECT floor(extract(epoch from "time")/3600)*3600 AS "time", avg(value) AS "value" FROM metrics_events WHERE "time" BETWEEN '2026-01-01T00:00:00Z' AND '${end}' GROUP BY 1 ORDER BY 1`,
      clickhouse: `SELECT intDiv(toUnixTimestamp(time), 3600) * 3600 AS t, avg(value) FROM ${m} GROUP BY t ORDER BY t`,
    },
    {
      name: 'bucket-1d-max-by-host',
      sql: `SELECT time_bucket('1 day', time) AS "time", host AS metric, max(value) AS value FROM metrics_events WHERE time BETWEEN '2026-01-01T00:00:00Z' AND '${end}' GROUP BY 1, 2 ORDER BY 1, 2`,
      clickhouse: `SELECT toStartOfDay(time) AS t, host, max(value) FROM ${m} GROUP BY t, host ORDER BY t, host`,
    },
    { name: 'count-all', sql: 'SELECT count(*) FROM metrics_events', clickhouse: `SELECT count() FROM ${m}` },
    {
      name: 'by-app-aggregates',
      sql: 'SELECT app, sum(value) AS s, min(value) AS lo, max(value) AS hi, avg(value) AS mean, count(value) AS n, count(*) AS rows FROM metrics_events GROUP BY app ORDER BY app',
      clickhouse: `SELECT app, sum(value), min(value), max(value), avg(value), count(value), count() FROM ${m} GROUP BY app ORDER BY app`,
    },
    {
      name: 'jsonb-label-group',
      sql: `SELECT labels->>'region' AS region, avg(value) AS v FROM metrics_events WHERE time > '2026-01-02T00:00:00Z' GROUP BY 1 ORDER BY 1`,
      clickhouse: `SELECT JSONExtractString(labels, 'region') AS region, avg(value) FROM ${m} WHERE time > ${ch('2026-01-02T00:00:00Z')} GROUP BY region ORDER BY region`,
    },
    {
      name: 'errors-per-day',
      sql: `SELECT date_trunc('day', time) AS day, count(*) FILTER (WHERE level = 'error') AS errors, count(*) AS total FROM metrics_events GROUP BY 1 ORDER BY 1`,
      clickhouse: `SELECT toStartOfDay(time) AS d, countIf(level = 'error'), count() FROM ${m} GROUP BY d ORDER BY d`,
    },
    {
      name: 'distinct-hosts-per-app',
      sql: 'SELECT app, count(DISTINCT host) AS hosts FROM metrics_events GROUP BY app ORDER BY app',
      clickhouse: `SELECT app, uniqExact(host) FROM ${m} GROUP BY app ORDER BY app`,
    },
    {
      name: 'warn-hosts-30d',
      sql: `SELECT host, count(*) AS n FROM metrics_events WHERE level = 'warn' AND time >= '2026-02-01T00:00:00Z' AND time < '2026-03-03T00:00:00Z' GROUP BY host HAVING count(*) > 100 ORDER BY n DESC, host`,
      clickhouse: `SELECT host, count() AS n FROM ${m} WHERE level = 'warn' AND time >= ${ch('2026-02-01T00:00:00Z')} AND time < ${ch('2026-03-03T00:00:00Z')} GROUP BY host HAVING n > 100 ORDER BY n DESC, host`,
    },
    {
      name: 'span-5m-last-2d',
      sql: `SELECT time_bucket('300.000s', "time") AS "time", avg(value) AS "value" FROM metrics_events WHERE "time" BETWEEN '${twoDays}' AND '${end}' GROUP BY 1 ORDER BY 1`,
      clickhouse: `SELECT toStartOfFiveMinutes(time) AS t, avg(value) FROM ${m} WHERE time >= ${ch(twoDays)} AND time <= ${endCh} GROUP BY t ORDER BY t`,
    },
    {
      name: 'raw-latest-span',
      sql: `SELECT time, app, host, value FROM metrics_events WHERE time < '${shortTo}' AND time >= '${shortFrom}' ORDER BY time DESC, app, host LIMIT 20`,
      clickhouse: `SELECT time, app, host, value FROM ${m} WHERE time < ${ch(shortTo)} AND time >= ${ch(shortFrom)} ORDER BY time DESC, app, host LIMIT 20`,
    },
    {
      name: 'logs-latest-100',
      sql: 'SELECT "timestamp", app, host, level, message FROM logs_events ORDER BY "timestamp" DESC LIMIT 100',
      clickhouse: `SELECT timestamp, app, host, level, message FROM ${logs} ORDER BY timestamp DESC LIMIT 100 SETTINGS read_in_order_use_virtual_row = 1`,
    },
    {
      name: 'logs-ilike-7d',
      sql: `SELECT "timestamp", host, message FROM logs_events WHERE "timestamp" >= '${lastDays(7)}' AND message ILIKE '%connection timeout%' ORDER BY "timestamp"`,
      clickhouse: `SELECT timestamp, host, message FROM ${logs} WHERE timestamp >= ${ch(lastDays(7))} AND message ILIKE '%connection timeout%' ORDER BY timestamp`,
    },
    {
      name: 'p95-hourly-7d',
      sql: `SELECT date_trunc('hour', time) AS hour, percentile_cont(0.95) WITHIN GROUP (ORDER BY value) AS p95 FROM metrics_events WHERE time >= '${lastDays(7)}' AND time < '${end}' GROUP BY 1 ORDER BY 1`,
      clickhouse: `SELECT toStartOfHour(time) AS h, quantileExactInclusive(0.95)(value) FROM ${m} WHERE time >= ${ch(lastDays(7))} GROUP BY h ORDER BY h`,
    },
    {
      name: 'top10-error-hosts-30d',
      sql: `SELECT host, count(*) AS errors FROM logs_events WHERE "timestamp" >= '${lastDays(30)}' AND level = 'error' GROUP BY host ORDER BY errors DESC, host LIMIT 10`,
      clickhouse: `SELECT host, count() AS errors FROM ${logs} WHERE timestamp >= ${ch(lastDays(30))} AND level = 'error' GROUP BY host ORDER BY errors DESC, host LIMIT 10`,
    },
    {
      name: 'dashboard-30d-1h-rollup',
      sql: `SELECT time_bucket('1 hour', time) AS "time", app, avg(value) AS avg, max(value) AS max, count(*) AS n FROM metrics_events WHERE time >= '${lastDays(30)}' AND time < '${end}' GROUP BY 1, 2 ORDER BY 1, 2`,
      clickhouse: `SELECT toStartOfHour(bucket) AS t, app, sum(value__sum) / sum(value__count), max(value__max), sum(_rows) FROM ${rollup} WHERE bucket >= ${ch(lastDays(30))} GROUP BY t, app ORDER BY t, app`,
      clickhouseRaw: `SELECT toStartOfHour(time) AS t, app, avg(value), max(value), count() FROM ${m} WHERE time >= ${ch(lastDays(30))} GROUP BY t, app ORDER BY t, app`,
      rollup: true,
    },
    {
      // Windows reading past the cut within partitions: each (app, host)'s first 101 cold rows (top-n-windows.ts).
      name: 'latest-100-with-change-7d',
      sql: `SELECT time, app, host, value - lag(value) OVER (PARTITION BY app, host ORDER BY time) AS change FROM metrics_events WHERE time >= '${lastDays(7)}' ORDER BY time DESC, app, host LIMIT 100`,
      clickhouse: `SELECT time, app, host, value - lagInFrame(value) OVER (PARTITION BY app, host ORDER BY time ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS change FROM ${m} WHERE time >= ${ch(lastDays(7))} ORDER BY time DESC, app, host LIMIT 100`,
      extra: true,
    },
    {
      // row_number() against the statement: the plain cut, offset by ClickHouse's count of the rows left out (left-out-offsets.ts).
      name: 'latest-10-with-position-7d',
      sql: `SELECT time, app, host, value, row_number() OVER (ORDER BY time, app, host) AS pos FROM metrics_events WHERE time >= '${lastDays(7)}' ORDER BY time DESC, app DESC, host DESC LIMIT 10`,
      clickhouse: `SELECT time, app, host, value, row_number() OVER (ORDER BY time, app, host) AS pos FROM ${m} WHERE time >= ${ch(lastDays(7))} ORDER BY time DESC, app DESC, host DESC LIMIT 10`,
      extra: true,
    },
    {
      // A running count per host against the statement: the plain cut, offset per host by ClickHouse's measure of the rows left out (left-out-offsets.ts).
      name: 'latest-20-with-host-count-7d',
      sql: `SELECT time, app, host, value, count(*) OVER (PARTITION BY host ORDER BY time) AS seen FROM metrics_events WHERE time >= '${lastDays(7)}' ORDER BY time DESC, app DESC, host DESC LIMIT 20`,
      clickhouse: `SELECT time, app, host, value, count() OVER (PARTITION BY host ORDER BY time) AS seen FROM ${m} WHERE time >= ${ch(lastDays(7))} ORDER BY time DESC, app DESC, host DESC LIMIT 20`,
      extra: true,
    },
  ];
}
