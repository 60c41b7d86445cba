# podman (Debian's 4.3, rootful, cgroupfs manager) running its containers with nsbox.
# Each test gets its own podman: storage, run root and configuration under $TEST_TMP, and
# every podman command runs in a network and mount namespace the test makes (a holder
# process keeps them), so podman's bridge, its address, firewall rules, CNI state and
# overlay mounts exist only there and go away with the test.

# pm ARGS...: this test's podman ($PM_DIR/pm, a script, so that tmux can run it too).
pm() { "$PM_DIR/pm" "$@"; }
pm_logs_have() { pm logs "$1" 2>/dev/null | grep -q "$2"; }
holder_ready() { [ "$(cat "/proc/$PM_HOLDER/comm" 2>/dev/null)" = sleep ]; }

IMG=localhost/nsbox-busybox

# podman_conf FILE [ENGINE_LINE [SECTION LINES...]]: a containers.conf with nsbox as podman's
# runtime. The first extra line goes into [engine]; the rest follow as written.
podman_conf() {
  local f=$1
  shift
  {
    printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n'
    printf '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\nruntime = "nsbox"\n'
    printf 'runtime_supports_json = ["crun", "runc", "nsbox"]\n'
    [ $# -eq 0 ] || { printf '%s\n' "$1"; shift; }
    printf '[engine.runtimes]\nnsbox = ["%s"]\n' "$NSBOX"
    [ $# -eq 0 ] || printf '%s\n' "$@"
  } >"$f"
}

podman_setup() {
  command -v podman >/dev/null || skip "podman is not installed (Debian package podman)"
  PM_DIR=$TEST_TMP/podman
  mkdir -p "$PM_DIR/cni" "$PM_DIR/tmp"
  # podman passes --log and --log-format json only to runtimes it lists here; the host
  # has no CAP_SYS_RESOURCE, so podman's default 1048576 file limit cannot be set: ask for
  # what the host allows (see test_podman_rlimit_beyond_the_hosts_is_a_clear_error).
  podman_conf "$PM_DIR/containers.conf" "tmp_dir = \"$PM_DIR/tmp\"" "[network]" \
    "network_config_dir = \"$PM_DIR/cni\""
  printf '#!/bin/sh\nexec nsenter -t "$(cat %s/holder)" -n -m env CONTAINERS_CONF=%s/containers.conf podman --root %s/storage --runroot %s/run --storage-driver overlay "$@"\n' \
    "$PM_DIR" "$PM_DIR" "$PM_DIR" "$PM_DIR" >"$PM_DIR/pm"
  chmod +x "$PM_DIR/pm"
  PM_CGROUP_PARENT_EXISTED=$(find /sys/fs/cgroup -maxdepth 2 -name libpod_parent | head -1)
  # Fresh /run and /var/lib there (CNI's state, netns files, iptables' lock): nothing of
  # podman's lands on the host's.
  unshare --net --mount --propagation private -- sh -c '
    mount -t tmpfs none /run && mount -t tmpfs none /var/lib && mkdir /run/netns /var/lib/cni &&
    ip link set lo up && exec sleep infinity' &
  PM_HOLDER=$!
  echo "$PM_HOLDER" >"$PM_DIR/holder"
  kill_at_exit "$PM_HOLDER"
  at_exit podman_teardown
  wait_for "the podman namespaces" holder_ready
  tar -C "$(shared_rootfs)" -c . | pm import -q - "$IMG" >/dev/null || fail "podman import failed"
}

podman_teardown() {
  pm rm -a -f -t 0 >/dev/null 2>&1
  pm pod rm -a -f -t 0 >/dev/null 2>&1
  pm rmi -a -f >/dev/null 2>&1
  # cgroupfs: podman's parent cgroups, if they were made for us (conmon's are left inside).
  # conmon leaves them a moment after the containers are gone.
  local i
  for i in $(seq 50); do
    [ -z "$PM_CGROUP_PARENT_EXISTED" ] || break
    find /sys/fs/cgroup -depth -path "*/libpod_parent*" -type d -exec rmdir {} + 2>/dev/null
    [ -z "$(find /sys/fs/cgroup -maxdepth 2 -name libpod_parent)" ] && break
    sleep 0.1
  done
}

test_podman_run_exit_codes_and_errors() {
  podman_setup
  local out rc
  out=$(pm run --rm --network none "$IMG" sh -c 'echo hi from $(hostname); cat /proc/1/cmdline | tr "\0" " "')
  assert_contains "$out" "hi from" "output of podman run"
  pm run --rm --network none "$IMG" true || fail "podman run true failed"
  rc=0
  pm run --rm --network none "$IMG" sh -c 'exit 3' || rc=$?
  assert_eq "$rc" 3 "exit status passed through"
  rc=0
  out=$(pm run --rm --network none "$IMG" /no/such/program 2>&1) || rc=$?
  assert_eq "$rc" 127 "exit status of a missing program"
  assert_contains "$out" "no such file or directory"
  rc=0
  out=$(pm run --rm --network none "$IMG" /etc 2>&1) || rc=$?
  assert_eq "$rc" 126 "exit status of a program that cannot run"
  assert_contains "$out" "permission denied"
}

test_podman_detached_logs_exec_signals_update_stop() {
  podman_setup
  local id out
  id=$(pm run -d --network none "$IMG" sh -c 'echo started; trap "echo got usr1" USR1; while :; do sleep 0.1; done') ||
    fail "podman run -d failed"
  wait_for "the container's first line" pm_logs_have "$id" started
  out=$(pm exec "$id" sh -c 'echo in exec; cat /proc/1/cmdline | tr "\0" " "') || fail "podman exec failed"
  assert_contains "$out" "in exec"
  assert_contains "$out" "trap" "pid 1 seen from exec"
  pm kill -s USR1 "$id" >/dev/null || fail "kill -s USR1 failed"
  wait_for "USR1 to reach the container" pm_logs_have "$id" "got usr1"
  pm pause "$id" >/dev/null || fail "pause failed"
  assert_eq "$(pm inspect -f '{{.State.Status}}' "$id")" paused "status after pause"
  pm unpause "$id" >/dev/null || fail "unpause failed"
  assert_eq "$(pm inspect -f '{{.State.Status}}' "$id")" running "status after unpause"
  pm update --memory 64m "$id" >/dev/null || fail "update --memory failed"
  local cg
  # (A v1 memory hierarchy where there is one; a pure v2 host has none.)
  cg=$( (find /sys/fs/cgroup/memory -type d -name "*${id}*" 2>/dev/null || true) | head -1)
  if [ -n "$cg" ]; then
    assert_eq "$(cat "$cg/memory.limit_in_bytes")" $((64 * 1024 * 1024)) "memory limit after update"
  else
    out=$(pm exec "$id" cat /sys/fs/cgroup/memory.max 2>/dev/null || true)
    assert_eq "$out" $((64 * 1024 * 1024)) "memory.max after update"
  fi
  # The shell as pid 1 ignores TERM: stop must fall back to KILL.
  pm stop -t 1 "$id" >/dev/null 2>&1 || fail "stop failed"
  assert_eq "$(pm inspect -f '{{.State.Status}}' "$id")" exited "status after stop"
  assert_eq "$(pm inspect -f '{{.State.ExitCode}}' "$id")" 137 "exit code after TERM then KILL"
  pm rm -f "$id" >/dev/null || fail "rm -f failed"
  assert_eq "$(pm ps -a -q | wc -l)" 0 "containers after rm -f"
}

test_podman_stop_with_term() {
  podman_setup
  local id
  id=$(pm run -d --network none "$IMG" sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done') || fail "run -d failed"
  pm stop -t 10 "$id" >/dev/null || fail "stop failed"
  assert_eq "$(pm inspect -f '{{.State.ExitCode}}' "$id")" 0 "exit code after TERM"
  pm rm -f "$id" >/dev/null
}

test_podman_exec_tty_under_a_real_terminal() {
  podman_setup
  command -v tmux >/dev/null || skip "tmux is not installed"
  local id sock=$TEST_TMP/tmux.sock
  id=$(pm run -d --network none "$IMG" sleep 100) || fail "run -d failed"
  at_exit "tmux -S '$sock' kill-server >/dev/null 2>&1"
  tmux -S "$sock" new-session -d -x 100 -y 30 \
    "$PM_DIR/pm exec -it $id sh -c 'tty; stty size; echo done-\$((6*7))'; sleep 5"
  wait_for "exec -it output" sh -c "tmux -S '$sock' capture-pane -p | grep -q done-42"
  local screen
  screen=$(tmux -S "$sock" capture-pane -p)
  assert_contains "$screen" "/dev/pts/" "tty inside exec -it"
  assert_contains "$screen" "$(tmux -S "$sock" display -p '#{pane_height} #{pane_width}')" "the terminal's size inside"
}

test_podman_default_bridge_network() {
  podman_setup
  [ -x /usr/lib/cni/bridge ] || skip "CNI plugins are not installed (containernetworking-plugins)"
  local out
  out=$(pm run --rm "$IMG" sh -c 'ip -4 -o addr show eth0; ping -c 1 -W 2 10.88.0.1 >/dev/null && echo gateway-ok') ||
    fail "podman run on the default bridge failed: $out"
  assert_contains "$out" "inet 10.88." "eth0's address on podman's bridge"
  assert_contains "$out" "gateway-ok" "the bridge's gateway answers"
  # Only in the test's namespace: the host has no such bridge.
  ! ip link show cni-podman0 >/dev/null 2>&1 || fail "podman's bridge appeared on the host"
}

test_podman_pod_shares_a_network_namespace() {
  podman_setup
  command -v catatonit >/dev/null || [ -x /usr/libexec/podman/catatonit ] ||
    skip "catatonit is not installed (podman's local pause image needs it)"
  pm pod create --name p >/dev/null || fail "pod create failed"
  local a b
  a=$(pm run -d --pod p "$IMG" sleep 100) || fail "first container in the pod failed"
  b=$(pm run -d --pod p "$IMG" sleep 100) || fail "second container in the pod failed"
  local na nb
  na=$(pm exec "$a" readlink /proc/self/ns/net)
  nb=$(pm exec "$b" readlink /proc/self/ns/net)
  assert_eq "$na" "$nb" "network namespaces of the pod's containers"
  assert_ne "$(pm exec "$a" readlink /proc/self/ns/pid)" "" "pid namespace readable"
  pm pod rm -f -t 0 p >/dev/null || fail "pod rm failed"
}

test_podman_rlimit_beyond_the_hosts_is_a_clear_error() {
  podman_setup
  local eff
  eff=$(awk '$1 == "CapEff:" { print $2 }' /proc/self/status)
  if (((0x$eff >> 24) & 1)); then skip "this host grants CAP_SYS_RESOURCE: podman's default limits can be set"; fi
  local out rc=0
  out=$(pm run --rm --network none --ulimit nofile=1048576:1048576 "$IMG" true 2>&1) || rc=$?
  [ "$rc" -ne 0 ] || fail "a file limit above the host's was accepted"
  assert_contains "$out" "RLIMIT_NOFILE" "the error names the limit"
  assert_contains "$out" "operation not permitted"
}

test_podman_rootless_with_no_network() {
  command -v podman >/dev/null || skip "podman is not installed (Debian package podman)"
  command -v newuidmap >/dev/null || skip "newuidmap is not installed (Debian package uidmap)"
  test_user
  local conf=$TEST_TMP/rootless.conf
  podman_conf "$conf"
  chmod 644 "$conf"
  tar -C "$(shared_rootfs)" -c . >"$TEST_TMP/rootfs.tar"
  chmod 644 "$TEST_TMP/rootfs.tar"
  RPM_CONF=$conf
  rpm() { as_user env CONTAINERS_CONF="$RPM_CONF" podman "$@"; }
  at_exit 'rpm rm -a -f -t 0 >/dev/null 2>&1; rpm system reset -f >/dev/null 2>&1'
  rpm import -q "$TEST_TMP/rootfs.tar" "$IMG" >/dev/null || fail "rootless podman import failed"
  local out rc=0
  out=$(rpm run --rm --network none "$IMG" sh -c 'id -u; cat /proc/self/uid_map' 2>"$TEST_TMP/err") || rc=$?
  [ "$rc" -eq 0 ] || fail "rootless podman run exited $rc: $(grep -v 'not a shared mount' "$TEST_TMP/err")"
  assert_contains "$out" "$(printf '%10s %10s %10s' 0 "$RL_UID" 1)" "uid 0 in the container is the user"
  assert_contains "$out" "$(printf '%10s %10s %10s' 1 "$RL_SUB" 65536)" "the user's subordinate ids"
  rc=0
  rpm run --rm --network none "$IMG" sh -c 'exit 3' 2>/dev/null || rc=$?
  assert_eq "$rc" 3 "exit status, rootless"
  local id
  id=$(rpm run -d --network none "$IMG" sleep 100 2>/dev/null) || fail "rootless run -d failed"
  assert_eq "$(rpm exec "$id" echo exec-ok 2>/dev/null)" exec-ok "rootless exec"
  rpm rm -f -t 0 "$id" >/dev/null 2>&1 || fail "rootless rm -f failed"
  [ -d "$RL_XDG/nsbox" ] || fail "nsbox kept no state under the user's \$XDG_RUNTIME_DIR"
}
