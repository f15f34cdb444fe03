#!/usr/bin/env bash
# The Prometheus Operator and a Prometheus for `make test-k8s`, so the chart's
# ServiceMonitors are really scraped (issue 15, item 4), without a registry:
#   - prometheus-operator and prometheus-config-reloader $PO_VERSION built from their Go
#     module (its example/prometheus-operator-crd/ CRDs are read from the same module);
#   - Prometheus $PROMETHEUS_VERSION built from its Go module with Kubernetes service
#     discovery as its only discovery plugin (Debian's prometheus 2.42 is built without
#     it: "field kubernetes_sd_configs not found"; all plugins would pull every cloud SDK);
#   - both as static binaries in images from scratch, saved for `ctr images import`.
# Everything cached in ${STRATA_CACHE:-~/.cache/strata}: a warm run stats five files.
#   scripts/k8s/prometheus-operator.sh          build what is missing
#   scripts/k8s/prometheus-operator.sh crds     print the CRDs' directory
set -euo pipefail
PO_VERSION="${STRATA_PROMETHEUS_OPERATOR_VERSION:-v0.85.0}"
PO_MODULE=github.com/prometheus-operator/prometheus-operator
PROMETHEUS_VERSION="${STRATA_PROMETHEUS_VERSION:-v3.5.0}"
CACHE="${STRATA_CACHE:-$HOME/.cache/strata}"
BIN="$CACHE/bin"
IMAGES="$CACHE/image"
SRC="$CACHE/build/prometheus-operator-$PO_VERSION"
PODMAN=(podman --runtime runc)
log() { printf '[prometheus-operator] %s\n' "$*" >&2; }
mkdir -p "$BIN" "$IMAGES" "$CACHE/build"

# The module's source, writable: its go.mod replaces its two nested modules
# (pkg/apis/monitoring, pkg/client) with directories a module zip leaves out, so the
# replacements are dropped and those modules come at the same version from the proxy.
source_tree() {
  [ -f "$SRC/go.mod" ] && return 0
  local dir
  dir="$(go mod download -json "$PO_MODULE@$PO_VERSION" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')"
  rm -rf "$SRC.tmp.$$" && cp -r "$dir" "$SRC.tmp.$$" && chmod -R u+w "$SRC.tmp.$$"
  (cd "$SRC.tmp.$$" && go mod edit -dropreplace "$PO_MODULE/pkg/apis/monitoring" -dropreplace "$PO_MODULE/pkg/client")
  mv -T "$SRC.tmp.$$" "$SRC" 2>/dev/null || rm -rf "$SRC.tmp.$$" # another run made it first
}

build() { # command
  [ -x "$BIN/$1-$PO_VERSION" ] && return 0
  local start=$SECONDS
  (cd "$SRC" && CGO_ENABLED=0 go build -mod=mod -o "$BIN/$1-$PO_VERSION.tmp.$$" "./cmd/$2")
  mv "$BIN/$1-$PO_VERSION.tmp.$$" "$BIN/$1-$PO_VERSION"
  log "built $1 $PO_VERSION in $((SECONDS - start)) s"
}

# Prometheus's cmd/prometheus in a module of our own, its plugin list (every discovery
# mechanism) replaced by Kubernetes discovery. Prometheus X.Y.Z is the module's v0.(X*100+Y).Z.
prometheus_binary() {
  [ -x "$BIN/prometheus-$PROMETHEUS_VERSION" ] && return 0
  local work="$CACHE/build/prometheus-k8s-sd-$PROMETHEUS_VERSION" start=$SECONDS major minor patch dir
  IFS=. read -r major minor patch <<<"${PROMETHEUS_VERSION#v}"
  local module_version="v0.$((major * 100 + minor)).$patch"
  if [ ! -f "$work/go.mod" ]; then
    mkdir -p "$work.tmp.$$"
    dir="$(go mod download -json "github.com/prometheus/prometheus@$module_version" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')"
    sed 's#_ "github.com/prometheus/prometheus/plugins".*#_ "github.com/prometheus/prometheus/discovery/kubernetes"#' "$dir/cmd/prometheus/main.go" >"$work.tmp.$$/main.go"
    (cd "$work.tmp.$$" && go mod init strata.local/prometheus >/dev/null 2>&1 && go mod edit -require "github.com/prometheus/prometheus@$module_version" &&
      sed -nE 's/^replace ([^ ]+) ([^ ]+) => ([^ ]+) ([^ ]+)$/\1@\2=\3@\4/p' "$dir/go.mod" | while read -r r; do go mod edit -replace "$r"; done && go mod tidy)
    mv -T "$work.tmp.$$" "$work" 2>/dev/null || rm -rf "$work.tmp.$$"
  fi
  (cd "$work" && CGO_ENABLED=0 go build -ldflags "-X github.com/prometheus/common/version.Version=${PROMETHEUS_VERSION#v}" -o "$BIN/prometheus-$PROMETHEUS_VERSION.tmp.$$" .)
  mv "$BIN/prometheus-$PROMETHEUS_VERSION.tmp.$$" "$BIN/prometheus-$PROMETHEUS_VERSION"
  log "built prometheus $PROMETHEUS_VERSION in $((SECONDS - start)) s"
}

image() { # name:tag, entrypoint, SRC=DEST... (files copied into the image at DEST)
  local ref="$1" entry="$2" tar
  tar="$IMAGES/$(basename "${ref/:/-}").tar"
  shift 2
  [ -s "$tar" ] && return 0
  local ctx pair
  ctx="$(mktemp -d)"
  for pair in "$@"; do mkdir -p "$ctx/root$(dirname "${pair#*=}")"; cp -L "${pair%%=*}" "$ctx/root${pair#*=}"; done
  printf 'FROM scratch\nCOPY root/ /\nENTRYPOINT ["%s"]\n' "$entry" >"$ctx/Containerfile"
  "${PODMAN[@]}" build --format docker -t "$ref" "$ctx" >/dev/null
  "${PODMAN[@]}" save --format docker-archive -o "$tar.tmp.$$" "$ref" >/dev/null
  mv "$tar.tmp.$$" "$tar"
  rm -rf "$ctx"
  log "image $ref ($tar)"
}

if [ "${1:-}" = crds ]; then
  echo "$SRC/example/prometheus-operator-crd"
  exit 0
fi
if [ ! -x "$BIN/prometheus-operator-$PO_VERSION" ] || [ ! -x "$BIN/prometheus-config-reloader-$PO_VERSION" ]; then
  command -v go >/dev/null || { log "go is required to build prometheus-operator"; exit 1; }
  source_tree
  build prometheus-operator operator
  build prometheus-config-reloader prometheus-config-reloader
fi
prometheus_binary
# The operator runs /bin/prometheus-config-reloader as the reloader's command, and the
# Prometheus image's entrypoint with its own arguments.
image "localhost/prometheus-config-reloader:$PO_VERSION" /bin/prometheus-config-reloader \
  "$BIN/prometheus-config-reloader-$PO_VERSION=/bin/prometheus-config-reloader"
image "localhost/prometheus:$PROMETHEUS_VERSION" /bin/prometheus "$BIN/prometheus-$PROMETHEUS_VERSION=/bin/prometheus"
