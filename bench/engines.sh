#!/usr/bin/env bash
# The engines' view: time of `ENGINE run --rm IMG true` with nsbox, runc and crun as the
# runtime, side by side in the same run. Engines: podman (rootful, cgroupfs), and whichever
# of docker and containerd are installed.
# usage: bench/engines.sh        (as root; BENCH_N=20 runs per engine and runtime)
# env:   BENCH_N   runs timed per engine and runtime (default 20, after 2 untimed)
#        NSBOX     nsbox binary (default build/nsbox)
#        ENGINES   which engines (default "podman docker containerd", those installed)
# Each engine runs with its state under a temp dir, in a network and mount namespace of its
# own (nothing reaches the host's network or mount table), with --network none / no network,
# and with /sys/fs/cgroup/unified masked on a hybrid host so that crun 1.8 (which refuses the
# hybrid layout) runs too; every runtime sees the same cgroup v1 tree.
set -euo pipefail
export LC_ALL=C
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${BENCH_N:-20}
NSBOX=$(readlink -f "${NSBOX:-$REPO/build/nsbox}")
ENGINES=${ENGINES:-podman docker containerd}
[[ $(id -u) == 0 ]] || { echo "bench: must run as root" >&2; exit 1; }
[[ -x $NSBOX ]] || { echo "bench: no nsbox at $NSBOX (build first)" >&2; exit 1; }
declare -A RT=([nsbox]=$NSBOX [runc]=$(command -v runc || true) [crun]=$(command -v crun || true))

TMP=$(mktemp -d /tmp/nsbox-engines.XXXXXX)
HOLDER=
# The engines' parent cgroups (podman's libpod_parent, docker's docker, containerd's
# namespace "bench") go too, unless they were there before.
CGROUPS_BEFORE=$(find /sys/fs/cgroup -maxdepth 2 -type d \( -name libpod_parent -o -name docker -o -name bench \))
cleanup() {
  set +e
  [[ -z $HOLDER ]] || { in_ns sh -c "$STOP_ALL" >/dev/null 2>&1; kill -KILL "$HOLDER"; wait "$HOLDER"; } 2>/dev/null
  local d
  for d in $(find /sys/fs/cgroup -maxdepth 2 -type d \( -name libpod_parent -o -name docker -o -name bench \)); do
    grep -qxF "$d" <<<"$CGROUPS_BEFORE" || find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  rm -rf "$TMP"
}
trap cleanup EXIT
STOP_ALL=:

# One holder process keeps a network and mount namespace for everything below.
# shellcheck source=lib.sh
. "$REPO/bench/lib.sh"
holder_ns unified

declare -A MS
row() {  # engine: one line of means and ratios
  local e=$1 r out=""
  for r in nsbox runc crun; do out+=$(printf ' %10s' "${MS[$e.$r]:-failed}"); done
  local ratio=""
  for r in runc crun; do
    if [[ ${MS[$e.nsbox]:-} =~ ^[0-9.]+$ && ${MS[$e.$r]:-} =~ ^[0-9.]+$ ]]; then
      ratio+=$(awk -v a="${MS[$e.nsbox]}" -v b="${MS[$e.$r]}" 'BEGIN { printf "  nsbox/%s %.2f", "'"$r"'", a / b }')
    fi
  done
  printf '%-11s%s%s\n' "$e" "$out" "$ratio"
}

tar -C "$("$REPO/scripts/mkrootfs.sh" "$TMP/rootfs" >/dev/null && echo "$TMP/rootfs")" -c . >"$TMP/rootfs.tar"

bench_podman() {
  command -v podman >/dev/null || return 1
  local d=$TMP/podman r
  mkdir -p "$d"
  cat >"$d/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$d/tmp"
runtime_supports_json = ["crun", "runc", "nsbox"]
[engine.runtimes]
nsbox = ["$NSBOX"]
EOF
  pm() { in_ns env CONTAINERS_CONF="$d/containers.conf" podman --root "$d/storage" --runroot "$d/run" "$@"; }
  STOP_ALL="CONTAINERS_CONF=$d/containers.conf podman --root $d/storage --runroot $d/run rm -a -f -t 0; CONTAINERS_CONF=$d/containers.conf podman --root $d/storage --runroot $d/run rmi -a -f"
  pm import -q - localhost/nsbox-bench <"$TMP/rootfs.tar" >/dev/null
  for r in nsbox runc crun; do
    [[ -n ${RT[$r]} ]] || continue
    MS[podman.$r]=$(time_runs "podman/$r" pm --runtime "${RT[$r]}" run --rm --network none localhost/nsbox-bench true) ||
      MS[podman.$r]=failed
  done
  pm rm -a -f -t 0 >/dev/null 2>&1 || true
  pm rmi -a -f >/dev/null 2>&1 || true
  find /sys/fs/cgroup -depth -path "*/libpod_parent*" -type d -exec rmdir {} + 2>/dev/null || true
}

