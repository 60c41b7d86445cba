# containerd as the engine: a containerd of the test's own (config, socket, root and state in
# $TEST_TMP, no CRI plugin) runs containers through its runc v2 shim with nsbox as the
# shim's runtime binary (the runc option BinaryName, which `ctr run --runc-binary` sets).
# The image is the busybox rootfs made into an OCI image by umoci and imported with
# `ctr images import`: no registry is needed. The shim calls the runtime as
#   nsbox --root R/NS --log BUNDLE/log.json --log-format json create|start|exec|ps|... ID
# and the calls, with their exit statuses, are traced in $TEST_TMP/nsbox-calls.log and shown
# when a test fails. containerd, every shim and every container go whatever the outcome.
#
# The cgroup driver follows the tests': cgroupfs (containerd's cgroup /NS/ID), or, with
# NSBOX_TEST_CGROUP_DRIVER=systemd (the systemd guest of tests/vm), the runc shim's
# SystemdCgroup option (`ctr run --runc-systemd-cgroup`, what CRI's SystemdCgroup = true
# sets): the shim passes --systemd-cgroup to nsbox with every call, and the task's cgroup
# path system.slice:nsbox-ctr:ID (ctr --cgroup) names the transient unit
# nsbox-ctr-ID.scope that nsbox has systemd start. The tests then check the unit, that exec
# joins it, and that no unit is left after delete.

CTRD_PID=
CTRD_IMAGE=nsbox.test/busybox:latest

# ctrd_systemd: the tasks run with the systemd cgroup driver.
ctrd_systemd() { [ "${NSBOX_TEST_CGROUP_DRIVER:-cgroupfs}" = systemd ]; }

# ctrd_cg ID: CG gets `ctr run`'s options for task ID's cgroup: none (containerd's /NS/ID),
# or with systemd the shim's SystemdCgroup and the unit nsbox-ctr-ID.scope in system.slice.
ctrd_cg() {
  CG=()
  if ctrd_systemd; then CG=(--runc-systemd-cgroup --cgroup "system.slice:nsbox-ctr:$1"); fi
}

# ctrd_units: (systemd) the units of this test's tasks that systemd knows, active or not.
ctrd_units() {
  ctrd_systemd || return 0
  systemctl list-units --all --plain --no-legend "nsbox-ctr-t$$-*.scope" 2>/dev/null | awk '{ print $1 }'
}

# ctrd_assert_scope ID PID: (systemd) task ID runs in the transient unit nsbox-ctr-ID.scope
# of system.slice: systemctl shows it active with PID (the task's init), whose cgroup is the
# unit's.
ctrd_assert_scope() {
  local unit=nsbox-ctr-$1.scope pid=$2 st
  st=$(systemctl status --no-pager --lines=0 "$unit" 2>&1) || fail "systemctl status $unit failed: [$st] $(calls)"
  assert_contains "$st" "Active: active (running)" "systemctl status $unit"
  grep -qE "[^0-9]$pid " <<<"$st" || fail "systemctl status $unit does not list the task's init $pid: [$st]"
  assert_eq "$(systemctl show -P Slice "$unit")" system.slice "slice of $unit"
  assert_eq "$(systemctl show -P ControlGroup "$unit")" "/system.slice/$unit" "control group of $unit"
  assert_eq "$(awk -F: '$1 == "0" { print $3 }' "/proc/$pid/cgroup")" "/system.slice/$unit" "cgroup of the init of $1"
  echo "task $1: $unit active, init $pid in /system.slice/$unit"
}

# ctrd_need: skip unless containerd, ctr, the runc v2 shim and umoci are installed.
ctrd_need() {
  local c
  for c in containerd ctr containerd-shim-runc-v2 umoci; do
    command -v "$c" >/dev/null || skip "$c is not installed (apt-get install containerd umoci)"
  done
}

# ctrd_image_archive: the busybox rootfs as an OCI image archive (tag latest), built once
# with umoci and shared by the tests. Prints its path.
ctrd_image_archive() {
  local dir=$NSBOX_TEST_WORK/containerd-image
  local tar=$dir/busybox-oci.tar rootfs
  rootfs=$(shared_rootfs)
  mkdir -p "$dir"
  (
    flock 9
    [ -s "$tar" ] && exit 0
    rm -rf "$dir/layout" "$tar.tmp"
    umoci init --layout "$dir/layout" &&
      umoci new --image "$dir/layout:latest" &&
      umoci insert --image "$dir/layout:latest" "$rootfs" / &&
      umoci config --image "$dir/layout:latest" --config.cmd sh &&
      tar -C "$dir/layout" -cf "$tar.tmp" . &&
      mv "$tar.tmp" "$tar"
  ) 9>"$dir/.lock" >&2 || fail "could not build the OCI image with umoci in $dir"
  echo "$tar"
}

