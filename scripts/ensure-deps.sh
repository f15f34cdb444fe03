#!/usr/bin/env bash
# Makes this machine ready to build and test Strata, from a fresh Debian 12 install or
# from one that already has everything (then it only checks, in about a second):
#   - Debian packages: PostgreSQL 15 and its contrib modules;
#   - the PostgreSQL 15 cluster `main` exists, runs, and lets user postgres in over
#     127.0.0.1 without a password (what test/support/postgres.ts connects with);
#   - node_modules matches package-lock.json.
# Prints one line per thing it changes. Runs as root (CI does); uses sudo otherwise.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PG_VERSION=15
# Overridable only to try this script on a scratch cluster; the tests expect main:5432.
PG_CLUSTER=${STRATA_PG_CLUSTER:-main}
PG_PORT=${STRATA_PG_PORT:-5432}
PG_HOST=127.0.0.1
DEB_PACKAGES=(postgresql-15 postgresql-contrib)

say() { echo "deps: $*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

ensure_packages() {
  local missing=()
  for pkg in "${DEB_PACKAGES[@]}"; do
    installed "$pkg" || missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  say "installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

pg_ready() {
  pg_isready -q -h "$PG_HOST" -p "$PG_PORT"
}

can_connect() {
  psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -w -XAtqc 'SELECT 1' >/dev/null 2>&1
}

ensure_cluster() {
  if ! pg_lsclusters -h | awk '{print $1 "/" $2}' | grep -qx "$PG_VERSION/$PG_CLUSTER"; then
    say "creating PostgreSQL $PG_VERSION cluster $PG_CLUSTER on port $PG_PORT"
    as_root pg_createcluster --port "$PG_PORT" "$PG_VERSION" "$PG_CLUSTER" >/dev/null
  fi
  if ! pg_ready; then
    say "starting PostgreSQL $PG_VERSION cluster $PG_CLUSTER"
    as_root pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$PG_CLUSTER" start
    for _ in $(seq 1 60); do
      pg_ready && break
      sleep 0.5
    done
    pg_ready || { echo "deps: PostgreSQL did not become ready on $PG_HOST:$PG_PORT" >&2; exit 1; }
  fi
}

ensure_trust_on_loopback() {
  can_connect && return 0
  # Debian's default pg_hba.conf asks for scram-sha-256 on 127.0.0.1. The tests connect
  # as postgres without a password, so a throwaway test machine trusts loopback TCP.
  # Never do this on a machine that anything else can reach or that holds real data.
  local hba
  hba=$(as_root pg_conftool -s "$PG_VERSION" "$PG_CLUSTER" show hba_file)
  say "trusting $PG_HOST connections in $hba (test machine only)"
  if grep -Eq "^[[:space:]]*host[[:space:]]+all[[:space:]]+all[[:space:]]+$PG_HOST/32[[:space:]]" "$hba"; then
    as_root sed -i -E "s#^([[:space:]]*host[[:space:]]+all[[:space:]]+all[[:space:]]+$PG_HOST/32[[:space:]]+)[^[:space:]]+#\1trust#" "$hba"
  else
    # pg_hba.conf is first match wins: the trust line goes first.
    as_root sed -i "1i host all all $PG_HOST/32 trust" "$hba"
  fi
  as_root pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$PG_CLUSTER" reload
  for _ in $(seq 1 20); do
    can_connect && return 0
    sleep 0.25
  done
  echo "deps: still cannot connect as postgres to $PG_HOST:$PG_PORT; check $hba" >&2
  exit 1
}

ensure_node_modules() {
  # npm updates node_modules/.package-lock.json on every install, so an older one
  # means package-lock.json changed since (a pull, or someone else's install).
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "npm ci"
    # npm ci deletes node_modules first; the lock keeps it from racing another install.
    flock /tmp/npm.lock npm ci --no-audit --no-fund --loglevel=error
  fi
}

ensure_packages
ensure_cluster
ensure_trust_on_loopback
ensure_node_modules
