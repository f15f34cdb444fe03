# Entry points for developers and CI (.ci/run runs `make test`). Logic lives in scripts/.
.PHONY: deps build lint test test-core bench-tiering crd docs demo up clean

-include mk/*.mk

# Each area may add its own idempotent installer as scripts/deps/<area>.sh (Debian
# packages, Go-built test binaries) and its own targets as mk/<area>.mk.
deps:
	scripts/ensure-deps.sh
	@for s in scripts/deps/*.sh; do [ -e "$$s" ] || continue; "$$s" || exit 1; done

build:
	npx tsc -b

lint:
	npx eslint .

# Then Strata on a real node (mk/k8s.mk: make image, a kubelet, helm install, end to end).
test: deps build lint
	scripts/run-jest.sh
	$(MAKE) test-k8s

test-core: deps build
	scripts/run-jest.sh core/ test/core/ test/cold/

bench-tiering: deps build
	node .build/bench/tiering/run.js

# Through a temp file, so a failing generator leaves the committed CRD as it was.
crd:
	node core/dist/model/gen-crd.js > crds/tieredtables.strata.dev.yaml.tmp
	mv crds/tieredtables.strata.dev.yaml.tmp crds/tieredtables.strata.dev.yaml

# Through a temp file, like crd.
docs: build
	mkdir -p docs
	node core/dist/model/gen-spec-docs.js > docs/tieredtable-reference.md.tmp
	mv docs/tieredtable-reference.md.tmp docs/tieredtable-reference.md

demo:
	scripts/demo.sh

up:
	scripts/up.sh

clean:
	rm -rf .build core/dist cli/dist proxy/dist operator/dist gateway/dist
