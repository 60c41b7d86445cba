# Cgroup support: linux.resources applied at create and enforced, update, pause/resume, ps,
# kill --all, events, cgroupsPath placement, and bad resource values.
#
# Layout-neutral: a controller is looked up on the v1 hierarchy that has it, else on the v2
# (unified) tree, exactly as the container's /proc/<pid>/cgroup places it. So the same tests
# run on v1, hybrid (v1 controllers + a unified tree) and pure v2 hosts. Limits are read back
# from the container's own cgroup files; enforcement is checked by behaviour, never by wall
# time.
# shellcheck disable=SC2016  # jq filters and container scripts are literal
# shellcheck disable=SC2015  # "A && B || fail": fail exits

# --- helpers (not tests) -----------------------------------------------------------------

# shellcheck source=cgroup_lib.sh
source "$SRC_DIR/tests/integration/cgroup_lib.sh"

# cg_v2_child_has CONTROLLER FILE: a child cgroup of ours on the v2 tree with CONTROLLER
# enabled has FILE (kernel support for an interface file, such as memory.swap.max or
# io.weight). Probes with a throw-away child cgroup when no existing cgroup shows the file.
cg_v2_child_has() {
  local ctrl=$1 file=$2 mp own probe found=1
  mp=$(cg_v2_mount)
  [ -n "$mp" ] || return 1
  own=$(cg_own_dir "$ctrl")
  grep -qw "$ctrl" "$own/cgroup.controllers" 2>/dev/null || return 1
  [ -e "$own/$file" ] && return 0
  if find "$mp" -maxdepth 3 -name "$file" 2>/dev/null | grep -q .; then return 0; fi
  # The runtime enables the controller below our cgroup the same way.
  grep -qw "$ctrl" "$own/cgroup.subtree_control" ||
    echo "+$ctrl" >"$own/cgroup.subtree_control" 2>/dev/null || return 1
  probe=$own/nsbox-t$$-probe
  mkdir "$probe" 2>/dev/null || return 1
  [ -e "$probe/$file" ] && found=0
  rmdir "$probe"
  return $found
}

# cg_v1_child_has CONTROLLER FILE: a child cgroup of ours on the v1 hierarchy of CONTROLLER
# has FILE (some files, such as blkio.bfq.weight, exist only below the root).
cg_v1_child_has() {
  local ctrl=$1 file=$2 own probe found=1
  own=$(cg_own_dir "$ctrl")
  [ -e "$own/$file" ] && return 0
  probe=$own/nsbox-t$$-probe
  mkdir "$probe" 2>/dev/null || return 1
  [ -e "$probe/$file" ] && found=0
  rmdir "$probe"
  return $found
}

# cg_kernel_has CONTROLLER V1FILE V2FILE: this kernel offers the interface file (in a child
# of our cgroup) on the layout that has the controller.
cg_kernel_has() {
  local ctrl=$1 v1=$2 v2=$3
  if cg_is_v1 "$ctrl"; then
    cg_v1_child_has "$ctrl" "$v1"
  else
    cg_v2_child_has "$ctrl" "$v2"
  fi
}

# cg_blkio_weight_ok: some block io weight file exists (bfq, cfq or iocost).
cg_blkio_weight_ok() {
  if cg_is_v1 blkio; then
    cg_v1_child_has blkio blkio.bfq.weight || cg_v1_child_has blkio blkio.weight
  else
    cg_v2_child_has io io.bfq.weight || cg_v2_child_has io io.weight
  fi
}

# cg_blkio_weight PID: the block io weight files of the container, as " file=value...".
cg_blkio_weight() {
  local d f got=""
  d=$(cg_dir "$1" "$(cg_is_v1 blkio && echo blkio || echo io)")
  for f in blkio.bfq.weight blkio.weight io.bfq.weight io.weight; do
    [ -e "$d/$f" ] || continue
    got="$got $f=$(head -1 "$d/$f")"
  done
  echo "$got"
}

# cg_assert_blkio_weight PID WEIGHT: the weight is applied: as is for bfq (and v1 cfq), or
# converted by runc's 1 + (w - 10) * 9999 / 990 for io.weight (iocost) when bfq is absent.
cg_assert_blkio_weight() {
  local got w=$2
  got=$(cg_blkio_weight "$1")
  case "$got" in
    *"bfq.weight=$w"* | *"blkio.weight=$w"* | *"io.weight=default $((1 + (w - 10) * 9999 / 990))"*) ;;
    *) fail "block io weight $w not applied: [$got]" ;;
  esac
}

# cg_swap_ok: memory+swap limits can be set (v1 memsw accounting / v2 memory.swap.max).
cg_swap_ok() { cg_kernel_has memory memory.memsw.limit_in_bytes memory.swap.max; }

# cg_block_dev: MAJ:MIN of a whole disk to throttle: the root filesystem's disk, else the
# first real disk. Fails when there is none.
cg_block_dev() {
  local mm d
  mm=$(findmnt -no MAJ:MIN / 2>/dev/null | head -1 | tr -d ' ')
  if [ -n "$mm" ] && [ -e "/sys/dev/block/$mm" ]; then
    [ -e "/sys/dev/block/$mm/partition" ] && mm=$(cat "/sys/dev/block/$mm/../dev")
    echo "$mm"
    return 0
  fi
  for d in /sys/block/*; do
    case ${d##*/} in loop* | ram* | zram* | nbd* | dm-* | md*) continue ;; esac
    [ "$(cat "$d/size" 2>/dev/null || echo 0)" -gt 0 ] || continue
    cat "$d/dev"
    return 0
  done
  return 1
}

# cg_must_fail TEXT CMD...: CMD exits 1, its stderr starts with "nsbox: " and contains TEXT.
# Leaves the stderr in $ERR. Stdin is $CG_STDIN (a file), else /dev/null.
cg_must_fail() {
  local want=$1 rc=0
  shift
  "$@" >/dev/null 2>"$TEST_TMP/stderr" <"${CG_STDIN:-/dev/null}" || rc=$?
  ERR=$(cat "$TEST_TMP/stderr")
  [ "$rc" -ne 0 ] || fail "expected failure of: $* (it exited 0)"
  assert_eq "$rc" 1 "exit status of: $* (stderr [$ERR])"
  assert_contains "$ERR" "$want" "error text of: $*"
  case "$ERR" in
    "nsbox: "*) ;;
    *) fail "error of: $* does not start with \"nsbox: \": [$ERR]" ;;
  esac
}

# cg_bundle ID CMD...: a bundle whose directory carries the leftover marker of
# assert_no_leftovers (so that a stray container process is found by pgrep -f).
cg_bundle() {
  local id=$1
  shift
  make_bundle "nsbox-leftover-marker-$id" "$@"
}

# cg_resources BUNDLE JSON: merge JSON into linux.resources.
cg_resources() {
  edit_config "$1" '.linux.resources += $r' --argjson r "$2"
}