# ctrd_start: start containerd on $SOCK with root and state in $TEST_TMP/containerd, import
# the image into namespace $NS and make the traced runtime binary $TRACED (a shell script
# that logs each call to $CALLS and runs $NSBOX with the same arguments and descriptors).
# The shim's runtime root for nsbox is $RUNC_ROOT/$NS; container cgroups are /$NS/ID.
ctrd_start() {
  ctrd_need
  if ctrd_systemd; then
    [ -d /run/systemd/system ] || skip "NSBOX_TEST_CGROUP_DRIVER=systemd, but systemd is not pid 1 here"
    command -v systemctl >/dev/null || skip "systemctl is not installed"
  fi
  local archive
  archive=$(ctrd_image_archive)
  CTRD=$TEST_TMP/containerd
  # containerd 1.6 keeps shim sockets in /run/containerd whatever its config says: if the
  # test makes that directory, the test removes it.
  [ -e /run/containerd ] && CTRD_RUN_EXISTED=1 || CTRD_RUN_EXISTED=0
  SOCK=$CTRD/containerd.sock
  NS=nsbox-t$$
  RUNC_ROOT=$TEST_TMP/runc
  CALLS=$TEST_TMP/nsbox-calls.log
  FIFO=$TEST_TMP/fifo
  TRACED=$TEST_TMP/nsbox-traced
  mkdir -p "$CTRD" "$RUNC_ROOT" "$FIFO"
  : >"$CALLS"
  cat >"$TRACED" <<EOF
#!/bin/sh
# The shim's runtime: nsbox, with the call and its exit status logged (and, when it
# fails, the end of the --log file that the shim reads the error from).
log=
prev=
printf '%s' nsbox >>'$CALLS'
for a in "\$@"; do
  printf ' %s' "\$a" >>'$CALLS'
  [ "\$prev" = --log ] && log=\$a
  prev=\$a
done
echo >>'$CALLS'
'$NSBOX' "\$@"
rc=\$?
echo "  -> exit \$rc" >>'$CALLS'
if [ "\$rc" -ne 0 ] && [ -n "\$log" ] && [ -f "\$log" ]; then
  tail -n 5 "\$log" | sed 's/^/  log: /' >>'$CALLS'
fi
exit \$rc
EOF
  chmod +x "$TRACED"
  cat >"$CTRD/config.toml" <<EOF
version = 2
root = "$CTRD/root"
state = "$CTRD/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[debug]
  address = "$CTRD/debug.sock"
  level = "debug"
[metrics]
  address = ""
EOF
  at_exit ctrd_stop
  containerd --config "$CTRD/config.toml" >"$CTRD/containerd.log" 2>&1 &
  CTRD_PID=$!
  local _
  for _ in $(seq 200); do
    ctr -a "$SOCK" version >/dev/null 2>&1 && break
    kill -0 "$CTRD_PID" 2>/dev/null || fail "containerd exited at start: $(tail -20 "$CTRD/containerd.log")"
    sleep 0.05
  done
  ctr -a "$SOCK" version >/dev/null 2>&1 || fail "containerd did not answer on $SOCK: $(tail -20 "$CTRD/containerd.log")"
  ctr_ok images import --base-name nsbox.test/busybox "$archive"
  ctr_ok images ls -q
  assert_contains "$OUT" "$CTRD_IMAGE" "images after ctr images import"
}

