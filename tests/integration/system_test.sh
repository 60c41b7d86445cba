# shellcheck shell=bash
# System containers: a container whose init manages its own cgroups lives below limits it
# cannot reach, and leaves nothing when deleted; `nsbox stop` (the stop signal, then SIGKILL);
# a boot id of its own; capabilities the host lacks are named; and a Debian root filesystem
# booting systemd from `nsbox spec --system`: running, its console, its journal, a clean
# stop. The busybox tests run on every cgroup layout; the systemd ones need the Debian root
# filesystem scripts/mkdebian.sh builds (mmdebstrap, through the host's apt mirror; cached).
# shellcheck disable=SC2016  # container scripts are literal

# shellcheck source=cgroup_lib.sh
source "$SRC_DIR/tests/integration/cgroup_lib.sh"

# sys_bundle NAME SCRIPT: a busybox bundle for container $(cid NAME) running `sh -c SCRIPT`
# with a cgroup namespace and a writable cgroup mount (a container that manages its cgroups).
sys_bundle() {
  local b
  b=$(make_bundle "nsbox-leftover-marker-$(cid "$1")" sh -c "$2")
  edit_config "$b" '(.mounts[] | select(.destination == "/sys/fs/cgroup") | .options) |= map(select(. != "ro"))
    | .process.capabilities.bounding += ["CAP_SYS_ADMIN"] | .process.capabilities.effective += ["CAP_SYS_ADMIN"]
    | .process.capabilities.permitted += ["CAP_SYS_ADMIN"]
    | .mounts += [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]}]'
  echo "$b"
}

# at_cgroup_root PROC_CGROUP: /proc/self/cgroup text whose memory cgroup is "/" (the root of
# its cgroup namespace), on the layout that has memory.
at_cgroup_root() {
  if cg_is_v1 memory; then grep -qE '^[0-9]+:memory:/$' <<<"$1"; else grep -qx '0::/' <<<"$1"; fi
}

# The memory controller's limit file at a cgroup directory, on its layout.
mem_limit_file() { if cg_is_v1 memory; then echo "$1/memory.limit_in_bytes"; else echo "$1/memory.max"; fi; }

