# Tier-aware query engine (proxy/src/router, translate, engine): tests, the differential
# corpus, and the cold-read benchmark.
.PHONY: test-routing diff-corpus explain-corpus bench-cold

CORPUS ?= test/routing/corpus/files/metrics.sql

test-routing: deps build
	scripts/run-jest.sh proxy/src/router proxy/src/translate proxy/src/engine test/routing/ test/cold/query-tsv.test.ts

# make diff-corpus CORPUS=<file> [MODE=autocommit|txn|txn-rr|view|cursor|all] [DRIVER=psycopg2|jdbc|all]
#   [DIFF_ARGS='--via-proxy postgres://…' or '--watermark TS']
# MODE and DRIVER take comma-separated lists; every mode but autocommit, and the
# drivers, go through a proxy (the in-process one unless DIFF_ARGS names one).
diff-corpus: deps build
	node .build/test/routing/diff-corpus-main.js --corpus $(CORPUS) $(if $(MODE),--mode $(MODE)) $(if $(DRIVER),--driver $(DRIVER)) $(DIFF_ARGS)

# make explain-corpus CORPUS=<file>: each entry's plan class at both corpus watermarks
# and the share needing no raw-row fallback (test/routing/explain-corpus-main.ts).
explain-corpus: deps build
	node .build/test/routing/explain-corpus-main.js --corpus $(CORPUS)

bench-cold: deps build
	node .build/bench/cold/run.js $(BENCH_COLD_ARGS)
