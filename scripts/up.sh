#!/usr/bin/env bash
# The README's first command: all of Strata in one process on this machine. Installs
# what it needs (idempotent), builds, then runs `strata up --demo`: embedded PostgreSQL
# and ClickHouse engine, the example tables with 72h of demo metrics (older rows tiered
# to ClickHouse), the proxy and the gateway. Ctrl-C stops it; data stays in
# $STRATA_DATA_DIR (default .data/strata; run as root, PostgreSQL's cluster is in
# /var/lib/strata/postgres/<id>, linked from it) and a re-run picks it up.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-deps.sh
npx tsc -b
exec node cli/dist/main.js up --demo --data-dir "${STRATA_DATA_DIR:-.data/strata}" "$@"