test_nested_container_cannot_lift_its_limits_and_delete_removes_its_cgroups() {
  local b id pid leaf home inside
  # The container's init sees its cgroup namespace root one level below the cgroup carrying
  # its limits: it raises "its" limit and makes cgroups of its own (as systemd does), the
  # limit holds, and delete removes the whole tree, deepest first.
  b=$(sys_bundle nest 'm=/sys/fs/cgroup; [ -d $m/memory ] && m=$m/memory
    cat /proc/self/cgroup > /tmp/own
    if [ -e $m/memory.limit_in_bytes ]; then f=memory.limit_in_bytes; else f=memory.max; fi
    echo 1073741824 > $m/$f 2>/dev/null; echo "wrote=$?" >> /tmp/own
    mkdir -p $m/made.slice/deeper.scope && echo $$ > $m/made.slice/deeper.scope/cgroup.procs
    echo ready > /tmp/ready; sleep 1000')
  edit_config "$b" '.linux.resources.memory = {"limit": 268435456}'
  id=$(cid nest)
  nsbox run -d --bundle "$b" "$id" </dev/null
  pid=$(nsbox state "$id" | jq -r .pid)
  wait_for "the container to set up its cgroups" test -e "/proc/$pid/root/tmp/ready"
  inside=$(cat "/proc/$pid/root/tmp/own")
  at_cgroup_root "$inside" || fail "the container's own view of its memory cgroup is not its root: [$inside]"
  # Its cgroup namespace is rooted at .../container: it sees "/" where the host sees
  # .../nsbox-ID/container/made.slice/deeper.scope now.
  home=$(cg_dir "$pid" memory)
  assert_contains "$home" "/container/made.slice/deeper.scope" "the host's view of the container's memory cgroup"
  leaf=${home%/container/made.slice/deeper.scope}
  assert_eq "$(cat "$(mem_limit_file "$leaf")")" 268435456 "the limit after the container wrote its own"
  # An exec joins the container's home, its cgroup namespace root (the cgroup of the limits
  # would show as /.. from inside).
  inside=$(nsbox exec "$id" cat /proc/self/cgroup)
  at_cgroup_root "$inside" || fail "an exec's memory cgroup, seen from inside, is not the root: [$inside]"
  nsbox delete --force "$id"
  [ ! -e "$leaf" ] || fail "the container's cgroup tree is left: $(find "$leaf" -type d | head -5)"
  assert_no_leftovers "$id"
}

test_stop_sends_the_stop_signal_then_kills() {
  local b id rc
  # The default stop signal is SIGTERM; the annotation names another; an init that ignores
  # it is killed after --time, with exit status 2.
  b=$(make_bundle "nsbox-leftover-marker-$(cid term)" sh -c 'trap "echo got-term > /tmp/got; exit 0" TERM; while :; do sleep 0.1; done')
  id=$(cid term)
  nsbox run -d --bundle "$b" "$id" </dev/null
  rc=0
  nsbox stop --time 20 "$id" || rc=$?
  assert_eq "$rc" 0 "stop of an init that ends on SIGTERM"
  assert_eq "$(status_of "$id")" stopped
  nsbox delete "$id"
  assert_no_leftovers "$id"

  b=$(make_bundle "nsbox-leftover-marker-$(cid usr1)" sh -c 'trap "exit 0" USR1; trap "" TERM; while :; do sleep 0.1; done')
  edit_config "$b" '.annotations["org.nsbox.stop-signal"] = "SIGUSR1"'
  id=$(cid usr1)
  nsbox run -d --bundle "$b" "$id" </dev/null
  rc=0
  nsbox stop --time 20 "$id" || rc=$?
  assert_eq "$rc" 0 "stop with org.nsbox.stop-signal SIGUSR1"
  nsbox delete "$id"

  b=$(make_bundle "nsbox-leftover-marker-$(cid deaf)" sh -c 'trap "" TERM; sleep 1000 & while :; do sleep 0.1; done')
  id=$(cid deaf)
  nsbox run -d --bundle "$b" "$id" </dev/null
  rc=0
  nsbox stop --time 1 "$id" 2>"$TEST_TMP/stop.err" || rc=$?
  assert_eq "$rc" 2 "stop of an init that ignores its stop signal"
  assert_contains "$(cat "$TEST_TMP/stop.err")" "killed" "what stop says"
  assert_eq "$(status_of "$id")" stopped
  [ -z "$(nsbox ps --format json "$id" | jq -r '.[]')" ] || fail "processes left after stop: $(nsbox ps --format json "$id")"
  rc=0
  nsbox stop "$id" || rc=$?
  assert_eq "$rc" 0 "stop of a stopped container"
  nsbox delete "$id"
  assert_no_leftovers "$id"

  b=$(make_bundle "nsbox-leftover-marker-$(cid badsig)" sleep 1000)
  edit_config "$b" '.annotations["org.nsbox.stop-signal"] = "SIGNOPE"'
  id=$(cid badsig)
  nsbox run -d --bundle "$b" "$id" </dev/null
  expect_fail "org.nsbox.stop-signal" nsbox stop "$id"
  expect_fail "--time" nsbox stop --time -1 "$id"
  nsbox delete --force "$id"
  assert_no_leftovers "$id"
}

test_boot_id_is_the_containers_own() {
  local b id host first second
  b=$(make_bundle "nsbox-leftover-marker-$(cid bootid)" sh -c 'cat /proc/sys/kernel/random/boot_id; echo x > /proc/sys/kernel/random/boot_id 2>/dev/null && echo writable || echo read-only')
  edit_config "$b" '.annotations["org.nsbox.boot-id"] = "random"'
  host=$(cat /proc/sys/kernel/random/boot_id)
  run_ok bootid "$b"
  first=$OUT
  run_ok bootid "$b"
  second=$OUT
  assert_ne "$(head -1 <<<"$first")" "$host" "the container's boot id against the host's"
  assert_ne "$(head -1 <<<"$first")" "$(head -1 <<<"$second")" "the boot ids of two runs"
  [[ $(head -1 <<<"$first") =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] || fail "not a boot id: $first"
  assert_eq "$(tail -1 <<<"$first")" read-only "the boot id file"
  edit_config "$b" '.annotations["org.nsbox.boot-id"] = "yes"'
  expect_fail 'annotations["org.nsbox.boot-id"]' nsbox run --bundle "$b" "$(cid bootid)"
  assert_no_leftovers "$(cid bootid)"
}

test_capability_the_host_lacks_is_named_and_dropped() {
  local b bnd out
  bnd=$(status_field "$(cat /proc/self/status)" CapBnd)
  if ((0x$bnd >> 24 & 1)); then skip "this host's bounding set has CAP_SYS_RESOURCE: no capability to lack"; fi
  b=$(make_bundle "nsbox-leftover-marker-$(cid nores)" sh -c 'grep CapEff /proc/self/status')
  edit_config "$b" '.process.capabilities.bounding += ["CAP_SYS_RESOURCE"] | .process.capabilities.effective += ["CAP_SYS_RESOURCE"] | .process.capabilities.permitted += ["CAP_SYS_RESOURCE"]'
  run_ok nores "$b"
  assert_contains "$(cat "$TEST_TMP/nores.err")" "CAP_SYS_RESOURCE" "the warning"
  out=$(status_field "$OUT" CapEff)
  ((0x$out >> 24 & 1)) && fail "CAP_SYS_RESOURCE in the container's effective set: $out"
  assert_no_leftovers "$(cid nores)"
}

# --- systemd in a Debian root filesystem ---------------------------------------------------

# debian_bundle NAME: B, a bundle from `nsbox spec --system --network none` on a fresh copy of
# the Debian root filesystem (a system container writes to its root). Skips where it cannot
# be built.
debian_bundle() {
  local b=$TEST_TMP/$1 cache=${NSBOX_TEST_WORK}/debian
  mkdir -p "$NSBOX_TEST_WORK"
  (
    flock 9
    "$SRC_DIR/scripts/mkdebian.sh" "$cache" >&2 2>"$TEST_TMP/mkdebian.err"
  ) 9>"$NSBOX_TEST_WORK/.debian.lock" || skip "no Debian root filesystem: $(tail -1 "$TEST_TMP/mkdebian.err")"
  mkdir -p "$b"
  cp -a "$cache" "$b/rootfs"
  "$NSBOX" spec --system --network none --bundle "$b" || fail "spec --system failed"
  B=$b
}

# wait_system ID STATES: up to 120 s for `nsbox state` to report one of the systemState
# values (a regex); prints the last one.
wait_system() {
  local id=$1 want=$2 s="" _
  for _ in $(seq 600); do
    s=$(nsbox state "$id" | jq -r '.systemState // ""')
    [[ $s =~ ^($want)$ ]] && { echo "$s"; return 0; }
    sleep 0.2
  done
  fail "systemd in $id did not reach [$want] in 120 s (last: [$s]); console: $(nsbox console --log "$id" | tail -20)"
}

test_systemd_boots_logs_in_on_its_console_and_stops_cleanly() {
  local b id pid leaf state out rc
  debian_bundle debian
  b=$B
  edit_config "$b" '.linux.resources.memory = {"limit": 536870912}'
  id=$(cid debian)
  nsbox run -d --bundle "$b" "$id" </dev/null 2>"$TEST_TMP/run.err" || fail "run -d of a spec --system bundle: $(cat "$TEST_TMP/run.err")"
  state=$(wait_system "$id" 'running|degraded')
  [ "$state" = running ] || echo "note: systemd is $state: $(nsbox exec "$id" systemctl --failed --no-legend)" >&2
  assert_contains "$(nsbox list)" "$state" "list's SYSTEM column"
  # Its console: the login prompt in the log; root logs in (no password in this image).
  wait_for "the login prompt" sh -c "\"$NSBOX\" --root \"$TEST_ROOT\" console --log $id | grep -q 'login:'"
  printf 'root\n' | timeout 30 "$NSBOX" --root "$TEST_ROOT" console "$id" >/dev/null
  wait_for "the shell prompt" sh -c "\"$NSBOX\" --root \"$TEST_ROOT\" console --log $id | grep -q 'root@'"
  out=$(printf 'echo sum-$((6*7))\n' | timeout 30 "$NSBOX" --root "$TEST_ROOT" console "$id")
  assert_contains "$(tr -d '\r' <<<"$out")" "sum-42" "a command typed on the console"
  # systemd's own cgroups are below the container's home; the limit is out of its reach.
  pid=$(nsbox state "$id" | jq -r .pid)
  assert_contains "$(cg_dir "$pid" memory)" "/container/init.scope" "systemd's cgroup, seen from the host"
  leaf=$(cg_dir "$pid" memory)
  leaf=${leaf%/container/init.scope}
  nsbox exec "$id" sh -c 'f=/sys/fs/cgroup/memory/memory.limit_in_bytes; [ -e $f ] || f=/sys/fs/cgroup/memory.max; echo 4294967296 > $f' 2>/dev/null || true
  assert_eq "$(cat "$(mem_limit_file "$leaf")")" 536870912 "the memory limit after a write from inside"
  # Its own boot: the journal's boot id is the container's.
  assert_ne "$(nsbox exec "$id" cat /proc/sys/kernel/random/boot_id)" "$(cat /proc/sys/kernel/random/boot_id)" "boot id"
  local boot
  boot=$(nsbox exec "$id" cat /proc/sys/kernel/random/boot_id | tr -d -)
  assert_eq "$(nsbox exec "$id" journalctl --no-pager -o export -n 1 | sed -n 's/^_BOOT_ID=//p')" "$boot" "the journal's boot id"
  rc=0
  nsbox stop --time 60 "$id" || rc=$?
  assert_eq "$rc" 0 "stop (SIGRTMIN+3 from spec --system)"
  assert_eq "$(status_of "$id")" stopped
  nsbox delete "$id"
  [ ! -e "$leaf" ] || fail "cgroups left: $(find "$leaf" -type d | head -5)"
  assert_no_leftovers "$id"
  assert_no_host_mounts
}

test_exec_into_a_container_whose_init_hands_v2_controllers_down() {
  local b id pid v2 out
  v2=$(cg_v2_mount)
  [ -n "$v2" ] || skip "no cgroup v2 tree on this host"
  # What systemd does on cgroup v2: its init moves itself into init.scope and enables the
  # controllers in its root's cgroup.subtree_control, which then takes no process. An exec
  # goes to the init's cgroup instead.
  b=$(sys_bundle handdown 'r=/sys/fs/cgroup; [ -d $r/unified ] && r=$r/unified
    mkdir $r/init.scope && echo $$ > $r/init.scope/cgroup.procs
    for c in $(cat $r/cgroup.controllers); do echo "+$c" > $r/cgroup.subtree_control; done
    cat $r/cgroup.subtree_control > /tmp/handed; echo ready > /tmp/ready; sleep 1000')
  id=$(cid handdown)
  nsbox run -d --bundle "$b" "$id" </dev/null
  pid=$(nsbox state "$id" | jq -r .pid)
  wait_for "the container to hand its controllers down" test -e "/proc/$pid/root/tmp/ready"
  [ -s "/proc/$pid/root/tmp/handed" ] || skip "no controller to hand down in the container's v2 cgroup"
  out=$(nsbox exec "$id" cat /proc/self/cgroup 2>&1) || fail "exec into the container: $out"
  assert_contains "$out" "0::/init.scope" "the exec's v2 cgroup, seen from inside"
  nsbox delete --force "$id"
  assert_no_leftovers "$id"
}