# ctrd_stop: what a test leaves behind goes: its tasks are killed and deleted through
# containerd, containerd is stopped, any shim still running on $SOCK is killed, any container
# left in nsbox's state root is force-deleted, the /$NS cgroups and the mounts are removed.
ctrd_stop() {
  [ -n "$CTRD_PID" ] || return 0
  local id p
  # Called from a test body too: never fails, never waits more than 10 s a step.
  local c="timeout 10 ctr -a $SOCK -n $NS"
  if kill -0 "$CTRD_PID" 2>/dev/null; then
    # Paused tasks are resumed first: a frozen process does not die of SIGKILL.
    for id in $($c task ls 2>/dev/null | awk '$3 == "PAUSED" { print $1 }'); do
      $c task resume "$id" >/dev/null 2>&1 || true
    done
    for id in $($c task ls -q 2>/dev/null); do
      $c task kill -a -s SIGKILL "$id" >/dev/null 2>&1 || true
    done
    for id in $($c task ls -q 2>/dev/null); do
      $c task delete -f "$id" >/dev/null 2>&1 || true
    done
    for id in $($c containers ls -q 2>/dev/null); do
      $c containers rm "$id" >/dev/null 2>&1 || true
    done
    kill -TERM "$CTRD_PID" 2>/dev/null || true
    for p in $(seq 100); do
      kill -0 "$CTRD_PID" 2>/dev/null || break
      sleep 0.05
    done
  fi
  kill -KILL "$CTRD_PID" 2>/dev/null || true
  wait "$CTRD_PID" 2>/dev/null || true
  CTRD_PID=
  for p in $(shim_pids); do kill -KILL "$p" 2>/dev/null || true; done
  # A killed shim leaves its socket: /run/containerd/s/sha256(ADDRESS/NS/ID).
  for id in "$CTRD/state/io.containerd.runtime.v2.task/$NS"/*; do
    [ -d "$id" ] || continue
    p=$(printf '%s' "$SOCK/$NS/${id##*/}" | sha256sum | cut -d' ' -f1)
    rm -f "/run/containerd/s/$p"
  done
  for id in $("$NSBOX" --root "$RUNC_ROOT/$NS" list -q 2>/dev/null); do
    "$NSBOX" --root "$RUNC_ROOT/$NS" resume "$id" >/dev/null 2>&1 || true
    "$NSBOX" --root "$RUNC_ROOT/$NS" delete --force "$id" >/dev/null 2>&1 || true
  done
  grep -F "$CTRD" /proc/self/mountinfo 2>/dev/null | awk '{print $5}' | sort -r |
    xargs -r -n1 umount -l 2>/dev/null || true
  find /sys/fs/cgroup -maxdepth 3 -type d -path "*/$NS*" 2>/dev/null | sort -r |
    xargs -r rmdir 2>/dev/null || true
  # systemd: the units nsbox's delete left (CTRD_UNITS_LEFT, for the tests that check) go.
  CTRD_UNITS_LEFT=$(ctrd_units)
  if [ -n "$CTRD_UNITS_LEFT" ]; then
    # shellcheck disable=SC2086 # unit names
    { systemctl stop $CTRD_UNITS_LEFT; systemctl reset-failed $CTRD_UNITS_LEFT; } >/dev/null 2>&1 || true
  fi
  if [ "${CTRD_RUN_EXISTED:-1}" = 0 ]; then
    rmdir /run/containerd/s /run/containerd/fifo /run/containerd/runc /run/containerd 2>/dev/null || true
  fi
  return 0
}

# ctrc ARGS...: ctr on this test's containerd and namespace.
ctrc() { ctr -a "$SOCK" -n "$NS" "$@"; }

# calls: the traced nsbox calls so far (for failure messages).
calls() { echo "nsbox calls: [$(tail -n 40 "$CALLS" 2>/dev/null)]"; }

# ctr_rc ARGS...: run ctrc ARGS (at most 60 s); stdout in OUT, stderr in ERR, status in RC.
# `ctr run` and `ctr task exec` keep their I/O FIFOs in $FIFO (else /run/containerd/fifo).
ctr_rc() {
  local args=("$@")
  case "$1 ${2:-}" in
    "run "*) args=(run --fifo-dir "$FIFO" "${@:2}") ;;
    "task exec") args=(task exec --fifo-dir "$FIFO" "${@:3}") ;;
  esac
  RC=0
  OUT=$(timeout 60 ctr -a "$SOCK" -n "$NS" "${args[@]}" 2>"$TEST_TMP/ctr.err") || RC=$?
  ERR=$(cat "$TEST_TMP/ctr.err")
}

# ctr_ok ARGS...: ctr_rc, failing with everything known when ctr does not exit 0.
ctr_ok() {
  ctr_rc "$@"
  [ "$RC" -eq 0 ] || fail "ctr $* exited $RC: stderr [$ERR] stdout [$OUT] $(calls)"
}

# ctr_expect_rc WANT ARGS...: ctr_rc, failing unless ctr exits WANT.
ctr_expect_rc() {
  local want=$1
  shift
  ctr_rc "$@"
  [ "$RC" -eq "$want" ] || fail "ctr $* exited $RC, expected $want: stderr [$ERR] stdout [$OUT] $(calls)"
}