# cg_create ID BUNDLE: create the container; prints its host pid.
cg_create() {
  local id=$1 b=$2 rc=0
  nsbox create --bundle "$b" "$id" >/dev/null 2>"$TEST_TMP/create.err" </dev/null || rc=$?
  [ "$rc" -eq 0 ] || fail "nsbox create $id exited $rc: [$(cat "$TEST_TMP/create.err")]"
  nsbox state "$id" | jq -r .pid
}

# cg_pid ID: the container's host pid.
cg_pid() { nsbox state "$1" | jq -r .pid; }

# cg_finish ID: force-delete the container and check that nothing is left.
cg_finish() {
  nsbox delete --force "$1"
  assert_no_leftovers "$1"
}

# cg_wait_file ID PATH [TRIES]: wait (0.05 s steps, default 5 s) for PATH in the container's
# root, seen from the host.
cg_wait_file() {
  local id=$1 path=$2 tries=${3:-100} pid i
  pid=$(cg_pid "$id")
  for ((i = 0; i < tries; i++)); do
    [ -e "/proc/$pid/root$path" ] && return 0
    sleep 0.05
  done
  fail "timed out waiting for $path in container $id"
}

# cg_wait_stopped ID
cg_wait_stopped() {
  wait_for "container $1 to stop" sh -c "[ \"\$(\"$NSBOX\" --root \"$TEST_ROOT\" state $1 | jq -r .status)\" = stopped ]"
}

# The process PID has exited (gone, or a zombie its new parent has not reaped yet).
cg_pid_gone() {
  [ ! -e "/proc/$1" ] || grep -q '^State:[[:space:]]*[ZX]' "/proc/$1/status" 2>/dev/null
}

# cg_cpu_usage_ms PID: cpu time used by PID's cgroup, in ms (v1 cpuacct.usage, v2 cpu.stat).
cg_cpu_usage_ms() {
  local pid=$1
  if cg_is_v1 cpuacct; then
    echo $(($(cat "$(cg_dir "$pid" cpuacct)/cpuacct.usage") / 1000000))
  else
    awk '$1 == "usage_usec" { printf "%d\n", $2 / 1000 }' "$(cg_dir "$pid" cpu)/cpu.stat"
  fi
}

# cg_count ID: the counter the pause test's container writes (empty if caught mid-write).
cg_count() {
  local pid i v=""
  pid=$(cg_pid "$1")
  for i in 1 2 3 4 5 6 7 8 9 10; do
    v=$(cat "/proc/$pid/root/dev/shm/count" 2>/dev/null || true)
    [ -n "$v" ] && break
    sleep 0.02
  done
  echo "$v"
}

# cg_mounted_lines PID: the lines of /proc/PID/cgroup whose hierarchy is mounted here, as
# "MOUNTPOINT PATH".
cg_mounted_lines() {
  local line ctrls path mp first
  while IFS= read -r line; do
    ctrls=$(echo "$line" | cut -d: -f2)
    path=$(echo "$line" | cut -d: -f3-)
    if [ -z "$ctrls" ]; then
      mp=$(cg_v2_mount)
    else
      first=${ctrls%%,*}
      mp=$(cg_v1_mount "$first")
    fi
    [ -n "$mp" ] && echo "$mp $path"
  done <"/proc/$1/cgroup"
  return 0
}

# --- limits applied at create ---------------------------------------------------------------

test_memory_limit_and_reservation_applied() {
  local id b pid
  id=$(cid mem)
  b=$(cg_bundle "$id" sleep 100)
  cg_resources "$b" '{"memory": {"limit": 67108864, "reservation": 33554432}}'
  pid=$(cg_create "$id" "$b")
  assert_eq "$(cg_read "$pid" memory memory.limit_in_bytes memory.max)" 67108864 "memory limit"
  assert_eq "$(cg_read "$pid" memory memory.soft_limit_in_bytes memory.low)" 33554432 "memory reservation"
  cg_finish "$id"
}

test_memory_swap_limit_applied() {
  cg_swap_ok || skip "no swap accounting on this kernel (no memory.memsw.limit_in_bytes / memory.swap.max)"
  local id b pid want
  id=$(cid swap)
  b=$(cg_bundle "$id" sleep 100)
  cg_resources "$b" '{"memory": {"limit": 67108864, "swap": 134217728}}'
  pid=$(cg_create "$id" "$b")
  assert_eq "$(cg_read "$pid" memory memory.limit_in_bytes memory.max)" 67108864 "memory limit"
  # v1 memsw is memory+swap; v2 swap.max is swap alone (runc: swap - limit).
  if cg_is_v1 memory; then want=134217728; else want=67108864; fi
  assert_eq "$(cg_read "$pid" memory memory.memsw.limit_in_bytes memory.swap.max)" "$want" "swap limit"
  cg_finish "$id"
}

test_cpu_shares_quota_period_applied() {
  local id b pid
  id=$(cid cpu)
  b=$(cg_bundle "$id" sleep 100)
  cg_resources "$b" '{"cpu": {"shares": 512, "quota": 20000, "period": 100000}}'
  pid=$(cg_create "$id" "$b")
  if cg_is_v1 cpu; then
    assert_eq "$(cg_read "$pid" cpu cpu.shares -)" 512 "cpu.shares"
    assert_eq "$(cg_read "$pid" cpu cpu.cfs_quota_us -)" 20000 "cpu.cfs_quota_us"
    assert_eq "$(cg_read "$pid" cpu cpu.cfs_period_us -)" 100000 "cpu.cfs_period_us"
  else
    # runc's conversion: weight = 1 + ((shares - 2) * 9999) / 262142.
    assert_eq "$(cg_read "$pid" cpu - cpu.weight)" $((1 + ((512 - 2) * 9999) / 262142)) "cpu.weight"
    assert_eq "$(cg_read "$pid" cpu - cpu.max)" "20000 100000" "cpu.max"
  fi
  cg_finish "$id"
}

test_cpuset_applied() {
  local id b pid
  id=$(cid cpuset)
  b=$(cg_bundle "$id" sleep 100)
  cg_resources "$b" '{"cpu": {"cpus": "0", "mems": "0"}}'
  pid=$(cg_create "$id" "$b")
  assert_eq "$(cg_read "$pid" cpuset cpuset.cpus cpuset.cpus)" 0 "cpuset.cpus"
  assert_eq "$(cg_read "$pid" cpuset cpuset.mems cpuset.mems)" 0 "cpuset.mems"
  # The container's process is really confined to cpu 0.
  assert_eq "$(awk '/^Cpus_allowed_list/ {print $2}' "/proc/$pid/status")" 0 "Cpus_allowed_list of the container"
  cg_finish "$id"
}

test_pids_limit_applied() {
  local id b pid
  id=$(cid pids)
  b=$(cg_bundle "$id" sleep 100)
  cg_resources "$b" '{"pids": {"limit": 42}}'
  pid=$(cg_create "$id" "$b")
  assert_eq "$(cg_read "$pid" pids pids.max pids.max)" 42 "pids.max"
  cg_finish "$id"
}

