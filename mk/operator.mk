# Operator, CRD and Helm chart (issue 5). Both targets start and stop their own etcd and
# kube-apiserver (built from Go modules by scripts/deps/operator.sh, cached in
# $${STRATA_CACHE:-~/.cache/strata}/bin).
.PHONY: test-operator chart-check

# Unit tests beside the code, then the suites against the real API server, PostgreSQL
# and the ClickHouse engine. The operator runs as its own process from operator/dist.
test-operator: deps build
	scripts/run-jest.sh operator/ test/operator/

# helm lint (default and production values), helm template rendered and accepted by a
# real kube-apiserver's server-side dry run, RBAC checks.
chart-check: deps
	scripts/run-jest.sh test/operator/chart.test.ts
