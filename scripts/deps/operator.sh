#!/usr/bin/env bash
# Test bed for the operator: kube-apiserver, etcd, kubectl (k8s.io/kubernetes built from
# Go modules) and helm, cached under ${STRATA_CACHE:-$HOME/.cache/strata}/bin.
# Idempotent: when every binary is present this only stats four files.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

K8S_VERSION="${STRATA_K8S_VERSION:-v1.34.4}"
HELM_VERSION="${STRATA_HELM_VERSION:-v3.21.4}"
CACHE="${STRATA_CACHE:-$HOME/.cache/strata}"
BIN="$CACHE/bin"
mkdir -p "$BIN"

# test/support/kube-apiserver.ts makes the control plane's certificates with openssl.
if ! command -v openssl >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q openssl >/dev/null
  echo "operator deps: installed openssl"
fi

need_k8s=0
for b in kube-apiserver etcd kubectl; do
  [ -x "$BIN/$b" ] || need_k8s=1
done

if [ "$need_k8s" = 1 ]; then
  command -v go >/dev/null || { echo "operator deps: go is required to build kube-apiserver" >&2; exit 1; }
  work="$CACHE/build/k8s-$K8S_VERSION"
  mkdir -p "$work"
  cd "$work"
  # shellcheck source=../k8s/wrapper-module.sh
  . "$REPO/scripts/k8s/wrapper-module.sh"
  k8s_wrapper_module "$K8S_VERSION" strata.local/k8s-testbed go.etcd.io/etcd/server/v3/etcdmain k8s.io/kubernetes/cmd/kube-apiserver/app k8s.io/kubectl/pkg/cmd
  export CGO_ENABLED=0
  ldflags="$(k8s_ldflags "$K8S_VERSION")"
  [ -x "$BIN/kube-apiserver" ] || { go build -ldflags "$ldflags" -o "$BIN/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver; echo "operator deps: built kube-apiserver $K8S_VERSION"; }
  [ -x "$BIN/kubectl" ] || { go build -ldflags "$ldflags" -o "$BIN/kubectl" k8s.io/kubernetes/cmd/kubectl; echo "operator deps: built kubectl $K8S_VERSION"; }
  [ -x "$BIN/etcd" ] || { go build -o "$BIN/etcd" go.etcd.io/etcd/server/v3; echo "operator deps: built etcd"; }
fi

if [ ! -x "$BIN/helm" ]; then
  work="$CACHE/build/helm-$HELM_VERSION"
  mkdir -p "$work"
  cd "$work"
  # A wrapper module, because helm's go.mod may carry replace directives that
  # `go install pkg@version` refuses.
  if [ ! -f go.mod ]; then
    go mod init strata.local/helm-build >/dev/null 2>&1
  fi
  # `go get` of the command package records every dependency of the binary in go.sum.
  go get "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >/dev/null 2>&1
  # As helm's Makefile stamps them: its own version and the Kubernetes version its
  # client libraries speak (else `helm template` assumes Kubernetes 1.20).
  kv="$(go list -f '{{.Version}}' -m k8s.io/client-go)"; kv="${kv#v0.}"; kminor="${kv%%.*}"
  hl="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    hl="$hl -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$kminor"
  done
  CGO_ENABLED=0 go build -ldflags "$hl" -o "$BIN/helm" helm.sh/helm/v3/cmd/helm
  echo "operator deps: built helm $HELM_VERSION"
fi