# run_detached ID CMD...: `ctr run -d` of the image with the traced nsbox; PID gets the
# container's init as the host sees it.
run_detached() {
  local id=$1
  shift
  ctrd_cg "$id"
  ctr_ok run -d --runc-binary "$TRACED" --runc-root "$RUNC_ROOT" "${CG[@]}" "$CTRD_IMAGE" "$id" "$@"
  task_status "$id"
  assert_eq "$STATUS" RUNNING "task status after ctr run -d $id"
  PID=$TASK_PID
  if ctrd_systemd; then ctrd_assert_scope "$id" "$PID"; fi
}

# task_status ID: STATUS and TASK_PID of ID from `ctr task ls` (empty when it has no task).
task_status() {
  ctr_ok task ls
  STATUS=$(printf '%s\n' "$OUT" | awk -v id="$1" '$1 == id { print $3 }')
  TASK_PID=$(printf '%s\n' "$OUT" | awk -v id="$1" '$1 == id { print $2 }')
}

# task_is ID STATUS: for wait_for.
task_is() {
  [ "$(ctr -a "$SOCK" -n "$NS" task ls | awk -v id="$1" '$1 == id { print $3 }')" = "$2" ]
}

# shim_pids [ID]: running runc v2 shims serving this containerd (for container ID).
shim_pids() {
  if [ -n "${1:-}" ]; then
    pgrep -f -- "-id $1 -address $SOCK( |\$)" || true
  else
    pgrep -f -- "-address $SOCK( |\$)" || true
  fi
}
no_shim() { [ -z "$(shim_pids "$1")" ]; }

# nsbox_state ID: the state nsbox keeps for ID in the shim's runtime root.
nsbox_state() { "$NSBOX" --root "$RUNC_ROOT/$NS" state "$1"; }

# cgroup_dirs ID: the cgroup directories of container ID (cgroupsPath /$NS/ID; with
# systemd, its unit's).
cgroup_dirs() {
  if ctrd_systemd; then
    find /sys/fs/cgroup/system.slice -maxdepth 1 -type d -name "nsbox-ctr-$1.scope" 2>/dev/null || true
  else
    find /sys/fs/cgroup -maxdepth 3 -type d -path "*/$NS/$1" 2>/dev/null || true
  fi
}

# assert_gone ID: containerd and nsbox know nothing of ID any more; no shim, cgroup or
# rootfs mount of it is left.
assert_gone() {
  local id=$1
  ctr_ok containers ls -q
  assert_not_contains " $OUT " "$id" "containers after removing $id"
  ctr_ok task ls -q
  assert_not_contains " $OUT " "$id" "tasks after removing $id"
  [ ! -e "$RUNC_ROOT/$NS/$id" ] || fail "nsbox state $RUNC_ROOT/$NS/$id left behind: $(ls -la "$RUNC_ROOT/$NS/$id") $(calls)"
  wait_for "the shim of $id to exit" no_shim "$id"
  [ -z "$(cgroup_dirs "$id")" ] || fail "cgroups of $id left behind: $(cgroup_dirs "$id") $(calls)"
  if ctrd_systemd; then
    local u
    u=$(systemctl list-units --all --plain --no-legend "nsbox-ctr-$id.scope" 2>/dev/null)
    [ -z "$u" ] || fail "the unit of $id is left: [$u] $(calls)"
  fi
  if grep -F "/$NS/$id/rootfs" /proc/self/mountinfo >/dev/null; then
    fail "rootfs of $id still mounted $(calls)"
  fi
}

