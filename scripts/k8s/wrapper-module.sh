# Sourced by scripts/deps/operator.sh and scripts/k8s/deps.sh: Kubernetes commands built
# from Go modules. k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces
# them with ./staging/...; a consumer must replace every one with the matching v0.x release.

# k8s_wrapper_module VERSION MODULE IMPORT...: in the current directory (once), a module
# requiring k8s.io/kubernetes@VERSION and a tools.go importing the packages to build.
k8s_wrapper_module() {
  local version="$1" module="$2"
  shift 2
  [ -f go.mod ] && return 0
  local staging_version="v0.${version#v1.}" gomod
  go mod init "$module" >/dev/null 2>&1
  gomod="$(go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')"
  {
    echo "require k8s.io/kubernetes $version"
    grep -oE '^\s*k8s\.io/[a-z0-9-]+ => \./staging' "$gomod" | awk '{print $1}' | sort -u |
      while read -r m; do echo "replace $m => $m $staging_version"; done
  } >>go.mod
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for p in "$@"; do printf '\t_ "%s"\n' "$p"; done
    printf ')\n'
  } >tools.go
  go mod tidy >/dev/null 2>&1 || go get "k8s.io/kubernetes@$version" >/dev/null
}

# k8s_ldflags VERSION: the version a release build stamps in (the API server derives its
# compatibility version — feature gates, served APIs — from it; the others report it).
k8s_ldflags() {
  local version="$1" minor pkg out=""
  minor="${version#v1.}"; minor="${minor%%.*}"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    out="$out -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  echo "$out"
}
