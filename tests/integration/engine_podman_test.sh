# podman (Debian's 4.3, rootful) running its containers with nsbox.
# Each test gets its own podman: storage, run root and configuration under $TEST_TMP, and
# every podman command runs in a network and mount namespace the test makes (a holder
# process keeps them), so podman's bridge, its address, firewall rules, CNI state and
# overlay mounts exist only there and go away with the test.
#
# podman's cgroup manager follows the tests' cgroup driver: cgroupfs, or, with
# NSBOX_TEST_CGROUP_DRIVER=systemd (the systemd guest of tests/vm), podman's default on a
# systemd host, cgroup_manager = "systemd": podman then passes --systemd-cgroup and
# cgroupsPath machine.slice:libpod:ID (a pod's machine-libpod_pod_POD.slice:libpod:ID) to
# nsbox, which has systemd start the transient scope libpod-ID.scope. The fresh /run of the
# test's namespace then holds the host's /run/systemd and /run/dbus (systemd's marker
# /run/systemd/system, its private socket and the system bus), which podman (for conmon's
# scope and the pod's slice) and nsbox-systemd use. The tests check the scope, update as
# systemd shows it, and that no unit of a container is left after it is removed.
# pm ARGS...: this test's podman ($PM_DIR/pm, a script, so that tmux can run it too).
pm() { "$PM_DIR/pm" "$@"; }
pm_logs_have() { pm logs "$1" 2>/dev/null | grep -q "$2"; }
holder_ready() { [ "$(cat "/proc/$PM_HOLDER/comm" 2>/dev/null)" = sleep ]; }

IMG=localhost/nsbox-busybox

# pm_systemd: the test runs with podman's (and so nsbox's) systemd cgroup manager.
pm_systemd() { [ "${NSBOX_TEST_CGROUP_DRIVER:-cgroupfs}" = systemd ]; }

