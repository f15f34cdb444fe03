-- The seed's Grafana PostgreSQL query (the design note SEED.md, 4.2) over observability_events,
-- as the example dashboard's panel sends it: variables interpolated, then macros expanded
-- (test/support/grafana-macros.ts; observability-corpus.test.ts checks each seed-* entry
-- against that expansion). Dataset: observability-dataset.ts. Watermarks: the corpus's.

-- name: seed-grafana-pg-journald-span
SELECT time_bucket('1 minute', event_time) AS ts, COUNT(*)
FROM observability_events
WHERE node = 'node-1'
  AND raw->>'source' = 'journald'
  AND event_time BETWEEN '2026-01-03T00:00:00Z' AND '2026-01-06T00:00:00Z'
GROUP BY ts
ORDER BY ts;

-- name: seed-grafana-pg-prometheus-span
SELECT time_bucket('1 minute', event_time) AS ts, COUNT(*)
FROM observability_events
WHERE node = 'node-2'
  AND raw->>'source' = 'prometheus_scrape'
  AND event_time BETWEEN '2026-01-04T12:00:00Z' AND '2026-01-05T02:00:00Z'
GROUP BY ts
ORDER BY ts;

-- name: seed-grafana-pg-cold-only
SELECT time_bucket('1 minute', event_time) AS ts, COUNT(*)
FROM observability_events
WHERE node = 'node-0'
  AND raw->>'source' = 'journald'
  AND event_time BETWEEN '2026-01-02T00:00:00Z' AND '2026-01-03T00:00:00Z'
GROUP BY ts
ORDER BY ts;

-- name: seed-grafana-pg-hot-only
SELECT time_bucket('1 minute', event_time) AS ts, COUNT(*)
FROM observability_events
WHERE node = 'node-3'
  AND raw->>'source' = 'prometheus_scrape'
  AND event_time BETWEEN '2026-01-06T00:00:00Z' AND '2026-01-07T12:00:00Z'
GROUP BY ts
ORDER BY ts;

-- name: seed-grafana-pg-fractional-range
SELECT time_bucket('1 minute', event_time) AS ts, COUNT(*)
FROM observability_events
WHERE node = 'node-0'
  AND raw->>'source' = 'journald'
  AND event_time BETWEEN '2026-01-04T13:30:15.5Z' AND '2026-01-05T00:10:00.25Z'
GROUP BY ts
ORDER BY ts;

-- name: seed-grafana-pg-quoted-variable
SELECT time_bucket('1 minute', event_time) AS ts, COUNT(*)
FROM observability_events
WHERE node = 'node-1'
  AND raw->>'source' = 'o''brien'
  AND event_time BETWEEN '2026-01-03T00:00:00Z' AND '2026-01-06T00:00:00Z'
GROUP BY ts
ORDER BY ts;

-- name: by-node-span
SELECT node, raw->>'source' AS source, count(*) FROM observability_events WHERE event_time BETWEEN '2026-01-03T00:00:00Z' AND '2026-01-06T00:00:00Z' GROUP BY 1, 2 ORDER BY 1 NULLS LAST, 2

-- name: structured-level-span
SELECT raw->'structured'->>'level' AS level, count(*) FROM observability_events WHERE source_type = 'journald' AND event_time >= '2026-01-04T00:00:00Z' AND event_time < '2026-01-05T12:00:00Z' GROUP BY 1 ORDER BY 1

-- name: failed-logins-latest
SELECT event_time, node, message FROM observability_events WHERE message LIKE 'Failed password%' AND event_time < '2026-01-05T00:30:00Z' ORDER BY event_time DESC, node LIMIT 15

-- name: gauge-max-per-hour
SELECT date_trunc('hour', event_time) AS h, max((raw->'gauge'->>'value')::float8) AS peak FROM observability_events WHERE raw->>'name' = 'node_load1' AND event_time BETWEEN '2026-01-04T10:00:00Z' AND '2026-01-04T18:00:00Z' GROUP BY 1 ORDER BY 1

-- name: count-all
SELECT count(*) FROM observability_events