test_run_rm_true_and_exit_status() {
  ctrd_start
  # The shim runs $NSBOX itself here (no tracing wrapper).
  ctrd_cg "$(cid true)"
  ctr_expect_rc 0 run --rm --runc-binary "$NSBOX" --runc-root "$RUNC_ROOT" "${CG[@]}" "$CTRD_IMAGE" "$(cid true)" true
  assert_gone "$(cid true)"
  ctrd_cg "$(cid exit3)"
  ctr_expect_rc 3 run --rm --runc-binary "$NSBOX" --runc-root "$RUNC_ROOT" "${CG[@]}" "$CTRD_IMAGE" "$(cid exit3)" \
    sh -c 'echo "pid=$$ out"; echo err >&2; cat /proc/self/cgroup; exit 3'
  assert_eq "$(head -1 <<<"$OUT")" "pid=1 out" "stdout of the container (its own pid namespace)"
  assert_contains "$ERR" "err" "stderr of the container"
  if ctrd_systemd; then
    # ctr's spec shares the host's cgroup namespace: the task sees its unit.
    assert_eq "$(tail -1 <<<"$OUT")" "0::/system.slice/nsbox-ctr-$(cid exit3).scope" "cgroup of the task"
  fi
  assert_gone "$(cid exit3)"
  # The same through the trace: the shim called nsbox create, start and delete.
  ctrd_cg "$(cid traced)"
  ctr_expect_rc 0 run --rm --runc-binary "$TRACED" --runc-root "$RUNC_ROOT" "${CG[@]}" "$CTRD_IMAGE" "$(cid traced)" true
  local log
  log=$(cat "$CALLS")
  assert_contains "$log" "--root $RUNC_ROOT/$NS --log " "global options the shim gives nsbox"
  if ctrd_systemd; then
    assert_contains "$log" "--log-format json --systemd-cgroup create --bundle " "nsbox create by the shim, with the systemd driver"
  else
    assert_contains "$log" "--log-format json create --bundle " "nsbox create by the shim"
  fi
  assert_contains "$log" "start $(cid traced)" "nsbox start by the shim"
  assert_contains "$log" "delete $(cid traced)" "nsbox delete by the shim"
  if grep -q -- '-> exit [1-9]' "$CALLS"; then fail "an nsbox call failed: $(calls)"; fi
  assert_gone "$(cid traced)"
}

test_detached_task_exec_and_ps() {
  ctrd_start
  local id
  id=$(cid exec)
  run_detached "$id" sleep 1000
  [ "$(tr '\0' ' ' <"/proc/$PID/cmdline")" = "sleep 1000 " ] || fail "host pid $PID of the task is not the sleep: $(tr '\0' ' ' <"/proc/$PID/cmdline")"
  # The container is nsbox's: its state in the shim's runtime root names the same process.
  local st
  st=$(nsbox_state "$id") || fail "nsbox state $id in $RUNC_ROOT/$NS failed $(calls)"
  assert_eq "$(jq -r .status <<<"$st")" running "nsbox state status"
  assert_eq "$(jq -r .pid <<<"$st")" "$PID" "nsbox state pid"
  # exec: output, its own process in the container's pid namespace, exit status.
  ctr_ok task exec --exec-id e1 "$id" sh -c 'echo exec-out; echo "pid1=$(tr "\0" " " </proc/1/cmdline)"'
  assert_eq "$OUT" $'exec-out\npid1=sleep 1000 ' "output of ctr task exec"
  ctr_ok task exec --exec-id e-user --user 65534 "$id" id -u
  assert_eq "$OUT" 65534 "ctr task exec --user"
  ctr_expect_rc 5 task exec --exec-id e2 "$id" sh -c 'exit 5'
  # A detached exec shows in ctr task ps next to the init.
  ctr_ok task exec -d --exec-id e3 "$id" sleep 777
  local epid="" p
  for p in $(seq 100); do
    epid=$(pgrep -f -x 'sleep 777' | while read -r p; do
      [ "$(readlink "/proc/$p/ns/pid")" = "$(readlink "/proc/$PID/ns/pid")" ] && echo "$p"
    done | head -1)
    [ -n "$epid" ] && break
    sleep 0.05
  done
  [ -n "$epid" ] || fail "the detached exec (sleep 777) is not running in the container $(calls)"
  if ctrd_systemd; then
    assert_eq "$(awk -F: '$1 == "0" { print $3 }' "/proc/$epid/cgroup")" "/system.slice/nsbox-ctr-$id.scope" "cgroup of the detached exec"
  fi
  ctr_ok task ps "$id"
  local pids
  pids=$(printf '%s\n' "$OUT" | awk 'NR > 1 { print $1 }' | sort -n | tr '\n' ' ')
  assert_eq "$pids" "$(printf '%s\n' "$PID" "$epid" | sort -n | tr '\n' ' ')" "pids of ctr task ps [$OUT] $(calls)"
  ctr_ok task kill --exec-id e3 -s SIGKILL "$id"
  wait_for "the detached exec to die" sh -c "! kill -0 $epid 2>/dev/null || grep -q '^State:.*Z' /proc/$epid/status"
  task_status "$id"
  assert_eq "$STATUS" RUNNING "the task after killing an exec"
  ctr_ok task kill -s SIGKILL "$id"
  wait_for "the task to stop" task_is "$id" STOPPED
  ctr_ok task delete "$id"
  ctr_ok containers rm "$id"
  assert_gone "$id"
}

