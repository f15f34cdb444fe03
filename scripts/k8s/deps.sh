#!/usr/bin/env bash
# What `make test-k8s` needs beyond the operator test bed (scripts/deps/operator.sh):
# kubelet, kube-controller-manager, kube-scheduler and kube-proxy built from the same
# Kubernetes release's Go modules (a wrapper module like kube-apiserver's), cached in
# ${STRATA_CACHE:-~/.cache/strata}/bin; containerd, runc, the CNI plugins, iptables and a
# static libc for the pause program from Debian. Idempotent: a warm run stats files.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

K8S_VERSION="${STRATA_K8S_VERSION:-v1.34.4}"
CACHE="${STRATA_CACHE:-$HOME/.cache/strata}"
BIN="$CACHE/bin"
mkdir -p "$BIN"

missing=()
command -v containerd >/dev/null || missing+=(containerd)
command -v runc >/dev/null || missing+=(runc)
[ -x /usr/lib/cni/bridge ] || missing+=(containernetworking-plugins)
command -v iptables >/dev/null || missing+=(iptables)
command -v gcc >/dev/null || missing+=(gcc)
[ -e /usr/lib/x86_64-linux-gnu/libc.a ] || missing+=(libc6-dev)
command -v podman >/dev/null || missing+=(podman)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  echo "k8s deps: installed ${missing[*]}"
fi

need=()
for b in kubelet kube-controller-manager kube-scheduler kube-proxy; do [ -x "$BIN/$b" ] || need+=("$b"); done
[ ${#need[@]} -eq 0 ] && exit 0

command -v go >/dev/null || { echo "k8s deps: go is required to build ${need[*]}" >&2; exit 1; }
work="$CACHE/build/k8s-node-$K8S_VERSION"
mkdir -p "$work"
cd "$work"
# shellcheck source=wrapper-module.sh
. "$HERE/wrapper-module.sh"
k8s_wrapper_module "$K8S_VERSION" strata.local/k8s-node k8s.io/kubernetes/cmd/kube-controller-manager/app \
  k8s.io/kubernetes/cmd/kube-proxy/app k8s.io/kubernetes/cmd/kube-scheduler/app k8s.io/kubernetes/cmd/kubelet/app
export CGO_ENABLED=0
ldflags="$(k8s_ldflags "$K8S_VERSION")"
for b in "${need[@]}"; do
  start=$(date +%s)
  go build -ldflags "$ldflags" -o "$BIN/$b.tmp" "k8s.io/kubernetes/cmd/$b"
  mv "$BIN/$b.tmp" "$BIN/$b"
  echo "k8s deps: built $b $K8S_VERSION in $(($(date +%s) - start)) s"
done