test_blkio_weight_applied() {
  cg_blkio_weight_ok || skip "no block io weight file (blkio.weight, blkio.bfq.weight, io.bfq.weight, io.weight): no CFQ, BFQ or iocost"
  local id b pid
  id=$(cid blkw)
  b=$(cg_bundle "$id" sleep 100)
  cg_resources "$b" '{"blockIO": {"weight": 300}}'
  pid=$(cg_create "$id" "$b")
  cg_assert_blkio_weight "$pid" 300
  cg_finish "$id"
}

test_blkio_throttle_read_bps_applied() {
  local dev
  dev=$(cg_block_dev) || skip "no block device to throttle"
  cg_kernel_has blkio blkio.throttle.read_bps_device io.max || cg_kernel_has io - io.max ||
    skip "no block io throttling on this kernel"
  local id b pid major minor got
  major=${dev%%:*}
  minor=${dev##*:}
  id=$(cid blkt)
  b=$(cg_bundle "$id" sleep 100)
  cg_resources "$b" "{\"blockIO\": {\"throttleReadBpsDevice\": [{\"major\": $major, \"minor\": $minor, \"rate\": 1048576}]}}"
  pid=$(cg_create "$id" "$b")
  if cg_is_v1 blkio; then
    got=$(cg_read "$pid" blkio blkio.throttle.read_bps_device -)
    assert_contains "$got" "$dev 1048576" "blkio.throttle.read_bps_device"
  else
    got=$(cg_read "$pid" io - io.max)
    assert_contains "$got" "$dev rbps=1048576" "io.max"
  fi
  cg_finish "$id"
}

test_hugetlb_limit_applied() {
  [ -d /sys/kernel/mm/hugepages/hugepages-2048kB ] || skip "no 2MB huge pages on this kernel"
  if ! cg_is_v1 hugetlb; then
    local v2
    v2=$(cg_v2_mount)
    [ -n "$v2" ] && grep -qw hugetlb "$v2/cgroup.controllers" || skip "no hugetlb controller"
  fi
  local id b pid
  id=$(cid huge)
  b=$(cg_bundle "$id" sleep 100)
  cg_resources "$b" '{"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}'
  pid=$(cg_create "$id" "$b")
  assert_eq "$(cg_read "$pid" hugetlb hugetlb.2MB.limit_in_bytes hugetlb.2MB.max)" 4194304 "2MB huge page limit"
  cg_finish "$id"
}

test_unified_resources() {
  local id b pid
  id=$(cid unified)
  b=$(cg_bundle "$id" sleep 100)
  cg_resources "$b" '{"unified": {"pids.max": "7"}}'
  if cg_is_v1 pids; then
    # pids is a v1 controller here: unified keys cannot be honoured.
    cg_must_fail "linux.resources.unified" nsbox create --bundle "$b" "$id"
    assert_no_leftovers "$id"
  else
    pid=$(cg_create "$id" "$b")
    assert_eq "$(cg_read "$pid" pids - pids.max)" 7 "pids.max from linux.resources.unified"
    cg_finish "$id"
  fi
}

# --- enforcement --------------------------------------------------------------------------

# A 200 MB buffer that dd really touches (read(2) from /dev/zero fills it).
CG_HOG='exec dd if=/dev/zero of=/dev/null bs=200M count=1'

test_memory_hog_is_oom_killed() {
  local id b rc=0 res
  id=$(cid oom)
  b=$(cg_bundle "$id" sh -c "$CG_HOG")
  res='{"memory": {"limit": 33554432}}'
  cg_swap_ok && res='{"memory": {"limit": 33554432, "swap": 33554432}}'
  cg_resources "$b" "$res"
  nsbox run --bundle "$b" "$id" >/dev/null 2>"$TEST_TMP/run.err" </dev/null || rc=$?
  assert_eq "$rc" 137 "exit status of the memory hog (stderr [$(cat "$TEST_TMP/run.err")])"
  assert_no_leftovers "$id"
  # Control: the same hog without the limit completes.
  id=$(cid nooom)
  b=$(cg_bundle "$id" sh -c "$CG_HOG")
  run_ok nooom "$b"
  assert_no_leftovers "$id"
}

test_oom_event_reported() {
  local id b res epid i fd
  id=$(cid oomev)
  b=$(cg_bundle "$id" sh -c 'until [ -e /dev/shm/go ]; do usleep 20000; done; '"$CG_HOG")
  res='{"memory": {"limit": 33554432}}'
  cg_swap_ok && res='{"memory": {"limit": 33554432, "swap": 33554432}}'
  cg_resources "$b" "$res"
  cg_create "$id" "$b" >/dev/null
  nsbox start "$id"
  "$NSBOX" --root "$TEST_ROOT" events "$id" >"$TEST_TMP/events" 2>"$TEST_TMP/events.err" &
  epid=$!
  # Let events register its OOM watch (an eventfd or inotify fd) before the hog starts.
  for i in $(seq 40); do
    for fd in "/proc/$epid/fd/"*; do
      case "$(readlink "$fd" 2>/dev/null)" in *eventfd* | *inotify*) break 2 ;; esac
    done
    sleep 0.05
  done
  sleep 0.2
  touch "/proc/$(cg_pid "$id")/root/dev/shm/go"
  cg_wait_stopped "$id"
  # events ends when the container stops; give it a moment, then stop it ourselves.
  for i in $(seq 60); do
    kill -0 "$epid" 2>/dev/null || break
    sleep 0.05
  done
  kill "$epid" 2>/dev/null || true
  wait "$epid" 2>/dev/null || true
  local oom
  oom=$(jq -c --arg id "$id" 'select(.type == "oom" and .id == $id)' "$TEST_TMP/events" 2>/dev/null || true)
  [ -n "$oom" ] || fail "no oom event from nsbox events: stdout [$(cat "$TEST_TMP/events")] stderr [$(cat "$TEST_TMP/events.err")]"
  nsbox delete "$id"
  assert_no_leftovers "$id"
}

# The fork loop: an inner shell starts up to 20 background sleeps, recording how many
# started; a failed fork ends it. Builtins only after that (no more forks needed).
CG_FORKS='sh -c '\''i=0; while [ $i -lt 20 ]; do sleep 30 & i=$((i+1)); echo $i >/dev/shm/n; done'\'' 2>/dev/shm/err; read n </dev/shm/n; read e </dev/shm/err || true; echo "started=$n err=$e"'

test_pids_limit_stops_fork_loop() {
  local id b n
  id=$(cid forks)
  b=$(cg_bundle "$id" sh -c "$CG_FORKS")
  cg_resources "$b" '{"pids": {"limit": 10}}'
  run_ok "nsbox-leftover-marker-$id" "$b"
  n=$(echo "$OUT" | sed -n 's/.*started=\([0-9]*\).*/\1/p')
  [ -n "$n" ] || fail "no count from the fork loop: [$OUT]"
  # Two shells plus the sleeps fit in 10 pids.
  [ "$n" -ge 1 ] && [ "$n" -le 8 ] || fail "started $n sleeps under pids.limit 10: [$OUT]"
  assert_contains "$OUT" "fork" "error of the failed fork"
  assert_no_leftovers "$id"
  # Control: without the limit all 20 start.
  id=$(cid forks2)
  b=$(cg_bundle "$id" sh -c "$CG_FORKS")
  run_ok "nsbox-leftover-marker-$id" "$b"
  assert_contains "$OUT" "started=20 " "fork loop without a limit"
  assert_no_leftovers "$id"
}

