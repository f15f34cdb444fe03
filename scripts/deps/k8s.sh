#!/usr/bin/env bash
# `make test-k8s` (the last step of `make test`): podman, debootstrap and runc for
# `make image`, and the node's binaries and packages (scripts/k8s/deps.sh). Idempotent.
set -euo pipefail
missing=()
for c in podman debootstrap runc; do command -v "$c" >/dev/null || missing+=("$c"); done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  echo "k8s deps: installed ${missing[*]}"
fi
exec "$(dirname "${BASH_SOURCE[0]}")/../k8s/deps.sh"
