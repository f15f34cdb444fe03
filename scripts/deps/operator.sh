#!/usr/bin/env bash
# Test bed for the operator: kube-apiserver, etcd, kubectl (k8s.io/kubernetes built from
# Go modules) and helm, cached under ${STRATA_CACHE:-$HOME/.cache/strata}/bin.
# Idempotent: when every binary is present this only stats four files.
set -euo pipefail

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
  # k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with
  # ./staging/...; a consumer must replace every one with the matching v0.x release.
  staging_version="v0.${K8S_VERSION#v1.}"
  if [ ! -f go.mod ]; then
    go mod init strata.local/k8s-testbed >/dev/null 2>&1
    gomod="$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')"
    {
      echo "require k8s.io/kubernetes $K8S_VERSION"
      grep -oE '^\s*k8s\.io/[a-z0-9-]+ => \./staging' "$gomod" | awk '{print $1}' | sort -u |
        while read -r m; do echo "replace $m => $m $staging_version"; done
    } >> go.mod
    cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "go.etcd.io/etcd/server/v3/etcdmain"
	_ "k8s.io/kubernetes/cmd/kube-apiserver/app"
	_ "k8s.io/kubectl/pkg/cmd"
)
GO
    go mod tidy >/dev/null 2>&1 || go get "k8s.io/kubernetes@$K8S_VERSION" >/dev/null
  fi
  export CGO_ENABLED=0
  # The version a release build stamps in: the API server derives its compatibility
  # version (feature gates, served APIs) from it, and kubectl reports it.
  minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  ldflags=""
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags="$ldflags -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
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