test_cpu_quota_caps_busy_loop() {
  # The capped and the control container spin at the same time, so they see the same load.
  local busy='timeout 2 sh -c "while :; do :; done"; touch /dev/shm/done; exec sleep 100'
  local idq idc bq bc pq pc usedq usedc
  idq=$(cid quota)
  idc=$(cid noquota)
  bq=$(cg_bundle "$idq" sh -c "$busy")
  bc=$(cg_bundle "$idc" sh -c "$busy")
  cg_resources "$bq" '{"cpu": {"quota": 20000, "period": 100000}}'
  pq=$(cg_create "$idq" "$bq")
  pc=$(cg_create "$idc" "$bc")
  nsbox start "$idq"
  nsbox start "$idc"
  cg_wait_file "$idq" /dev/shm/done 200
  cg_wait_file "$idc" /dev/shm/done 200
  usedq=$(cg_cpu_usage_ms "$pq")
  usedc=$(cg_cpu_usage_ms "$pc")
  echo "cpu used in ~2 s of spinning: capped ${usedq} ms, control ${usedc} ms"
  # Compared with the control of the same run, not with the wall clock: under emulation on a
  # loaded host the guest's 2 s stretch (the control once used 2976 ms in them). Unloaded, the
  # capped one uses a fifth of the control's time; it must at least stay under half.
  [ "$usedc" -gt 1000 ] || fail "control container used only $usedc ms (capped $usedq ms): host too busy to compare"
  [ $((usedq * 2)) -lt "$usedc" ] || fail "container with 20% cpu quota used $usedq ms, the control $usedc ms"
  cg_finish "$idq"
  cg_finish "$idc"
}

# Devices: /dev/kmsg's numbers (c 1:11) are not among the default allowed devices (runc's
# defaults allow c 1:3, the numbers of /dev/null, so a second node 1:3 would be allowed by
# them). A write-only open of kmsg needs no capability and writes nothing.
CG_DEVS='true >/dev/null && echo null-ok; true >/dev/mykmsg && echo mykmsg-ok; true'

test_device_not_allowed_cannot_be_opened() {
  local id b
  id=$(cid devdeny)
  b=$(cg_bundle "$id" sh -c "$CG_DEVS")
  edit_config "$b" '.linux.devices = [{"path": "/dev/mykmsg", "type": "c", "major": 1, "minor": 11, "fileMode": 438, "uid": 0, "gid": 0}]'
  run_ok "nsbox-leftover-marker-$id" "$b"
  assert_contains "$OUT" null-ok "open of /dev/null under the default rules"
  assert_not_contains "$OUT" mykmsg-ok "open of a device without an allow rule"
  assert_contains "$(cat "$TEST_TMP/nsbox-leftover-marker-$id.err")" "Operation not permitted" "error of the denied open"
  assert_no_leftovers "$id"
}

test_device_allowed_by_rule_can_be_opened() {
  local id b
  id=$(cid devallow)
  b=$(cg_bundle "$id" sh -c "$CG_DEVS")
  edit_config "$b" '.linux.devices = [{"path": "/dev/mykmsg", "type": "c", "major": 1, "minor": 11, "fileMode": 438, "uid": 0, "gid": 0}]
    | .linux.resources.devices += [{"allow": true, "type": "c", "major": 1, "minor": 11, "access": "rwm"}]'
  run_ok "nsbox-leftover-marker-$id" "$b"
  assert_contains "$OUT" null-ok "open of /dev/null"
  assert_contains "$OUT" mykmsg-ok "open of a device with an allow rule (stderr [$(cat "$TEST_TMP/nsbox-leftover-marker-$id.err")])"
  assert_no_leftovers "$id"
}

# --- update -------------------------------------------------------------------------------

test_update_pids_limit_live() {
  local id b pid n
  id=$(cid updpids)
  # Waits for /dev/shm/go, then runs the fork loop and keeps the container alive.
  b=$(cg_bundle "$id" sh -c 'until [ -e /dev/shm/go ]; do usleep 20000; done; '"${CG_FORKS%; echo *}"'; echo "$n" >/dev/shm/result; exec sleep 100')
  pid=$(cg_create "$id" "$b")
  nsbox start "$id"
  nsbox update --pids-limit 5 "$id"
  assert_eq "$(cg_read "$pid" pids pids.max pids.max)" 5 "pids.max after update --pids-limit 5"
  touch "/proc/$pid/root/dev/shm/go"
  cg_wait_file "$id" /dev/shm/result 200
  n=$(cat "/proc/$pid/root/dev/shm/result")
  # The container's shell, the inner shell and at most 3 sleeps.
  [ "$n" -ge 1 ] && [ "$n" -le 3 ] || fail "started $n sleeps after update --pids-limit 5"
  cg_finish "$id"
}

test_update_memory_live() {
  local id b pid
  id=$(cid updmem)
  b=$(cg_bundle "$id" sleep 100)
  pid=$(cg_create "$id" "$b")
  nsbox start "$id"
  nsbox update --memory 64M "$id"
  assert_eq "$(cg_read "$pid" memory memory.limit_in_bytes memory.max)" 67108864 "memory limit after update --memory 64M"
  nsbox update --memory-reservation 32M "$id"
  assert_eq "$(cg_read "$pid" memory memory.soft_limit_in_bytes memory.low)" 33554432 "reservation after update --memory-reservation 32M"
  cg_finish "$id"
}

test_update_cpu_flags_live() {
  local id b pid
  id=$(cid updcpu)
  b=$(cg_bundle "$id" sleep 100)
  pid=$(cg_create "$id" "$b")
  nsbox start "$id"
  nsbox update --cpu-shares 512 --cpu-quota 30000 --cpu-period 100000 --cpuset-cpus 0 --cpuset-mems 0 "$id"
  if cg_is_v1 cpu; then
    assert_eq "$(cg_read "$pid" cpu cpu.shares -)" 512 "cpu.shares after update"
    assert_eq "$(cg_read "$pid" cpu cpu.cfs_quota_us -)" 30000 "cpu.cfs_quota_us after update"
    assert_eq "$(cg_read "$pid" cpu cpu.cfs_period_us -)" 100000 "cpu.cfs_period_us after update"
  else
    assert_eq "$(cg_read "$pid" cpu - cpu.weight)" $((1 + ((512 - 2) * 9999) / 262142)) "cpu.weight after update"
    assert_eq "$(cg_read "$pid" cpu - cpu.max)" "30000 100000" "cpu.max after update"
  fi
  assert_eq "$(cg_read "$pid" cpuset cpuset.cpus cpuset.cpus)" 0 "cpuset.cpus after update"
  assert_eq "$(cg_read "$pid" cpuset cpuset.mems cpuset.mems)" 0 "cpuset.mems after update"
  cg_finish "$id"
}

