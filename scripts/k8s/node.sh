#!/usr/bin/env bash
# A single-node Kubernetes cluster from upstream components, no registry, no kind:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy and kubelet
# v1.34 (built from Go modules, cached in ~/.cache/strata/bin), Debian's containerd and
# runc, Debian's CNI plugins on a bridge of its own, a pause image built here.
#   scripts/k8s/node.sh up DIR     start (logs in DIR/logs), writes DIR/admin.kubeconfig
#   scripts/k8s/node.sh down DIR   stop everything and undo what it did to the host
set -euo pipefail
cmd="${1:?up|down}"; D="$(realpath -m "${2:?state dir}")"
BIN="${STRATA_CACHE:-$HOME/.cache/strata}/bin"
HOST_IP="${STRATA_NODE_HOST_IP:-$(ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p')}"
POD_CIDR=10.244.0.0/24
BRIDGE=strata-cni0
SVC_CIDR=10.96.0.0/24
NODE=strata-node
log() { printf '[node] %s\n' "$*" >&2; }

start() { # name, command...
  local name="$1"; shift
  "$@" >"$D/logs/$name.log" 2>&1 &
  echo $! >"$D/pids/$name"
}

wait_for() { # what, timeout s, command...
  local what="$1" t="$2"; shift 2
  for ((i = 0; i < t * 2; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  log "$what not ready in ${t}s"; return 1
}

certs() {
  cd "$D/pki"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=strata-node-ca 2>/dev/null
  sign() { # name, subject, ext
    openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
    printf '%s\n' "$3" >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$1.crt" -days 2 -extfile "$1.ext" 2>/dev/null
  }
  sign apiserver /CN=kube-apiserver "subjectAltName=IP:127.0.0.1,IP:$HOST_IP,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
extendedKeyUsage=serverAuth"
  sign admin "/CN=strata-admin/O=system:masters" "extendedKeyUsage=clientAuth"
  sign kubelet "/CN=system:node:$NODE/O=system:nodes" "subjectAltName=IP:127.0.0.1,IP:$HOST_IP,DNS:$NODE
extendedKeyUsage=clientAuth,serverAuth"
  openssl genrsa -out sa.key 2048 2>/dev/null
  openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  cd - >/dev/null
}

kubeconfig() { # file, user cert name
  cat >"$1" <<KC
apiVersion: v1
kind: Config
clusters: [{ name: node, cluster: { server: "https://$HOST_IP:6443", certificate-authority: "$D/pki/ca.crt" } }]
users: [{ name: u, user: { client-certificate: "$D/pki/$2.crt", client-key: "$D/pki/$2.key" } }]
contexts: [{ name: node, context: { cluster: node, user: u } }]
current-context: node
KC
}

containerd_config() {
  mkdir -p "$D/cni/net.d"
  cat >"$D/cni/net.d/10-strata.conflist" <<CNI
{ "cniVersion": "1.0.0", "name": "strata", "plugins": [
  { "type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": true, "hairpinMode": true,
    "ipam": { "type": "host-local", "ranges": [[{ "subnet": "$POD_CIDR" }]], "routes": [{ "dst": "0.0.0.0/0" }], "dataDir": "$D/cni/ipam" } },
  { "type": "portmap", "capabilities": { "portMappings": true } } ] }
CNI
  cat >"$D/containerd.toml" <<TOML
version = 2
root = "$D/containerd/root"
state = "$D/containerd/state"
[grpc]
  address = "$D/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/strata-pause:1"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$D/cni/net.d"
TOML
}

pause_image() {
  local cache="${STRATA_CACHE:-$HOME/.cache/strata}/image"
  if [ ! -s "$cache/pause.tar" ]; then
    mkdir -p "$cache/pause"
    cat >"$cache/pause/pause.c" <<'C'
#include <signal.h>
#include <unistd.h>
#include <sys/wait.h>
static void reap(int s) { (void)s; while (waitpid(-1, 0, WNOHANG) > 0) {} }
static void quit(int s) { (void)s; _exit(0); }
int main(void) { signal(SIGINT, quit); signal(SIGTERM, quit); signal(SIGCHLD, reap); for (;;) pause(); }
C
    gcc -static -O2 -o "$cache/pause/pause" "$cache/pause/pause.c"
    printf 'FROM scratch\nCOPY pause /pause\nENTRYPOINT ["/pause"]\n' >"$cache/pause/Containerfile"
    podman --runtime runc build --format docker -t localhost/strata-pause:1 "$cache/pause" >/dev/null
    podman --runtime runc save --format docker-archive -o "$cache/pause.tar" localhost/strata-pause:1
  fi
  ctr --address "$D/containerd.sock" -n k8s.io images import "$cache/pause.tar" >/dev/null
}

up() {
  rm -rf "$D/logs"; mkdir -p "$D"/{logs,pids,pki,etcd,kubelet,containerd}
  # The kubelet writes outside its root dir too: remember what was there before.
  [ -e /var/lib/kubelet ] && touch "$D/var-lib-kubelet-existed"
  ls -A /var/log/pods /var/log/containers >"$D/var-log-before" 2>/dev/null || true
  certs
  kubeconfig "$D/admin.kubeconfig" admin
  kubeconfig "$D/kubelet.kubeconfig" kubelet
  log "etcd, kube-apiserver on $HOST_IP:6443"
  start etcd "$BIN/etcd" --data-dir "$D/etcd" --listen-client-urls http://127.0.0.1:23790 --advertise-client-urls http://127.0.0.1:23790 \
    --listen-peer-urls http://127.0.0.1:23800 --initial-advertise-peer-urls http://127.0.0.1:23800 --initial-cluster default=http://127.0.0.1:23800 --unsafe-no-fsync --log-level warn
  start kube-apiserver "$BIN/kube-apiserver" --etcd-servers http://127.0.0.1:23790 --bind-address 0.0.0.0 --secure-port 6443 --advertise-address "$HOST_IP" \
    --tls-cert-file "$D/pki/apiserver.crt" --tls-private-key-file "$D/pki/apiserver.key" --client-ca-file "$D/pki/ca.crt" \
    --kubelet-client-certificate "$D/pki/admin.crt" --kubelet-client-key "$D/pki/admin.key" \
    --service-account-issuer https://kubernetes.default.svc --service-account-key-file "$D/pki/sa.pub" --service-account-signing-key-file "$D/pki/sa.key" \
    --service-cluster-ip-range "$SVC_CIDR" --kubelet-preferred-address-types InternalIP --authorization-mode Node,RBAC --allow-privileged --enable-priority-and-fairness=false --profiling=false --cert-dir "$D/pki"
  wait_for kube-apiserver 120 "$BIN/kubectl" --kubeconfig "$D/admin.kubeconfig" get --raw /readyz
  log "kube-controller-manager, kube-scheduler"
  start kube-controller-manager "$BIN/kube-controller-manager" --kubeconfig "$D/admin.kubeconfig" --authentication-kubeconfig "$D/admin.kubeconfig" --authorization-kubeconfig "$D/admin.kubeconfig" \
    --service-account-private-key-file "$D/pki/sa.key" --root-ca-file "$D/pki/ca.crt" --use-service-account-credentials \
    --cluster-signing-cert-file "$D/pki/ca.crt" --cluster-signing-key-file "$D/pki/ca.key" --service-cluster-ip-range "$SVC_CIDR" \
    --leader-elect=false --bind-address 127.0.0.1 --secure-port 10257 --controllers '*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-route'
  start kube-scheduler "$BIN/kube-scheduler" --kubeconfig "$D/admin.kubeconfig" --authentication-kubeconfig "$D/admin.kubeconfig" --authorization-kubeconfig "$D/admin.kubeconfig" \
    --leader-elect=false --bind-address 127.0.0.1 --secure-port 10259
  log "containerd"
  # The pods' bridge made before any pod, so host services (the tests' PostgreSQL and
  # ClickHouse forwarders) can listen on its address, reachable from pods only.
  ip link show "$BRIDGE" >/dev/null 2>&1 || ip link add "$BRIDGE" type bridge
  ip addr replace "${POD_CIDR%.*}.1/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  containerd_config
  start containerd containerd --config "$D/containerd.toml"
  wait_for containerd 30 ctr --address "$D/containerd.sock" version
  pause_image
  log "kubelet"
  cat >"$D/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
oomScoreAdj: 0
readOnlyPort: 0
address: $HOST_IP
healthzBindAddress: 127.0.0.1
healthzPort: 10248
port: 10250
tlsCertFile: $D/pki/kubelet.crt
tlsPrivateKeyFile: $D/pki/kubelet.key
authentication: { anonymous: { enabled: false }, webhook: { enabled: false }, x509: { clientCAFile: $D/pki/ca.crt } }
authorization: { mode: AlwaysAllow }
clusterDNS: []
resolvConf: /etc/resolv.conf
containerRuntimeEndpoint: unix://$D/containerd.sock
podCIDR: $POD_CIDR
evictionHard: { memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%" }
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
YAML
  start kubelet "$BIN/kubelet" --config "$D/kubelet.yaml" --kubeconfig "$D/kubelet.kubeconfig" --root-dir "$D/kubelet" --hostname-override "$NODE" --node-ip "$HOST_IP"
  log "kube-proxy (iptables)"
  start kube-proxy "$BIN/kube-proxy" --kubeconfig "$D/admin.kubeconfig" --hostname-override "$NODE" --proxy-mode iptables --cluster-cidr "$POD_CIDR" --bind-address 127.0.0.1 --healthz-bind-address 127.0.0.1:10256 --metrics-bind-address 127.0.0.1:10249
  wait_for "node Ready" 120 sh -c "'$BIN/kubectl' --kubeconfig '$D/admin.kubeconfig' get node $NODE -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True"
  log "node $NODE Ready"
}

down() {
  # Best effort: every step runs whatever the previous ones found.
  set +e +o pipefail
  for p in kube-proxy kubelet kube-scheduler kube-controller-manager kube-apiserver; do
    [ -f "$D/pids/$p" ] && kill "$(cat "$D/pids/$p")" 2>/dev/null || true
  done
  sleep 2
  # Pods' containers, then containerd.
  if [ -S "$D/containerd.sock" ]; then
    for t in $(ctr --address "$D/containerd.sock" -n k8s.io tasks ls -q 2>/dev/null); do ctr --address "$D/containerd.sock" -n k8s.io tasks kill -s KILL "$t" 2>/dev/null || true; done
    sleep 1
  fi
  for p in containerd etcd; do [ -f "$D/pids/$p" ] && kill "$(cat "$D/pids/$p")" 2>/dev/null || true; done
  for p in "$D"/pids/*; do
    [ -f "$p" ] || continue
    for ((i = 0; i < 20; i++)); do kill -0 "$(cat "$p")" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$(cat "$p")" 2>/dev/null || true
  done
  "$BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true
  # The kubelet's own chains (KUBE-FIREWALL, KUBE-KUBELET-CANARY, KUBE-IPTABLES-HINT).
  for ipt in iptables ip6tables; do
    for t in filter nat mangle; do
      "$ipt" -t "$t" -S 2>/dev/null | grep -E '^-A (INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) .*-j KUBE-' | sed 's/^-A/-D/' |
        while read -r r; do eval "$ipt" -t "$t" "$r" 2>/dev/null || true; done
      for c in $("$ipt" -t "$t" -S 2>/dev/null | sed -n 's/^-N \(KUBE-[^ ]*\)/\1/p'); do "$ipt" -t "$t" -F "$c" 2>/dev/null || true; done
      for c in $("$ipt" -t "$t" -S 2>/dev/null | sed -n 's/^-N \(KUBE-[^ ]*\)/\1/p'); do "$ipt" -t "$t" -X "$c" 2>/dev/null || true; done
    done
  done
  ip link del "$BRIDGE" 2>/dev/null || true
  iptables -t nat -S POSTROUTING 2>/dev/null | grep -- "CNI-" | sed 's/^-A/-D/' | while read -r r; do eval iptables -t nat "$r" || true; done
  for c in $(iptables -t nat -S 2>/dev/null | sed -n 's/^-N \(CNI-[^ ]*\)/\1/p'); do iptables -t nat -F "$c"; iptables -t nat -X "$c"; done 2>/dev/null || true
  # The kubelet's mounts under its root dir and the containers' under containerd's.
  grep -E " ($D)[^ ]*" /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  [ -e "$D/var-lib-kubelet-existed" ] || rm -rf /var/lib/kubelet
  # Container logs the kubelet wrote to /var/log: kept in DIR/logs/pods, then removed.
  mkdir -p "$D/logs/pods"
  for dir in /var/log/pods /var/log/containers; do
    for f in "$dir"/*; do
      [ -e "$f" ] || [ -L "$f" ] || continue
      grep -qxF "$(basename "$f")" "$D/var-log-before" 2>/dev/null && continue
      [ "$dir" = /var/log/pods ] && cp -r "$f" "$D/logs/pods/" 2>/dev/null
      rm -rf "$f"
    done
  done
  log "down"
}

"$cmd"
