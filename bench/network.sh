#!/usr/bin/env bash
# What a network costs a container: sequential `run` of /bin/true by nsbox without a network
# and on nsbox's own bridge network (veth, leased address, route; then its release), and the
# same container through podman with its default CNI bridge network (with crun, podman's
# default runtime, runc and nsbox), and LXC's lxc-start of it with a veth, all in one run, inside a network and mount namespace made
# for it (nothing of the host's network is touched).
# usage: bench/network.sh     (as root; BENCH_N runs each, default 50)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NSBOX=${NSBOX:-$REPO/build/nsbox}
N=${BENCH_N:-50}
[[ -x $NSBOX && -x $(dirname "$NSBOX")/nsbox-nft ]] || { echo "bench: build first (nsbox and nsbox-nft)" >&2; exit 1; }

TMP=$(mktemp -d /tmp/nsbox-netbench.XXXXXX)
HOLDER=
STOP_ALL=:
cleanup() {
  set +e
  if [[ -n $HOLDER ]]; then
    in_ns sh -c "$STOP_ALL" >/dev/null 2>&1
    kill -KILL "$HOLDER"
    wait "$HOLDER"
  fi 2>/dev/null
  find /sys/fs/cgroup -depth -path "*/libpod_parent*" -type d -exec rmdir {} + 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

# The "host" of the benchmark: a network namespace with a fresh /run and /var/lib (podman's
# CNI state, netns files), kept by one holder process.
# shellcheck source=lib.sh
. "$REPO/bench/lib.sh"
holder_ns

ROOTFS=$TMP/rootfs
"$REPO/scripts/mkrootfs.sh" "$ROOTFS" >/dev/null
B=$TMP/bundle
mkdir -p "$B"
"$NSBOX" spec --bundle "$B"
jq --arg r "$ROOTFS" '.root.path = $r | .process.terminal = false | .process.args = ["/bin/true"]' "$B/config.json" >"$B/c" &&
  mv "$B/c" "$B/config.json"
nsb() { in_ns "$NSBOX" --root "$TMP/state" "$@"; }
i=0
run_plain() { i=$((i + 1)); nsb run --bundle "$B" "b$i"; }
run_net() { i=$((i + 1)); nsb run --network nsbox --bundle "$B" "n$i"; }

declare -A MS
MS[plain]=$(time_runs plain run_plain)
MS[net]=$(time_runs net run_net)

# podman, default network (its CNI bridge, cni-podman0, 10.88.0.0/16).
if command -v podman >/dev/null; then
  d=$TMP/podman
  mkdir -p "$d/tmp"
  printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\ntmp_dir = "%s"\nruntime_supports_json = ["crun", "runc", "nsbox"]\n[engine.runtimes]\nnsbox = ["%s"]\n' \
    "$d/tmp" "$NSBOX" >"$d/containers.conf"
  pm() { in_ns env CONTAINERS_CONF="$d/containers.conf" podman --root "$d/storage" --runroot "$d/run" "$@"; }
  STOP_ALL="CONTAINERS_CONF=$d/containers.conf podman --root $d/storage --runroot $d/run rm -a -f -t 0"
  tar -C "$ROOTFS" -c . | pm import -q - localhost/nsbox-netbench >/dev/null
  for r in crun runc nsbox; do
    rt=$r
    [[ $r == nsbox ]] && rt=$NSBOX
    command -v "$rt" >/dev/null || { MS[podman.$r]=absent; continue; }
    MS[podman.$r]=$(time_runs "podman/$r" pm --runtime "$rt" run --rm localhost/nsbox-netbench true) || MS[podman.$r]=failed
  done
fi

# LXC (Debian's lxc): lxc-start -F of the same rootfs running /bin/true, with a veth in a bridge
# and a static address, as lxc.net.0 gives it. Its own namespace: a fresh sysfs (LXC reads the
# bridge from /sys/class/net), the host's cgroup mounts moved in; the cgroups LXC leaves
# (lxc.pivot, lxc.payload.*, lxc.monitor.*) go afterwards unless they were there before.
if command -v lxc-start >/dev/null; then
  lxc_cgroups_mark
  mkdir -p "$TMP/lxc/bench"
  cat >"$TMP/lxc/bench/config" <<EOF2
lxc.uts.name = bench
lxc.rootfs.path = dir:$ROOTFS
lxc.net.0.type = veth
lxc.net.0.link = lxcbench0
lxc.net.0.flags = up
lxc.net.0.ipv4.address = 10.99.0.2/24
lxc.net.0.ipv4.gateway = 10.99.0.1
lxc.mount.auto = proc:mixed sys:ro
lxc.apparmor.profile = unconfined
lxc.init.cmd = /bin/true
EOF2
  unshare --net --mount --propagation private -- sh -c '
    mount -t tmpfs none /run && mkdir /run/cg && mount --rbind /sys/fs/cgroup /run/cg &&
    mount -t sysfs sysfs /sys && mount --move /run/cg /sys/fs/cgroup &&
    ip link set lo up && ip link add lxcbench0 type bridge && ip addr add 10.99.0.1/24 dev lxcbench0 &&
    ip link set lxcbench0 up && exec sleep infinity' &
  LXC_HOLDER=$!
  for _ in $(seq 100); do [[ $(cat /proc/$LXC_HOLDER/comm 2>/dev/null) == sleep ]] && break; sleep 0.05; done
  MS[lxc]=$(time_runs lxc nsenter -t "$LXC_HOLDER" -n -m lxc-start -n bench -P "$TMP/lxc" -F -o "$TMP/lxc/log") || MS[lxc]=failed
  kill -KILL "$LXC_HOLDER"
  wait "$LXC_HOLDER" 2>/dev/null || true
  lxc_cgroups_sweep
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else printf "-" }'; }
printf 'N=%d sequential runs of /bin/true, mean ms per container\n' "$N"
printf '%-44s %8s\n' "nsbox run, no network" "${MS[plain]}"
printf '%-44s %8s   (+%s ms for the network)\n' "nsbox run --network nsbox" "${MS[net]}" \
  "$(awk -v a="${MS[net]}" -v b="${MS[plain]}" 'BEGIN { printf "%.2f", a - b }')"
# (crun, podman's default runtime, refuses hybrid cgroup hosts: then runc is the comparison.)
for r in crun runc nsbox; do
  [[ -n ${MS[podman.$r]:-} ]] || continue
  printf '%-44s %8s   nsbox+network / this: %s\n' "podman run --rm (CNI bridge), $r" "${MS[podman.$r]}" "$(ratio "${MS[net]}" "${MS[podman.$r]}")"
done
if [[ -n ${MS[lxc]:-} ]]; then
  printf '%-44s %8s   nsbox+network / this: %s\n' "lxc-start -F (veth in a bridge)" "${MS[lxc]}" "$(ratio "${MS[net]}" "${MS[lxc]}")"
else
  echo "lxc: not installed (Debian package lxc): no LXC figure"
fi