test_pause_and_resume() {
  ctrd_start
  local id
  id=$(cid pause)
  run_detached "$id" sleep 1000
  # The freezer of the container's cgroup (v1 freezer.state, or v2 cgroup.freeze).
  local rel freezer="" p
  rel=$(awk -F: '$2 == "freezer" { print $3 }' "/proc/$PID/cgroup")
  if [ -n "$rel" ] && [ -e "/sys/fs/cgroup/freezer$rel/freezer.state" ]; then
    freezer=/sys/fs/cgroup/freezer$rel/freezer.state
  else
    rel=$(awk -F: '$1 == "0" { print $3 }' "/proc/$PID/cgroup")
    for p in /sys/fs/cgroup/unified$rel/cgroup.freeze /sys/fs/cgroup$rel/cgroup.freeze; do
      [ -e "$p" ] && freezer=$p && break
    done
  fi
  [ -n "$freezer" ] || fail "no freezer for the task's cgroup: $(cat "/proc/$PID/cgroup")"
  ctr_ok task pause "$id"
  task_status "$id"
  assert_eq "$STATUS" PAUSED "ctr task ls after pause $(calls)"
  assert_eq "$(nsbox_state "$id" | jq -r .status)" paused "nsbox state after pause"
  case "$(cat "$freezer")" in
    FROZEN | 1) ;;
    *) fail "$freezer is [$(cat "$freezer")] after ctr task pause" ;;
  esac
  ctr_ok task resume "$id"
  task_status "$id"
  assert_eq "$STATUS" RUNNING "ctr task ls after resume $(calls)"
  assert_eq "$(nsbox_state "$id" | jq -r .status)" running "nsbox state after resume"
  case "$(cat "$freezer")" in
    THAWED | 0) ;;
    *) fail "$freezer is [$(cat "$freezer")] after ctr task resume" ;;
  esac
  ctr_ok task exec --exec-id after "$id" echo alive
  assert_eq "$OUT" alive "exec after resume"
  ctr_ok task kill -s SIGKILL "$id"
  wait_for "the task to stop" task_is "$id" STOPPED
  ctr_ok task delete "$id"
  ctr_ok containers rm "$id"
  assert_gone "$id"
}

test_sigkill_stops_a_paused_task() {
  ctrd_start
  # As with runc: SIGKILL to a paused (frozen) task kills it, for `ctr task kill` (the init)
  # and `ctr task kill -a` (every process), and `ctr task delete -f` of a paused task works.
  local id pid how
  for how in init all delete; do
    id=$(cid "paused-$how")
    run_detached "$id" sleep 1000
    pid=$PID
    ctr_ok task pause "$id"
    task_status "$id"
    assert_eq "$STATUS" PAUSED "ctr task ls after pause"
    case $how in
      init) ctr_ok task kill -s SIGKILL "$id" ;;
      all) ctr_ok task kill -a -s SIGKILL "$id" ;;
      delete) ctr_rc task delete -f "$id" ;;
    esac
    local _
    for _ in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    if kill -0 "$pid" 2>/dev/null; then
      task_status "$id"
      fail "SIGKILL ($how) to paused task $id: its init $pid is still there (state $(awk '/^State/ { print $2 }' "/proc/$pid/status"), ctr task ls: [$STATUS]) $(calls)"
    fi
    if [ "$how" = delete ]; then
      [ "$RC" -eq 0 ] || fail "ctr task delete -f of paused $id exited $RC: [$ERR] $(calls)"
    else
      wait_for "the task to stop" task_is "$id" STOPPED
      ctr_ok task delete "$id"
    fi
    ctr_ok containers rm "$id"
    assert_gone "$id"
  done
}

test_kill_term_and_sigkill_then_delete() {
  ctrd_start
  # SIGTERM (ctr's default) reaches an init that traps it: it exits 7.
  local id
  id=$(cid term)
  run_detached "$id" sh -c 'trap "exit 7" TERM; echo ready >/tmp/ready; while :; do sleep 0.1; done'
  wait_for "the trap to be set" ctr -a "$SOCK" -n "$NS" task exec --fifo-dir "$FIFO" --exec-id r "$id" test -e /tmp/ready
  local pid=$PID
  ctr_ok task kill "$id"
  wait_for "the task to stop after SIGTERM" task_is "$id" STOPPED
  wait_for "the init to be gone" sh -c "! kill -0 $pid 2>/dev/null"
  ctr_ok task delete "$id"
  assert_contains "$ERR" "exit code 7" "exit status reported by ctr task delete"
  ctr_ok containers rm "$id"
  assert_gone "$id"
  # SIGKILL: the init and an exec'd process in the container all go.
  id=$(cid kill)
  run_detached "$id" sleep 1000
  pid=$PID
  ctr_ok task kill -s SIGKILL "$id"
  wait_for "the task to stop after SIGKILL" task_is "$id" STOPPED
  wait_for "the init to be gone" sh -c "! kill -0 $pid 2>/dev/null"
  ctr_ok task delete "$id"
  assert_contains "$ERR" "exit code 137" "exit status reported by ctr task delete"
  ctr_ok containers rm "$id"
  assert_gone "$id"
}

