#!/usr/bin/env bash
# What the routing suites need beyond scripts/ensure-deps.sh, idempotent (about a second
# when everything is there; one line per thing it changes):
#   - test/routing/pgx-corpus, the differential corpus through pgx v5 (Grafana's
#     driver), built with `go build` into
#     ${STRATA_CACHE:-$HOME/.cache/strata}/routing/pgx-corpus-<hash of the sources>/,
#     linked as …/routing/pgx-corpus.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

say() { echo "deps(routing): $*"; }
CACHE=${STRATA_CACHE:-$HOME/.cache/strata}
SRC=test/routing/pgx-corpus
hash=$(find "$SRC" -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
OUT="$CACHE/routing/pgx-corpus-$hash"
if [ ! -x "$OUT/pgx-corpus" ]; then
  command -v go >/dev/null || { echo "deps(routing): go is required to build test/routing/pgx-corpus" >&2; exit 1; }
  say "building the pgx corpus client into $OUT"
  mkdir -p "$OUT"
  (cd "$SRC" && CGO_ENABLED=0 go build -o "$OUT/pgx-corpus" .)
fi
if [ "$(readlink "$CACHE/routing/pgx-corpus" 2>/dev/null)" != "$OUT" ]; then
  ln -sfn "$OUT" "$CACHE/routing/pgx-corpus"
  say "linked $CACHE/routing/pgx-corpus"
fi