# podman_conf FILE [ENGINE_LINE [SECTION LINES...]]: a containers.conf with nsbox as podman's
# runtime. The first extra line goes into [engine]; the rest follow as written.
podman_conf() {
  local f=$1
  shift
  {
    # k8s-file logs: on a systemd host podman's default is journald, whose journal in
    # /run/log is not in the test's /run.
    printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\nlog_driver = "k8s-file"\n'
    printf '[engine]\ncgroup_manager = "%s"\nevents_logger = "file"\nruntime = "nsbox"\n' "${PM_CGROUP_MANAGER:-cgroupfs}"
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
  local mode=cgroupfs
  if pm_systemd; then
    [ -d /run/systemd/system ] || skip "NSBOX_TEST_CGROUP_DRIVER=systemd, but systemd is not pid 1 here"
    [ -S /run/dbus/system_bus_socket ] || skip "NSBOX_TEST_CGROUP_DRIVER=systemd, but there is no system bus"
    command -v systemctl >/dev/null || skip "systemctl is not installed"
    mode=systemd
  fi
  PM_CGROUP_MANAGER=$mode
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
  # podman's lands on the host's. With systemd, the host's /run/systemd and /run/dbus are
  # bound into the fresh /run (through a bind of the host's /run made before the tmpfs
  # hides it, and dropped after).
  mkdir -p "$PM_DIR/hostrun"
  unshare --net --mount --propagation private -- sh -c '
    if [ "$1" = systemd ]; then mount --rbind /run "$2" || exit 1; fi
    mount -t tmpfs none /run && mount -t tmpfs none /var/lib && mkdir /run/netns /var/lib/cni || exit 1
    if [ "$1" = systemd ]; then
      mkdir /run/systemd /run/dbus && mount --rbind "$2/systemd" /run/systemd &&
        mount --rbind "$2/dbus" /run/dbus && umount -l "$2" || exit 1
    fi
    ip link set lo up && exec sleep infinity' sh "$mode" "$PM_DIR/hostrun" 2>"$PM_DIR/holder.err" &
  PM_HOLDER=$!
  echo "$PM_HOLDER" >"$PM_DIR/holder"
  kill_at_exit "$PM_HOLDER"
  at_exit podman_teardown
  local i
  for i in $(seq 100); do
    holder_ready && break
    kill -0 "$PM_HOLDER" 2>/dev/null || fail "making the podman namespaces failed: $(cat "$PM_DIR/holder.err")"
    sleep 0.05
  done
  holder_ready || fail "timed out waiting for the podman namespaces"
  if pm_systemd; then
    local why
    why=$(nsenter -t "$PM_HOLDER" -n -m sh -c '[ -d /run/systemd/system ] && [ -S /run/dbus/system_bus_socket ] &&
      [ -S /run/systemd/private ] && echo ok' 2>&1)
    assert_eq "$why" ok "systemd's and the bus's sockets in the test's /run"
  fi
  tar -C "$(shared_rootfs)" -c . | pm import -q - "$IMG" >/dev/null || fail "podman import failed"
}

# pm_created: the ids of every container this test's podman created (from its event log),
# infra containers of pods included.
pm_created() {
  pm events --stream=false --filter type=container --filter event=create --format '{{.ID}}' 2>/dev/null | sort -u
}

# pm_units_left [PREFIX]: with systemd, the units PREFIX-ID.scope (libpod-ID.scope, the
# container's; libpod-conmon-ID.scope, conmon's) of this test's containers that systemd
# still knows, and their cgroups still there; nothing otherwise.
pm_units_left() {
  pm_systemd || return 0
  local id units=() names=()
  for id in $(pm_created); do
    units+=("${1:-libpod}-$id.scope")
    names+=(${names[0]+-o} -name "${1:-libpod}-$id.scope")
  done
  [ ${#units[@]} -gt 0 ] || return 0
  systemctl list-units --all --plain --no-legend "${units[@]}" 2>/dev/null | awk '{ print $1 }'
  find /sys/fs/cgroup -maxdepth 4 -type d \( "${names[@]}" \) 2>/dev/null || true
}
no_conmon_units() { [ -z "$(pm_units_left libpod-conmon)" ]; }

# pm_assert_removed: (systemd) after `podman rm` of the test's containers, no unit or
# cgroup of one is left (nsbox's delete stops the unit); conmon's (podman's) go when
# conmon has exited.
pm_assert_removed() {
  pm_systemd || return 0
  local left
  left=$(pm_units_left)
  [ -z "$left" ] || fail "left behind by the removed containers: ${left//$'\n'/ }"
  local end=$((SECONDS + 10))
  until no_conmon_units; do
    [ "$SECONDS" -lt "$end" ] || fail "conmon's units left 10 s after rm: $(pm_units_left libpod-conmon | tr '\n' ' ')"
    sleep 0.2
  done
}

# pm_assert_scope ID [SLICE]: (systemd) container ID runs in the transient unit
# libpod-ID.scope of SLICE (machine.slice): systemctl shows it active with the container's
# init, which is in the unit's cgroup. Sets PM_CG to that cgroup's directory.
pm_assert_scope() {
  local id=$1 slice=${2:-machine.slice} unit=libpod-$1.scope pid st cg
  pid=$(pm inspect -f '{{.State.Pid}}' "$id")
  [ "${pid:-0}" -gt 0 ] || fail "no pid for container $id"
  st=$(systemctl status --no-pager --lines=0 "$unit" 2>&1) || fail "systemctl status $unit failed: [$st]"
  assert_contains "$st" "Active: active (running)" "systemctl status $unit"
  grep -qE "[^0-9]$pid " <<<"$st" || fail "systemctl status $unit does not list the container's init $pid: [$st]"
  assert_eq "$(systemctl show -P Slice "$unit")" "$slice" "slice of $unit"
  cg=$(systemctl show -P ControlGroup "$unit")
  assert_eq "$(awk -F: '$1 == "0" { print $3 }' "/proc/$pid/cgroup")" "$cg" "cgroup of the init of $id"
  PM_CG=/sys/fs/cgroup$cg
  echo "container ${id:0:12}: $unit in $slice, init $pid in $cg; conmon in $(awk -F: '$1 == "0" { print $3 }' \
    "/proc/$(pm inspect -f '{{.State.ConmonPid}}' "$id")/cgroup" 2>/dev/null)"
}

# pm_rm ID...: podman rm -f of the containers; then (systemd) nothing of them is left.
pm_rm() {
  pm rm -f -t 0 "$@" >/dev/null || fail "podman rm -f $* failed"
  pm_assert_removed
}

podman_teardown() {
  pm rm -a -f -t 0 >/dev/null 2>&1
  pm pod rm -a -f -t 0 >/dev/null 2>&1
  # systemd: a unit that a failed test left (none, when it passed) goes too.
  local left
  if pm_systemd; then
    left=$( (pm_units_left; pm_units_left libpod-conmon) | grep -v /)
    # shellcheck disable=SC2086 # unit names
    [ -z "$left" ] || { systemctl stop $left; systemctl reset-failed $left; } >/dev/null 2>&1
  fi
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
  if pm_systemd; then
    # The unit of a run --rm container, as its init sees it in the host's cgroup namespace.
    out=$(pm run --rm --network none --cgroupns host --cidfile "$PM_DIR/rm.cid" "$IMG" cat /proc/self/cgroup) ||
      fail "podman run --rm --cgroupns host failed"
    assert_eq "$out" "0::/machine.slice/libpod-$(cat "$PM_DIR/rm.cid").scope" "cgroup of a podman run --rm container"
  fi
  # Every container went with its run --rm.
  pm_assert_removed
}

test_podman_detached_logs_exec_signals_update_stop() {
  podman_setup
  local id out
  id=$(pm run -d --network none "$IMG" sh -c 'echo started; trap "echo got usr1" USR1; while :; do sleep 0.1; done') ||
    fail "podman run -d failed"
  wait_for "the container's first line" pm_logs_have "$id" started
  pm_systemd && pm_assert_scope "$id"
  out=$(pm exec "$id" sh -c 'echo in exec; cat /proc/1/cmdline | tr "\0" " "') || fail "podman exec failed"
  assert_contains "$out" "in exec"
  assert_contains "$out" "trap" "pid 1 seen from exec"
  if pm_systemd; then
    # The exec'd process joined the container's cgroup (the root of its cgroup namespace),
    # not conmon's.
    assert_eq "$(pm exec "$id" cat /proc/self/cgroup)" "0::/" "cgroup of an exec'd process"
  fi
  pm kill -s USR1 "$id" >/dev/null || fail "kill -s USR1 failed"
  wait_for "USR1 to reach the container" pm_logs_have "$id" "got usr1"
  pm pause "$id" >/dev/null || fail "pause failed"
  assert_eq "$(pm inspect -f '{{.State.Status}}' "$id")" paused "status after pause"
  if pm_systemd; then
    assert_eq "$(cat "$PM_CG/cgroup.freeze")" 1 "cgroup.freeze of libpod-$id.scope after pause"
    assert_eq "$(systemctl show -P ActiveState "libpod-$id.scope")" active "the unit while paused"
  fi
  pm unpause "$id" >/dev/null || fail "unpause failed"
  assert_eq "$(pm inspect -f '{{.State.Status}}' "$id")" running "status after unpause"
  if pm_systemd; then
    assert_eq "$(cat "$PM_CG/cgroup.freeze")" 0 "cgroup.freeze of libpod-$id.scope after unpause"
  fi
  pm update --memory 64m "$id" >/dev/null || fail "update --memory failed"
  if pm_systemd; then
    # podman's update reaches systemd through nsbox update: the unit's property, and the
    # unit's cgroup.
    assert_eq "$(systemctl show -P MemoryMax "libpod-$id.scope")" $((64 * 1024 * 1024)) "MemoryMax of libpod-$id.scope after update"
    assert_eq "$(cat "$PM_CG/memory.max")" $((64 * 1024 * 1024)) "memory.max of libpod-$id.scope after update"
  fi
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
  pm_assert_removed
}

test_podman_stop_with_term() {
  podman_setup
  local id
  id=$(pm run -d --network none "$IMG" sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done') || fail "run -d failed"
  pm_systemd && pm_assert_scope "$id"
  pm stop -t 10 "$id" >/dev/null || fail "stop failed"
  assert_eq "$(pm inspect -f '{{.State.ExitCode}}' "$id")" 0 "exit code after TERM"
  pm_rm "$id"
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
  pm_rm "$id"
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
  pm_assert_removed
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
  local slice=""
  if pm_systemd; then
    # The pod's containers, its infra container too, in their units in the pod's slice
    # (podman's cgroupsPath machine-libpod_pod_POD.slice:libpod:ID).
    # (podman 4.3 shows the parent as machine.slice/machine-libpod_pod_POD.slice.)
    slice=$(pm inspect -f '{{.HostConfig.CgroupParent}}' "$a")
    slice=${slice##*/}
    assert_eq "$slice" "machine-libpod_pod_$(pm pod inspect -f '{{.ID}}' p).slice" "cgroup parent of a container in the pod"
    pm_assert_scope "$a" "$slice"
    pm_assert_scope "$b" "$slice"
    pm_assert_scope "$(pm pod inspect -f '{{.InfraContainerID}}' p)" "$slice"
  fi
  pm pod rm -f -t 0 p >/dev/null || fail "pod rm failed"
  pm_assert_removed
  if [ -n "$slice" ]; then
    echo "after pod rm: $slice: [$(systemctl list-units --all --plain --no-legend "$slice")]"
  fi
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
  # The failed create left no unit (systemd).
  pm_assert_removed
}

test_podman_rootless_with_no_network() {
  command -v podman >/dev/null || skip "podman is not installed (Debian package podman)"
  command -v newuidmap >/dev/null || skip "newuidmap is not installed (Debian package uidmap)"
  test_user
  # cgroupfs whatever the tests' driver: the systemd manager of a rootless podman is the
  # user's (systemd --user over the user's bus, dbus-user-session), which the test user has not.
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