test_containers_of_one_namespace_are_deleted_independently() {
  ctrd_start
  # containerd puts every container of namespace NS in cgroup /NS/ID: deleting one must not
  # touch the /NS cgroup that the others still use (nor fail on it).
  local a b pb
  a=$(cid one)
  b=$(cid two)
  run_detached "$a" sleep 1000
  run_detached "$b" sleep 1000
  pb=$PID
  ctr_ok task kill -s SIGKILL "$a"
  wait_for "$a to stop" task_is "$a" STOPPED
  local t0 t1
  t0=$(date +%s%N)
  ctr_rc task delete "$a"
  t1=$(date +%s%N)
  [ "$RC" -eq 0 ] || fail "ctr task delete $a (while $b runs) exited $RC after $(((t1 - t0) / 1000000)) ms: [$ERR] $(calls)"
  ctr_ok containers rm "$a"
  assert_gone "$a"
  task_status "$b"
  assert_eq "$STATUS" RUNNING "the other container after deleting $a"
  kill -0 "$pb" 2>/dev/null || fail "the init of $b is gone"
  [ -n "$(cgroup_dirs "$b")" ] || fail "the cgroups of $b are gone"
  ctr_ok task exec --exec-id still "$b" echo still-here
  assert_eq "$OUT" still-here "exec in the other container"
  ctr_ok task kill -s SIGKILL "$b"
  wait_for "$b to stop" task_is "$b" STOPPED
  ctr_ok task delete "$b"
  ctr_ok containers rm "$b"
  assert_gone "$b"
}

test_default_network_namespace_and_net_host() {
  ctrd_start
  # ctr's default spec gives the container a new network namespace with only lo.
  ctrd_cg "$(cid net)"
  ctr_ok run --rm --runc-binary "$TRACED" --runc-root "$RUNC_ROOT" "${CG[@]}" "$CTRD_IMAGE" "$(cid net)" \
    sh -c 'ls /sys/class/net | tr "\n" " "; echo; readlink /proc/self/ns/net'
  local host_ns host_ifs
  host_ns=$(readlink /proc/self/ns/net)
  host_ifs=$(ls /sys/class/net | tr '\n' ' ')
  assert_eq "$(head -1 <<<"$OUT")" "lo " "interfaces of the container"
  assert_ne "$(tail -1 <<<"$OUT")" "$host_ns" "network namespace of the container"
  assert_gone "$(cid net)"
  # --net-host: the host's namespace and interfaces.
  ctrd_cg "$(cid host)"
  ctr_ok run --rm --net-host --runc-binary "$TRACED" --runc-root "$RUNC_ROOT" "${CG[@]}" "$CTRD_IMAGE" "$(cid host)" \
    sh -c 'ls /sys/class/net | tr "\n" " "; echo; readlink /proc/self/ns/net'
  assert_eq "$(head -1 <<<"$OUT")" "$host_ifs" "interfaces with --net-host"
  assert_eq "$(tail -1 <<<"$OUT")" "$host_ns" "network namespace with --net-host"
  assert_gone "$(cid host)"
}

test_run_with_terminal() {
  command -v script >/dev/null || skip "script (util-linux) is not installed"
  ctrd_start
  # ctr run -t under script(1)'s pty: the shim gets the console through --console-socket.
  local cmd rc=0 out
  ctrd_cg "$(cid tty)"
  cmd=$(printf '%q ' ctr -a "$SOCK" -n "$NS" run -t --rm --fifo-dir "$FIFO" --runc-binary "$TRACED" --runc-root "$RUNC_ROOT" \
    "${CG[@]}" "$CTRD_IMAGE" "$(cid tty)" sh -c '[ -t 0 ] && [ -t 1 ] && echo "tty=$(tty)"; exit 4')
  out=$(timeout 60 script -qec "$cmd" /dev/null </dev/null 2>&1) || rc=$?
  out=$(printf '%s' "$out" | tr -d '\r\0')
  assert_eq "$rc" 4 "exit status of ctr run -t (output [$out]) $(calls)"
  assert_contains "$out" "tty=/dev/pts/0" "terminal of the container $(calls)"
  assert_contains "$(cat "$CALLS")" "--console-socket " "nsbox create with a console socket"
  assert_gone "$(cid tty)"
}

