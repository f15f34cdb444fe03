#!/usr/bin/env bash
# What the proxy's tests and benchmark need beyond scripts/ensure-deps.sh, idempotent
# (about a second when everything is there; one line per thing it changes):
#   - Debian: pgbouncer (the benchmark's baseline), psycopg2 and the PostgreSQL JDBC
#     driver (real-client suites), openssl (test certificates), pgbench/psql come with
#     postgresql-15;
#   - the Go client programs (pgx v5, lib/pq) under test/clients/go, built with
#     `go build` into ${STRATA_CACHE:-$HOME/.cache/strata}/proxy-clients/<hash of the sources>/;
#   - the JDBC client under test/clients/jdbc, compiled with javac into the same cache.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

say() { echo "deps(proxy): $*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

DEB_PACKAGES=(pgbouncer python3-psycopg2 libpostgresql-jdbc-java openssl postgresql-client-15)
missing=()
for pkg in "${DEB_PACKAGES[@]}"; do installed "$pkg" || missing+=("$pkg"); done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

CACHE=${STRATA_CACHE:-$HOME/.cache/strata}
hash_of() { find "$@" -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' -o -name '*.java' \) -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16; }

GO_SRC=test/clients/go
GO_OUT="$CACHE/proxy-clients/go-$(hash_of "$GO_SRC")"
if [ ! -x "$GO_OUT/pgx" ] || [ ! -x "$GO_OUT/libpq" ]; then
  command -v go >/dev/null || { echo "deps(proxy): go is required to build the Go client suites" >&2; exit 1; }
  say "building Go clients (pgx, lib/pq) into $GO_OUT"
  mkdir -p "$GO_OUT"
  (cd "$GO_SRC" && CGO_ENABLED=0 go build -o "$GO_OUT/pgx" ./pgx && CGO_ENABLED=0 go build -o "$GO_OUT/libpq" ./libpq)
fi
ln -sfn "$GO_OUT" "$CACHE/proxy-clients/go"

JAVA_SRC=test/clients/jdbc
JAVA_OUT="$CACHE/proxy-clients/jdbc-$(hash_of "$JAVA_SRC")"
if [ ! -f "$JAVA_OUT/JdbcSession.class" ]; then
  say "compiling the JDBC client into $JAVA_OUT"
  mkdir -p "$JAVA_OUT"
  javac -cp /usr/share/java/postgresql.jar -d "$JAVA_OUT" "$JAVA_SRC/JdbcSession.java"
fi
ln -sfn "$JAVA_OUT" "$CACHE/proxy-clients/jdbc"
