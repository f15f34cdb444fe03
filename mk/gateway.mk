# Ingest gateway (issue 6): its suites and its benchmark.
.PHONY: test-gateway bench-ingest

test-gateway: deps build
	scripts/run-jest.sh gateway/ test/gateway/

bench-ingest: deps build
	node .build/bench/ingest/run.js
