#!/usr/bin/env bash
# The README's first command: Strata's main job on an embedded default. It installs
# what it needs, then provisions the example tables (PostgreSQL hot tier + embedded
# ClickHouse engine), writes the last 72 hours of demo metrics, tiers everything older
# than the hot retention (24h) to ClickHouse, and shows where the rows are.
# Idempotent: run it again and it only adds the minutes since the last run.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-deps.sh
npx tsc -b

DB="${STRATA_DEMO_DB:-strata_demo}"
ADMIN_URL="${STRATA_ADMIN_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
if [ "$(psql "$ADMIN_URL" -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != "1" ]; then
  echo "creating database $DB"
  psql "$ADMIN_URL" -qc "CREATE DATABASE \"$DB\""
fi
export STRATA_PG_URL="${STRATA_PG_URL:-${ADMIN_URL%/*}/$DB}"
export STRATA_CLICKHOUSE_PATH="${STRATA_CLICKHOUSE_PATH:-.data/clickhouse}"

strata() { node cli/dist/main.js "$@"; }
strata apply -f examples/tieredtables.yaml
strata demo-data --table metrics_events --hours 72
strata tier --table metrics_events
strata status