test_update_memory_swap_flag() {
  cg_swap_ok || skip "no swap accounting on this kernel (no memory.memsw.limit_in_bytes / memory.swap.max)"
  local id b pid want
  id=$(cid updswap)
  b=$(cg_bundle "$id" sleep 100)
  pid=$(cg_create "$id" "$b")
  nsbox start "$id"
  nsbox update --memory 64M --memory-swap 128M "$id"
  assert_eq "$(cg_read "$pid" memory memory.limit_in_bytes memory.max)" 67108864 "memory limit after update"
  if cg_is_v1 memory; then want=134217728; else want=67108864; fi
  assert_eq "$(cg_read "$pid" memory memory.memsw.limit_in_bytes memory.swap.max)" "$want" "swap limit after update --memory-swap 128M"
  cg_finish "$id"
}

test_update_swap_below_memory_fails_clearly() {
  cg_swap_ok || skip "no swap accounting on this kernel (no memory.memsw.limit_in_bytes / memory.swap.max)"
  local id b pid mem swap
  id=$(cid updswapbad)
  b=$(cg_bundle "$id" sleep 100)
  pid=$(cg_create "$id" "$b")
  nsbox start "$id"
  nsbox update --memory 64M --memory-swap 128M "$id"
  mem=$(cg_read "$pid" memory memory.limit_in_bytes memory.max)
  swap=$(cg_read "$pid" memory memory.memsw.limit_in_bytes memory.swap.max)
  # memory+swap below memory: refused up front (as the config check and runc on v2 do),
  # naming swap, and nothing half-applied.
  cg_must_fail "swap" nsbox update --memory 1G --memory-swap 512M "$id"
  assert_eq "$(cg_read "$pid" memory memory.limit_in_bytes memory.max)" "$mem" "memory limit after a refused update"
  assert_eq "$(cg_read "$pid" memory memory.memsw.limit_in_bytes memory.swap.max)" "$swap" "swap limit after a refused update"
  cg_finish "$id"
}

test_update_other_runc_flags() {
  local id b pid
  id=$(cid updmisc)
  b=$(cg_bundle "$id" sleep 100)
  pid=$(cg_create "$id" "$b")
  nsbox start "$id"
  # Kernel memory limits are obsolete (runc ignores them); the flag must still be accepted.
  nsbox update --kernel-memory 64M "$id"
  if cg_is_v1 cpu && [ -e "$(cg_dir "$pid" cpu)/cpu.rt_runtime_us" ]; then
    nsbox update --cpu-rt-period 50000 --cpu-rt-runtime 2000 "$id"
    assert_eq "$(cg_read "$pid" cpu cpu.rt_period_us -)" 50000 "cpu.rt_period_us after update"
    assert_eq "$(cg_read "$pid" cpu cpu.rt_runtime_us -)" 2000 "cpu.rt_runtime_us after update"
  else
    echo "note: no cpu.rt_runtime_us (cgroup v2 or no RT_GROUP_SCHED): --cpu-rt-* not checked"
  fi
  if cg_blkio_weight_ok; then
    nsbox update --blkio-weight 300 "$id"
    cg_assert_blkio_weight "$pid" 300
  else
    echo "note: no block io weight file: --blkio-weight not checked"
  fi
  cg_finish "$id"
}

test_update_blkio_weight_out_of_range_fails() {
  local id b
  id=$(cid updweight)
  b=$(cg_bundle "$id" sleep 100)
  cg_create "$id" "$b" >/dev/null
  nsbox start "$id"
  # The range the config check enforces (linux.resources.blockIO.weight: 10 to 1000).
  cg_must_fail "weight" nsbox update --blkio-weight 5 "$id"
  cg_must_fail "weight" nsbox update --blkio-weight 1001 "$id"
  cg_finish "$id"
}

test_update_resources_from_stdin_and_file() {
  local id b pid
  id=$(cid updres)
  b=$(cg_bundle "$id" sleep 100)
  pid=$(cg_create "$id" "$b")
  nsbox start "$id"
  echo '{"pids": {"limit": 9}}' | nsbox update --resources - "$id"
  assert_eq "$(cg_read "$pid" pids pids.max pids.max)" 9 "pids.max after update --resources -"
  echo '{"pids": {"limit": 11}, "memory": {"limit": 50331648}}' >"$TEST_TMP/res.json"
  nsbox update --resources "$TEST_TMP/res.json" "$id"
  assert_eq "$(cg_read "$pid" pids pids.max pids.max)" 11 "pids.max after update --resources FILE"
  assert_eq "$(cg_read "$pid" memory memory.limit_in_bytes memory.max)" 50331648 "memory limit after update --resources FILE"
  cg_finish "$id"
}

test_update_bad_values_fail_clearly() {
  local id b pid
  id=$(cid updbad)
  b=$(cg_bundle "$id" sleep 100)
  pid=$(cg_create "$id" "$b")
  nsbox start "$id"
  nsbox update --pids-limit 20 "$id"
  cg_must_fail "memory" nsbox update --memory -5 "$id"
  cg_must_fail "cpu-quota" nsbox update --cpu-quota abc "$id"
  echo '{"pids": {"limit": "x"}}' >"$TEST_TMP/bad.json"
  CG_STDIN=$TEST_TMP/bad.json cg_must_fail "pids" nsbox update --resources - "$id"
  # Nothing was changed by the refused updates.
  assert_eq "$(cg_read "$pid" pids pids.max pids.max)" 20 "pids.max after refused updates"
  assert_eq "$(status_of "$id")" running "status after refused updates"
  cg_finish "$id"
}

test_update_memory_below_usage_fails_clearly() {
  cg_is_v1 memory || skip "cgroup v2 memory.max accepts a limit below usage (it reclaims or OOM-kills instead of refusing)"
  local id b pid before
  id=$(cid updlow)
  # 40 MB in tmpfs: charged to the container and not reclaimable without swap.
  b=$(cg_bundle "$id" sh -c 'dd if=/dev/zero of=/dev/shm/big bs=1M count=40 2>/dev/null; touch /dev/shm/ready; exec sleep 100')
  cg_resources "$b" '{"memory": {"limit": 134217728}}'
  pid=$(cg_create "$id" "$b")
  nsbox start "$id"
  cg_wait_file "$id" /dev/shm/ready
  cg_swap_ok && [ "$(awk 'NR > 1' /proc/swaps | wc -l)" -gt 0 ] &&
    echo "note: the host has swap; the kernel may swap the tmpfs pages out instead of refusing" >&2
  before=$(cg_read "$pid" memory memory.limit_in_bytes memory.max)
  cg_must_fail "memory" nsbox update --memory 8M "$id"
  echo "error of update --memory below usage: $ERR"
  assert_eq "$(cg_read "$pid" memory memory.limit_in_bytes memory.max)" "$before" "memory limit after a refused update"
  assert_eq "$(status_of "$id")" running "status after a refused update"
  cg_finish "$id"
}

test_update_unknown_container_fails() {
  cg_must_fail "container \"$(cid nope)\" does not exist" nsbox update --pids-limit 5 "$(cid nope)"
}

