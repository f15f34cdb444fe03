#!/usr/bin/env bash
# What the routing suites need beyond scripts/ensure-deps.sh, idempotent (about a second
# when everything is there; one line per thing it changes):
#   - test/routing/pgx-corpus, the differential corpus through pgx v5 (Grafana's
#     driver), built with `go build` into
#     ${STRATA_CACHE:-$HOME/.cache/strata}/routing/pgx-corpus-<hash of the sources>/,
#     linked as …/routing/pgx-corpus;
#   - test/routing/jdbc-corpus, the corpus through JDBC with autocommit off, compiled
#     with javac into …/routing/jdbc-corpus-<hash>/ (after proxy.sh installed the driver).
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

# test/routing/jdbc-corpus, the corpus through the PostgreSQL JDBC driver (Debian
# libpostgresql-jdbc-java, installed by scripts/deps/proxy.sh), compiled with javac into
# …/routing/jdbc-corpus-<hash of the sources>/, linked as …/routing/jdbc-corpus.
JAVA_SRC=test/routing/jdbc-corpus
java_hash=$(find "$JAVA_SRC" -type f -name '*.java' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
JAVA_OUT="$CACHE/routing/jdbc-corpus-$java_hash"
if [ ! -f "$JAVA_OUT/JdbcCorpus.class" ]; then
  command -v javac >/dev/null || { echo "deps(routing): javac is required to compile test/routing/jdbc-corpus" >&2; exit 1; }
  say "compiling the JDBC corpus client into $JAVA_OUT"
  mkdir -p "$JAVA_OUT"
  javac -cp /usr/share/java/postgresql.jar -d "$JAVA_OUT" "$JAVA_SRC/JdbcCorpus.java"
fi
if [ "$(readlink "$CACHE/routing/jdbc-corpus" 2>/dev/null)" != "$JAVA_OUT" ]; then
  ln -sfn "$JAVA_OUT" "$CACHE/routing/jdbc-corpus"
  say "linked $CACHE/routing/jdbc-corpus"
fi
