# What the engine and network benchmarks share (sourced). The caller sets N (timed runs) and
# TMP (its scratch directory).

# holder_ns: one holder process (HOLDER) keeps a network and mount namespace with a fresh /run
# and /var/lib (engines' CNI state, netns files) for everything that runs through in_ns.
# With `unified`, a cgroup2 mounted at /sys/fs/cgroup/unified is hidden there too (podman then
# sees a v1 host).
holder_ns() {
  unshare --net --mount --propagation private -- sh -c '
    mount -t tmpfs none /run && mount -t tmpfs none /var/lib && mkdir /run/netns /var/lib/cni &&
    if [ "$1" = unified ] && [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
      mount -t tmpfs none /sys/fs/cgroup/unified; fi &&
    ip link set lo up && exec sleep infinity' holder "${1:-}" &
  HOLDER=$!
  for _ in $(seq 100); do [[ $(cat /proc/$HOLDER/comm 2>/dev/null) == sleep ]] && break; sleep 0.05; done
}
in_ns() { nsenter -t "$HOLDER" -n -m "$@"; }

# time_runs LABEL CMD...: N timed runs (after 2 untimed); prints the mean in ms.
time_runs() {
  local i t0 t1 sum=0
  shift  # the label
  for i in 1 2; do "$@" >/dev/null 2>"$TMP/err" || { cat "$TMP/err" >&2; return 1; }; done
  for ((i = 0; i < N; i++)); do
    t0=${EPOCHREALTIME/./}
    "$@" >/dev/null 2>&1 || return 1
    t1=${EPOCHREALTIME/./}
    sum=$((sum + t1 - t0))
  done
  awk -v s="$sum" -v n="$N" 'BEGIN { printf "%.2f", s / n / 1000 }'
}

# lxc_cgroups_mark, then lxc_cgroups_sweep: the cgroups LXC leaves behind (lxc.pivot,
# lxc.payload.*, lxc.monitor.*) removed, unless they were there at the mark.
lxc_cgroups_mark() { LXC_CGROUPS_BEFORE=$(find /sys/fs/cgroup -maxdepth 2 -name 'lxc*' 2>/dev/null); }
lxc_cgroups_sweep() {
  local d
  for d in $(find /sys/fs/cgroup -maxdepth 2 -name 'lxc*' 2>/dev/null | sort -r); do
    grep -qxF "$d" <<<"$LXC_CGROUPS_BEFORE" || find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
}