# --- pause / resume -----------------------------------------------------------------------

CG_COUNTER='i=0; while true; do i=$((i+1)); echo $i >/dev/shm/count; done'

test_pause_resume_freezes_and_thaws() {
  local id b c1 c2 c3 c4 c5
  id=$(cid pause)
  b=$(cg_bundle "$id" sh -c "$CG_COUNTER")
  cg_create "$id" "$b" >/dev/null
  nsbox start "$id"
  cg_wait_file "$id" /dev/shm/count
  c1=$(cg_count "$id")
  # (Polled, not slept for: a loaded machine may run the counter late.)
  cg_advanced() { local now; now=$(cg_count "$1"); [ -n "$now" ] && [ "$now" -gt "$2" ]; }
  wait_for "the counter to advance while running" cg_advanced "$id" "$c1"
  c2=$(cg_count "$id")
  nsbox pause "$id"
  assert_eq "$(status_of "$id")" paused "status after pause"
  assert_eq "$(nsbox list --format json | jq -r --arg id "$id" '.[] | select(.id == $id) | .status')" paused "status in list after pause"
  c3=$(cg_count "$id")
  sleep 0.5
  c4=$(cg_count "$id")
  assert_eq "$c4" "$c3" "counter while paused"
  cg_must_fail "paused" nsbox pause "$id"
  nsbox resume "$id"
  assert_eq "$(status_of "$id")" running "status after resume"
  wait_for "the counter to advance after resume (paused at $c4)" cg_advanced "$id" "${c4:-$c2}"
  cg_must_fail "not paused" nsbox resume "$id"
  cg_finish "$id"
}

test_pause_stopped_container_fails() {
  local id b
  id=$(cid pausestop)
  b=$(cg_bundle "$id" true)
  cg_create "$id" "$b" >/dev/null
  nsbox start "$id"
  cg_wait_stopped "$id"
  local rc=0
  nsbox pause "$id" >/dev/null 2>"$TEST_TMP/err" || rc=$?
  [ "$rc" -ne 0 ] || fail "pause of a stopped container exited 0"
  case "$(cat "$TEST_TMP/err")" in
    "nsbox: "*"not running"* | "nsbox: "*stopped*) ;;
    *) fail "unclear error of pause of a stopped container: [$(cat "$TEST_TMP/err")]" ;;
  esac
  assert_eq "$(status_of "$id")" stopped "status after pause of a stopped container"
  nsbox delete "$id"
  assert_no_leftovers "$id"
}

test_delete_force_paused_container() {
  local id b pid
  id=$(cid pausedel)
  b=$(cg_bundle "$id" sh -c "$CG_COUNTER")
  pid=$(cg_create "$id" "$b")
  nsbox start "$id"
  nsbox pause "$id"
  assert_eq "$(status_of "$id")" paused "status after pause"
  local rc=0
  timeout 20 "$NSBOX" --root "$TEST_ROOT" delete --force "$id" 2>"$TEST_TMP/err" || rc=$?
  assert_eq "$rc" 0 "exit status of delete --force of a paused container [$(cat "$TEST_TMP/err")]"
  wait_for "paused container's process to die" cg_pid_gone "$pid"
  assert_no_leftovers "$id"
}

# --- ps, kill --all, events ---------------------------------------------------------------

test_ps_table_and_json() {
  local id b pid child out
  id=$(cid ps)
  b=$(cg_bundle "$id" sh -c 'sleep 100 & exec sleep 101')
  pid=$(cg_create "$id" "$b")
  nsbox start "$id"
  wait_for "the container's child" pgrep -P "$pid"
  child=$(pgrep -P "$pid" | head -1)
  out=$(nsbox ps "$id")
  assert_contains "$(echo "$out" | head -1)" PID "header of nsbox ps"
  echo "$out" | awk -v p="$pid" 'NR > 1 { for (i = 1; i <= NF; i++) if ($i == p) f = 1 } END { exit !f }' ||
    fail "init pid $pid not in nsbox ps: [$out]"
  # Arguments after the id go to ps(1); the rows are still only the container's.
  out=$(nsbox ps "$id" -o pid,args)
  assert_contains "$(echo "$out" | head -1)" PID "header of nsbox ps -o pid,args"
  assert_contains "$out" "sleep 101" "nsbox ps -o pid,args"
  assert_eq "$(echo "$out" | awk 'NR > 1' | wc -l)" 2 "rows of nsbox ps -o pid,args: [$out]"
  out=$(nsbox ps --format json "$id")
  echo "$out" | jq -e 'type == "array"' >/dev/null || fail "nsbox ps --format json is not a JSON array: [$out]"
  echo "$out" | jq -e --argjson p "$pid" 'index($p) != null' >/dev/null || fail "init pid $pid not in [$out]"
  echo "$out" | jq -e --argjson p "$child" 'index($p) != null' >/dev/null || fail "child pid $child not in [$out]"
  cg_finish "$id"
}

test_kill_all_in_host_pid_namespace() {
  local id b pid procs p
  id=$(cid killall)
  b=$(cg_bundle "$id" sh -c 'sleep 100 & sleep 100 & sleep 100 & touch /dev/shm/ready; exec sleep 100')
  # In the host's pid namespace the children outlive the container's init.
  edit_config "$b" '.linux.namespaces |= map(select(.type != "pid"))'
  pid=$(cg_create "$id" "$b")
  nsbox start "$id"
  cg_wait_file "$id" /dev/shm/ready
  procs=$(cat "$(cg_dir "$pid" pids)/cgroup.procs")
  [ "$(echo "$procs" | wc -l)" -ge 4 ] || fail "expected 4 processes in the cgroup: [$procs]"
  nsbox kill --all "$id" KILL
  for p in $procs; do
    wait_for "process $p to die" cg_pid_gone "$p"
  done
  cg_wait_stopped "$id"
  nsbox delete "$id"
  assert_no_leftovers "$id"
}

test_events_stats_once() {
  local id b out
  id=$(cid stats)
  b=$(cg_bundle "$id" sh -c 'sleep 100 & exec sleep 100')
  cg_create "$id" "$b" >/dev/null
  nsbox start "$id"
  out=$(timeout 10 "$NSBOX" --root "$TEST_ROOT" events --stats "$id")
  assert_eq "$(echo "$out" | wc -l)" 1 "lines of events --stats: [$out]"
  echo "$out" | jq -e --arg id "$id" '.type == "stats" and .id == $id' >/dev/null ||
    fail "not a stats record of $id: [$out]"
  echo "$out" | jq -e '.data.cpu.usage.total | type == "number"' >/dev/null || fail "no data.cpu.usage.total: [$out]"
  echo "$out" | jq -e '.data.memory.usage.usage | type == "number"' >/dev/null || fail "no data.memory.usage.usage: [$out]"
  echo "$out" | jq -e '.data.pids.current >= 1' >/dev/null || fail "data.pids.current below 1: [$out]"
  cg_finish "$id"
}

