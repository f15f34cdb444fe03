#!/usr/bin/env bash
# What the gateway's buffered ingest (NATS JetStream, issue 18) needs for its tests and
# benchmark, idempotent (one line per thing it changes):
#   - Debian: nats-server;
#   - a JetStream-enabled nats-server listening on 127.0.0.1:4222 (store in
#     /var/lib/nats-server, log in /var/log/nats-server.log). The suites start their own
#     on a free port when none answers here, so this only saves them the start-up.
set -euo pipefail

say() { echo "deps(nats): $*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

NATS_HOST=127.0.0.1
NATS_PORT=${STRATA_NATS_PORT:-4222}

if ! installed nats-server; then
  say "installing nats-server"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null
fi

listening() { (exec 3<>"/dev/tcp/$NATS_HOST/$NATS_PORT") 2>/dev/null; }

if ! listening; then
  say "starting nats-server with JetStream on $NATS_HOST:$NATS_PORT"
  as_root mkdir -p /var/lib/nats-server
  as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a "$NATS_HOST" -p "$NATS_PORT" -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  for _ in $(seq 1 40); do
    listening && break
    sleep 0.25
  done
  listening || { echo "deps(nats): nats-server did not start on $NATS_HOST:$NATS_PORT (see /var/log/nats-server.log)" >&2; exit 1; }
fi