bench_containerd() {
  command -v containerd >/dev/null && command -v ctr >/dev/null && command -v umoci >/dev/null || return 1
  local d=$TMP/containerd r
  mkdir -p "$d"
  umoci init --layout "$d/layout" >/dev/null && umoci new --image "$d/layout:latest" &&
    umoci insert --image "$d/layout:latest" "$TMP/rootfs" / >/dev/null &&
    tar -C "$d/layout" -cf "$d/image.tar" . || return 1
  cat >"$d/config.toml" <<EOF
version = 2
root = "$d/root"
state = "$d/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$d/sock"
[ttrpc]
  address = "$d/sock.ttrpc"
EOF
  in_ns sh -c "containerd --config '$d/config.toml' >'$d/log' 2>&1 &"
  local i
  for i in $(seq 100); do in_ns ctr -a "$d/sock" version >/dev/null 2>&1 && break; sleep 0.1; done
  STOP_ALL="pkill -f 'containerd --config $d/config.toml'; pkill -f 'containerd-shim-runc-v2 .*-address $d/sock'"
  ct() { in_ns ctr -a "$d/sock" -n bench "$@"; }
  ct images import --base-name bench/busybox "$d/image.tar" >/dev/null || return 1
  N_ID=0
  ctr_run() { N_ID=$((N_ID + 1)); ct run --rm --runc-binary "$1" --runc-root "$d/rt-$(basename "$1")" bench/busybox:latest "b$N_ID" true; }
  for r in nsbox runc crun; do
    [[ -n ${RT[$r]} ]] || continue
    MS[containerd.$r]=$(time_runs "containerd/$r" ctr_run "${RT[$r]}") || MS[containerd.$r]=failed
  done
  in_ns sh -c "$STOP_ALL" >/dev/null 2>&1 || true
  STOP_ALL=:
}

bench_docker() {
  command -v dockerd >/dev/null && command -v docker >/dev/null || return 1
  local d=$TMP/docker r
  mkdir -p "$d/etc"
  jq -n --arg n "$NSBOX" --arg r "${RT[runc]}" --arg c "${RT[crun]}" \
    '{runtimes: {nsbox: {path: $n}, "runc-deb": {path: $r}, "crun-deb": {path: $c}}}' >"$d/daemon.json"
  in_ns sh -c "mount --bind '$d/etc' /etc/docker 2>/dev/null; dockerd --config-file '$d/daemon.json' \
    --data-root '$d/data' --exec-root '$d/exec' --pidfile '$d/pid' -H 'unix://$d/sock' --bridge=none \
    --iptables=false --ip-masq=false >'$d/log' 2>&1 &"
  dk() { in_ns docker -H "unix://$d/sock" "$@"; }
  local i
  for i in $(seq 150); do dk version >/dev/null 2>&1 && break; sleep 0.2; done
  STOP_ALL="docker -H unix://$d/sock rm -f \$(docker -H unix://$d/sock ps -aq) ; kill \$(cat $d/pid)"
  dk import - bench-busybox <"$TMP/rootfs.tar" >/dev/null || return 1
  declare -A NAME=([nsbox]=nsbox [runc]=runc-deb [crun]=crun-deb)
  for r in nsbox runc crun; do
    [[ -n ${RT[$r]} ]] || continue
    MS[docker.$r]=$(time_runs "docker/$r" dk run --rm --runtime "${NAME[$r]}" --network none bench-busybox true) ||
      MS[docker.$r]=failed
  done
  in_ns sh -c "$STOP_ALL" >/dev/null 2>&1 || true
  for i in $(seq 100); do [[ -e /proc/$(cat "$d/pid" 2>/dev/null || echo 0) ]] || break; sleep 0.2; done
  STOP_ALL=:
}

echo "== engines: ENGINE run --rm IMG true, N=$N per engine and runtime (+2 untimed), mean ms =="
echo "machine:  $(nproc) CPUs, kernel $(uname -r); nsbox $("$NSBOX" --version | head -1 | awk '{print $3}'), $(runc --version 2>/dev/null | head -1), $(crun --version 2>/dev/null | head -1)"
printf '%-11s %10s %10s %10s\n' engine nsbox runc crun
for e in $ENGINES; do
  case $e in
    podman) bench_podman && row podman || echo "podman     not installed" ;;
    containerd) bench_containerd && row containerd || echo "containerd not installed (containerd, umoci)" ;;
    docker) bench_docker && row docker || echo "docker     not installed (docker.io)" ;;
    *) echo "$e: unknown engine" ;;
  esac
done