test_events_interval_streams() {
  local id b epid line
  id=$(cid evstream)
  b=$(cg_bundle "$id" sleep 100)
  cg_create "$id" "$b" >/dev/null
  nsbox start "$id"
  "$NSBOX" --root "$TEST_ROOT" events --interval 1s "$id" >"$TEST_TMP/events" 2>"$TEST_TMP/events.err" &
  epid=$!
  wait_for "a second stats record" sh -c "[ \$(wc -l <'$TEST_TMP/events') -ge 2 ]"
  kill -0 "$epid" 2>/dev/null || fail "nsbox events --interval exited early: [$(cat "$TEST_TMP/events.err")]"
  kill "$epid"
  wait "$epid" 2>/dev/null || true
  line=$(head -1 "$TEST_TMP/events")
  echo "$line" | jq -e --arg id "$id" '.type == "stats" and .id == $id and (.data.pids.current >= 1)' >/dev/null ||
    fail "first streamed record is not a stats record of $id: [$line]"
  cg_finish "$id"
}

# --- placement: cgroupsPath ----------------------------------------------------------------

# cg_assert_placed PID PATH: every mounted hierarchy places PID at PATH (from its root).
cg_assert_placed() {
  local pid=$1 want=$2 mp path n=0
  while read -r mp path; do
    assert_eq "$path" "$want" "cgroup of the container under $mp"
    [ -d "$mp$path" ] || fail "no directory $mp$path"
    n=$((n + 1))
  done < <(cg_mounted_lines "$pid")
  [ "$n" -gt 0 ] || fail "no mounted hierarchy in /proc/$pid/cgroup"
}

test_default_cgroup_path_is_below_own_cgroup() {
  cgroupfs_only
  local id b pid mp path own ctrls line
  id=$(cid defpath)
  b=$(cg_bundle "$id" sleep 100)
  pid=$(cg_create "$id" "$b")
  # Hierarchy by hierarchy: our own path + /nsbox-ID.
  while IFS= read -r line; do
    ctrls=$(echo "$line" | cut -d: -f2)
    own=$(echo "$line" | cut -d: -f3-)
    if [ -z "$ctrls" ]; then mp=$(cg_v2_mount); else mp=$(cg_v1_mount "${ctrls%%,*}"); fi
    [ -n "$mp" ] || continue
    path=$(awk -F: -v c="$ctrls" '$2 == c { sub(/^[^:]*:[^:]*:/, ""); print }' "/proc/$pid/cgroup")
    assert_eq "$path" "${own%/}/nsbox-$id" "default cgroup under $mp"
    [ -d "$mp$path" ] || fail "no directory $mp$path"
  done </proc/self/cgroup
  cg_finish "$id"
}

test_cgroups_path_absolute() {
  cgroupfs_only
  local id b pid want mp path
  id=$(cid abs)
  want=/nsbox-t$$-abs/nsbox-t$$-leaf
  b=$(cg_bundle "$id" sleep 100)
  edit_config "$b" '.linux.cgroupsPath = $p' --arg p "$want"
  pid=$(cg_create "$id" "$b")
  cg_assert_placed "$pid" "$want"
  local dirs
  dirs=$(cg_mounted_lines "$pid" | awk '{print $1}')
  nsbox delete --force "$id"
  assert_no_leftovers "$id"
  # Both levels were made by nsbox: both are gone.
  for mp in $dirs; do
    [ ! -e "$mp/nsbox-t$$-abs" ] || fail "$mp/nsbox-t$$-abs left behind"
  done
}

test_cgroups_path_relative() {
  cgroupfs_only
  local id b pid mp own line ctrls dirs=""
  id=$(cid rel)
  b=$(cg_bundle "$id" sleep 100)
  edit_config "$b" '.linux.cgroupsPath = $p' --arg p "nsbox-t$$-rel/nsbox-t$$-leaf"
  pid=$(cg_create "$id" "$b")
  while IFS= read -r line; do
    ctrls=$(echo "$line" | cut -d: -f2)
    own=$(echo "$line" | cut -d: -f3-)
    if [ -z "$ctrls" ]; then mp=$(cg_v2_mount); else mp=$(cg_v1_mount "${ctrls%%,*}"); fi
    [ -n "$mp" ] || continue
    assert_eq "$(awk -F: -v c="$ctrls" '$2 == c { sub(/^[^:]*:[^:]*:/, ""); print }' "/proc/$pid/cgroup")" \
      "${own%/}/nsbox-t$$-rel/nsbox-t$$-leaf" "relative cgroupsPath under $mp"
    dirs="$dirs $mp${own%/}/nsbox-t$$-rel"
  done </proc/self/cgroup
  nsbox delete --force "$id"
  assert_no_leftovers "$id"
  for mp in $dirs; do
    [ ! -e "$mp" ] || fail "$mp left behind"
  done
}

# A cgroup that takes no task: joining it fails (the container process moves itself into
# its v1 cgroups and is cloned into its cgroup2 one, or the runtime moves it). The error
# names the cgroup, and nothing is left: no process, no state, none of the cgroups nsbox
# made, while the one it found stays. On v1: a cpuset without cpus (ENOSPC). On v2: a
# cgroup whose subtree_control enables a controller, so that it may hold no process of its
# own (EBUSY).
test_joining_a_cgroup_that_refuses_fails_cleanly() {
  cgroupfs_only
  local v2 ctrl cases=0
  if cg_is_v1 cpuset; then
    cg_refuse_case v1 "$(cg_v1_mount cpuset)" "nsbox-t$$-nocpus" "No space left on device"
    cases=$((cases + 1))
  fi
  # A domain controller: with only threaded ones (cpu, cpuset, pids, perf_event) enabled, the
  # cgroup may still hold processes (it can be a thread root).
  v2=$(cg_v2_mount)
  ctrl=$([ -n "$v2" ] && tr ' ' '\n' <"$v2/cgroup.subtree_control" | grep -m1 -xE 'memory|io|hugetlb|rdma|misc')
  if [ -n "$ctrl" ]; then
    cg_refuse_case v2 "$v2" "nsbox-t$$-inner" "Device or resource busy" "$ctrl"
    cases=$((cases + 1))
  fi
  [ "$cases" -gt 0 ] || skip "no v1 cpuset hierarchy, and no cgroup2 root that enables a domain controller for its children"
}

