# Tier-aware query engine (proxy/src/router, translate, engine): tests, the differential
# corpus, and the cold-read benchmark.
.PHONY: test-routing diff-corpus bench-cold

CORPUS ?= test/routing/corpus/files/metrics.sql

test-routing: deps build
	scripts/run-jest.sh proxy/src/router proxy/src/translate proxy/src/engine test/routing/ test/cold/query-tsv.test.ts

# make diff-corpus CORPUS=<file> [DIFF_ARGS='--via-proxy postgres://…' or '--watermark TS']
diff-corpus: deps build
	node .build/test/routing/diff-corpus-main.js --corpus $(CORPUS) $(DIFF_ARGS)

bench-cold: deps build
	node .build/bench/cold/run.js $(BENCH_COLD_ARGS)
