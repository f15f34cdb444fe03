# The Postgres-wire proxy (issue 3). Suites: unit tests beside proxy/src, integration
# under test/proxy, real clients under test/clients. The 200-client/5-minute soak is
# opt-in: STRATA_PROXY_SOAK_CLIENTS=200 STRATA_PROXY_SOAK_SECONDS=300 make test-proxy
.PHONY: test-proxy bench-proxy

test-proxy: deps build
	scripts/run-jest.sh proxy/ test/proxy/ test/clients/

bench-proxy: deps build
	node .build/bench/proxy/run.js