# cg_refuse_case TAG MOUNT NAME REASON [V2_CONTROLLER]: make MOUNT/NAME refuse tasks, create a
# container placed there (cgroupsPath /NAME), check the failure and what is left.
cg_refuse_case() {
  local tag=$1 mp=$2 name=$3 reason=$4 ctrl=${5:-} id b line ctrls d dirs=""
  id=$(cid "refuse-$tag")
  mkdir "$mp/$name"  # on v1 a cpuset made here has no cpus
  at_exit rmdir "$mp/$name"
  if [ -n "$ctrl" ]; then
    mkdir "$mp/$name/leaf"
    at_exit rmdir "$mp/$name/leaf"
    echo "+$ctrl" >"$mp/$name/cgroup.subtree_control"
  fi
  b=$(cg_bundle "$id" sleep 100)
  edit_config "$b" '.linux.cgroupsPath = $p' --arg p "/$name"
  at_exit "'$NSBOX' --root '$TEST_ROOT' delete --force '$id' 2>/dev/null"  # before the rmdirs, if it was made
  cg_must_fail "join cgroup $mp/$name: " nsbox create --bundle "$b" "$id"
  assert_contains "$ERR" "$reason" "the kernel's reason ($tag)"
  assert_no_leftovers "$id"
  while IFS= read -r line; do
    ctrls=$(echo "$line" | cut -d: -f2)
    if [ -z "$ctrls" ]; then dirs="$dirs $(cg_v2_mount)"; else dirs="$dirs $(cg_v1_mount "${ctrls%%,*}")"; fi
  done </proc/self/cgroup
  for d in $dirs; do
    [ "$d" = "$mp" ] && continue
    [ ! -e "$d/$name" ] || fail "$d/$name left behind ($tag)"
  done
  [ -d "$mp/$name" ] || fail "the pre-existing $mp/$name was removed ($tag)"
}

test_cgroups_path_keeps_existing_parent() {
  cgroupfs_only
  local id b pid line ctrls mp parent parents=""
  id=$(cid parent)
  # Make the parent in every mounted hierarchy ourselves, as an admin would.
  while IFS= read -r line; do
    ctrls=$(echo "$line" | cut -d: -f2)
    if [ -z "$ctrls" ]; then mp=$(cg_v2_mount); else mp=$(cg_v1_mount "${ctrls%%,*}"); fi
    [ -n "$mp" ] || continue
    parent=$mp/nsbox-t$$-admin
    mkdir "$parent"
    parents="$parents $parent"
    # A v1 cpuset starts empty; an admin-made parent would be given cpus and mems. (On v2 an
    # empty cpuset.cpus means "inherit", and the root has no such file.)
    if [ -n "$ctrls" ] && [ -e "$parent/cpuset.cpus" ] && [ -z "$(cat "$parent/cpuset.cpus")" ]; then
      cat "$mp/cpuset.cpus" >"$parent/cpuset.cpus"
      cat "$mp/cpuset.mems" >"$parent/cpuset.mems"
    fi
  done </proc/self/cgroup
  b=$(cg_bundle "$id" sleep 100)
  edit_config "$b" '.linux.cgroupsPath = $p' --arg p "/nsbox-t$$-admin/nsbox-t$$-child"
  pid=$(cg_create "$id" "$b")
  cg_assert_placed "$pid" "/nsbox-t$$-admin/nsbox-t$$-child"
  nsbox delete --force "$id"
  assert_no_leftovers "$id"
  for parent in $parents; do
    [ ! -e "$parent/nsbox-t$$-child" ] || fail "$parent/nsbox-t$$-child left behind"
    [ -d "$parent" ] || fail "the pre-existing $parent was removed by delete"
  done
  for parent in $parents; do rmdir "$parent"; done
}

# --- bad resource values -------------------------------------------------------------------

# cg_bad NAME TEXT RESOURCES_JSON: create with these resources fails with TEXT, nothing left.
cg_bad() {
  local name=$1 want=$2 res=$3 id b
  id=$(cid "$name")
  b=$(cg_bundle "$id" sleep 100)
  cg_resources "$b" "$res"
  cg_must_fail "$want" nsbox create --bundle "$b" "$id"
  assert_no_leftovers "$id"
  assert_eq "$(nsbox list -q)" "" "containers after a refused create"
}

test_bad_memory_limit_refused() {
  cg_bad badmem "linux.resources.memory.limit" '{"memory": {"limit": -5}}'
}

test_bad_pids_limit_refused() {
  cg_bad badpids "linux.resources.pids.limit" '{"pids": {"limit": -7}}'
}

test_bad_cpu_quota_refused() {
  cg_bad badquota "linux.resources.cpu.quota" '{"cpu": {"quota": -2}}'
}

test_bad_blkio_weight_refused() {
  cg_bad badweight "linux.resources.blockIO.weight" '{"blockIO": {"weight": 5}}'
}

test_bad_device_rule_type_refused() {
  cg_bad baddev "linux.resources.devices[1].type" '{"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "x", "access": "rwm"}]}'
}

test_cpuset_cpus_refused_by_kernel() {
  # The kernel refuses cpus this host does not have, after the cgroup exists: the error
  # names the field, and the cgroup is removed again.
  cg_bad badcpus "linux.resources.cpu.cpus" '{"cpu": {"cpus": "999"}}'
  echo "error: $ERR"
}

# --- rootless -------------------------------------------------------------------------------

# A rootless engine on cgroup v1 cannot create cgroups and sends no cgroupsPath: the container
# runs without cgroups (as with runc and crun) instead of failing; with limits it fails clearly.
test_rootless_without_cgroup_delegation() {
  cgroupfs_only
  command -v unshare >/dev/null || skip "unshare missing"
  setpriv --help 2>&1 | grep -q -- --reuid || skip "util-linux's setpriv is missing (busybox's has no --reuid)"
  local b id out state
  chmod 0711 "$TEST_TMP"
  b=$TEST_TMP/rootless
  mkdir -p "$b"
  cp -a "$(shared_rootfs)" "$b/rootfs"
  chmod 0755 "$b"
  "$NSBOX" spec --rootless --bundle "$b"
  edit_config "$b" '.process.terminal = false | .process.args = ["sh", "-c", "id -u; cat /proc/self/cgroup"]
    | .linux.uidMappings = [{"containerID": 0, "hostID": 0, "size": 1}]
    | .linux.gidMappings = [{"containerID": 0, "hostID": 0, "size": 1}]'
  chmod 0644 "$b/config.json"
  state=$TEST_TMP/rootless-state
  mkdir -p "$state"
  chown 65534:65534 "$state"
  # The build tree may sit below a 0700 directory (a CI checkout): give nobody its own copy.
  local bin=$TEST_TMP/nsbox-bin
  cp "$NSBOX" "$bin" && chmod 0755 "$bin"
  id=$(cid rootless)
  out=$(setpriv --reuid=65534 --regid=65534 --clear-groups unshare -Ur \
    "$bin" --root "$state" run --bundle "$b" "$id" 2>&1) || fail "rootless run failed: $out"
  assert_contains "$out" "0" "uid inside"
  assert_not_contains "$out" "nsbox-$id" "cgroup of a rootless container without delegation"
  [ -z "$(ls "$state")" ] || fail "state left behind: $(ls "$state")"
  # Limits cannot be honoured without cgroups: that is an error, not a silent skip.
  edit_config "$b" '.linux.resources = {"pids": {"limit": 10}}'
  out=$(setpriv --reuid=65534 --regid=65534 --clear-groups unshare -Ur \
    "$bin" --root "$state" run --bundle "$b" "$id" 2>&1) && fail "limits without cgroups were accepted"
  assert_contains "$out" "Permission denied" "error without cgroup delegation"
  [ -z "$(ls "$state")" ] || fail "state left behind after the refused run: $(ls "$state")"
}
