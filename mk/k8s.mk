# Strata on a real single-node cluster (issue 15, items 2–3): scripts/k8s/node.sh starts
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy and a kubelet
# on Debian's containerd (binaries built by scripts/k8s/deps.sh, cached in
# $${STRATA_CACHE:-~/.cache/strata}/bin), `make image`'s image is imported, and
# test/operator/k8s-node.test.ts runs helm install and the end-to-end steps, printing
# each; the chart's ServiceMonitors are scraped by a Prometheus the Prometheus Operator
# runs (scripts/k8s/prometheus-operator.sh builds both, cached; not in scripts/k8s/deps.sh
# so that every `make deps` does not build them). Needs root; changes the host's network
# while it runs (a bridge, iptables rules of kube-proxy and the kubelet, mounts), all
# undone by `node.sh down`. The last step of `make test` (docs/kubernetes-node.md has
# cold and warm timings).
.PHONY: test-k8s

test-k8s: deps build image
	scripts/k8s/deps.sh
	scripts/k8s/prometheus-operator.sh
	STRATA_TEST_K8S=1 scripts/run-jest.sh test/operator/k8s-node.test.ts
