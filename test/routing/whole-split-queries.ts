/**
 * The whole aggregates split at W are checked with (whole-split*.test.ts): percentiles,
 * distinct counts and integer partials — exact answers — over each bucket form the split
 * accepts: hourly and daily date_trunc, epoch floor, date_bin, the time column itself.
 */
export const SPLIT_AGGREGATES = `percentile_cont(0.95) WITHIN GROUP (ORDER BY v) AS p95, percentile_disc(0.5) WITHIN GROUP (ORDER BY n) AS n50,
      count(DISTINCT host) AS hosts, count(*), sum(n), count(v), max(v), regr_count(v, n)`;

/** `table` has columns time, host, v (float8), n (int4); `origin` is date_bin's origin literal of the time column's type. */
export function splitBucketQueries(table: string, range: string, origin: string): string[] {
  return [
    `SELECT date_trunc('hour', time) AS hour, ${SPLIT_AGGREGATES} FROM ${table} WHERE ${range} GROUP BY 1 ORDER BY 1`,
    `SELECT date_trunc('day', time) AS day, host, ${SPLIT_AGGREGATES} FROM ${table} WHERE ${range} GROUP BY 1, 2 ORDER BY 1, 2`,
    `SELECT floor(extract(epoch from time) / 1800) * 1800 AS "time", ${SPLIT_AGGREGATES} FROM ${table} WHERE ${range} GROUP BY 1 ORDER BY 1`,
    `SELECT host, date_bin('15 minutes', time, ${origin}) AS q, ${SPLIT_AGGREGATES} FROM ${table} WHERE ${range} GROUP BY q, host ORDER BY 2, 1`,
    `SELECT time, count(DISTINCT host), count(*), percentile_disc(1) WITHIN GROUP (ORDER BY v) FROM ${table} WHERE ${range} GROUP BY time ORDER BY time`,
  ];
}