test_stopping_containerd_leaves_no_shim_container_or_cgroup() {
  ctrd_start
  local a b pa pb
  a=$(cid left1)
  b=$(cid left2)
  run_detached "$a" sleep 1000
  pa=$PID
  run_detached "$b" sleep 1000
  pb=$PID
  ctr_ok task pause "$b"
  [ -n "$(shim_pids "$a")" ] || fail "no shim found for $a (pattern -id $a -address $SOCK)"
  [ -n "$(cgroup_dirs "$a")" ] || fail "no cgroup found for $a"
  # What at_exit does when a test fails half-way: everything goes.
  ctrd_stop
  [ -z "$(shim_pids)" ] || fail "shims left: $(shim_pids | xargs -r ps -o pid,args -p)"
  if kill -0 "$pa" 2>/dev/null || kill -0 "$pb" 2>/dev/null; then fail "container processes left"; fi
  if pgrep -f -- "--config $CTRD/config.toml" >/dev/null; then fail "containerd still running"; fi
  [ -z "$("$NSBOX" --root "$RUNC_ROOT/$NS" list -q 2>/dev/null)" ] || fail "containers left in nsbox's root"
  local cg
  cg=$(find /sys/fs/cgroup -maxdepth 3 -type d -path "*/$NS*" 2>/dev/null)
  [ -z "$cg" ] || fail "cgroups left: $cg"
  [ -z "$CTRD_UNITS_LEFT" ] || fail "units left (nsbox delete --force did not stop them): $CTRD_UNITS_LEFT"
  [ -z "$(cgroup_dirs "$a")$(cgroup_dirs "$b")" ] || fail "cgroups left: $(cgroup_dirs "$a") $(cgroup_dirs "$b")"
  if grep -F "$CTRD" /proc/self/mountinfo >/dev/null; then fail "mounts left: $(grep -F "$CTRD" /proc/self/mountinfo)"; fi
  local id h
  for id in "$a" "$b"; do
    h=$(printf '%s' "$SOCK/$NS/$id" | sha256sum | cut -d' ' -f1)
    [ ! -e "/run/containerd/s/$h" ] || fail "the shim socket of $id is left: /run/containerd/s/$h"
  done
}

test_cleanup_after_containerd_and_shims_are_killed() {
  ctrd_start
  local a pa
  a=$(cid orphan)
  run_detached "$a" sleep 1000
  pa=$PID
  # containerd dies: its shim and container go on (as designed); then the shim dies too.
  kill -KILL "$CTRD_PID"
  wait "$CTRD_PID" 2>/dev/null || true
  [ -n "$(shim_pids "$a")" ] || fail "the shim of $a did not outlive containerd"
  kill -0 "$pa" 2>/dev/null || fail "the container $a did not outlive containerd"
  local p
  for p in $(shim_pids "$a"); do kill -KILL "$p"; done
  kill -0 "$pa" 2>/dev/null || fail "the container $a did not outlive its shim"
  # The container is still nsbox's, in the shim's runtime root.
  assert_eq "$(nsbox_state "$a" | jq -r .status)" running "nsbox state of the orphan"
  local h
  h=$(printf '%s' "$SOCK/$NS/$a" | sha256sum | cut -d' ' -f1)
  ctrd_stop
  wait_for "the orphaned container to die" sh -c "! kill -0 $pa 2>/dev/null"
  [ -z "$("$NSBOX" --root "$RUNC_ROOT/$NS" list -q 2>/dev/null)" ] || fail "containers left in nsbox's root"
  local cg
  cg=$(find /sys/fs/cgroup -maxdepth 3 -type d -path "*/$NS*" 2>/dev/null)
  [ -z "$cg" ] || fail "cgroups left: $cg"
  [ -z "$CTRD_UNITS_LEFT" ] || fail "units left (nsbox delete --force did not stop them): $CTRD_UNITS_LEFT"
  [ -z "$(cgroup_dirs "$a")" ] || fail "cgroups left: $(cgroup_dirs "$a")"
  if grep -F "$CTRD" /proc/self/mountinfo >/dev/null; then fail "mounts left: $(grep -F "$CTRD" /proc/self/mountinfo | awk '{print $5}')"; fi
  [ ! -e "/run/containerd/s/$h" ] || fail "the shim socket of $a is left: /run/containerd/s/$h"
}
