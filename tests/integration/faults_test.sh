# Fault injection and stress: nsbox's promise that "a kill of nsbox at any instant is followed
# by a `delete --force` that leaves nothing; no verb waits unbounded on a lock; parallel verbs
# on one id never lose state or hang".
#
# Every test runs its body in a PID and mount namespace of its own (fault_ns): whatever a
# killed nsbox leaves behind dies with the namespace, the test's own processes are all that
# the namespace holds (so a leftover process is found by listing /proc, whatever its name),
# and a mount that nsbox leaks lands in the namespace's mount table, compared with the one the
# body started with. No verb is trusted to return: each runs under a hang guard
# (`timeout 30`, FAULT_VERB_TIMEOUT), and a verb that the guard stops counts as a hang. No
# assertion depends on how fast anything is; durations are only reported.
#
# Knobs (environment): NSBOX_FAULT_KILLS (kills per verb in the SIGKILL test, default 20:
# 160 kills, 30-50 s on a loaded 2-core VM), NSBOX_FAULT_SEED (the random seed, printed; set
# it to replay a run), NSBOX_STRESS_SECONDS (how long the parallel workers run, default 20),
# NSBOX_STRESS_WORKERS (default 4), NSBOX_FAULT_BODY_TIMEOUT (the whole test's hang guard,
# default 110 s, below CTest's 120 s), NSBOX_FAULT_VERB_TIMEOUT (each verb's, default 30 s).
# Each test prints its counts at the end (kills survived, operations, hangs, lost).
# shellcheck disable=SC2016  # jq filters are literal

FAULT_VERB_TIMEOUT=${NSBOX_FAULT_VERB_TIMEOUT:-30}
# The whole body, below CTest's 120 s: a hang the per-verb guard misses fails here, clearly.
# Raise it (NSBOX_FAULT_BODY_TIMEOUT) with the counts when running a file by hand.
FAULT_BODY_TIMEOUT=${NSBOX_FAULT_BODY_TIMEOUT:-110}

# --- running in a namespace of its own ------------------------------------------------------

# fault_ns BODY: run the function BODY (of this file) as pid 1 of a new PID namespace with its
# own /proc, in a mount namespace of its own (private propagation). Everything it starts dies
# with it. A BODY that fails or skips makes the test fail or skip.
fault_ns() {
  local body=$1 rc=0
  command -v unshare >/dev/null || skip "unshare (util-linux) is not installed"
  unshare --pid --fork --mount-proc --kill-child true 2>"$TEST_TMP/unshare.err" ||
    skip "cannot make a PID namespace for the test: $(cat "$TEST_TMP/unshare.err")"
  at_exit fault_sweep_outer
  # In a subshell whose own stderr is dropped (bash's "Killed" notice when the guard fires);
  # the body's stderr is the test's (fd 3).
  (
    env NSBOX="$NSBOX" NSBOX_TEST_WORK="$NSBOX_TEST_WORK" SRC_DIR="$SRC_DIR" TEST_TMP="$TEST_TMP" \
      TEST_ROOT="$TEST_ROOT" FAULT_OUTER_PID=$$ FAULT_SCRIPT="$(realpath "${BASH_SOURCE[0]}")" \
      timeout -s KILL "$FAULT_BODY_TIMEOUT" \
      unshare --pid --fork --mount-proc --kill-child \
      bash -c 'set -euo pipefail
        source "$SRC_DIR/tests/integration/lib.sh"
        source "$FAULT_SCRIPT"
        fault_ns_main "$1"' fault-ns "$body" </dev/null 2>&3
    exit $?
  ) 3>&2 2>/dev/null || rc=$?
  case $rc in
    0) ;;
    137) fail "$body was still running after $FAULT_BODY_TIMEOUT s and was killed (hang guard of the whole test; see the output above)" ;;
    *) exit "$rc" ;;
  esac
}

fault_ns_main() {
  # The ids of the test's own shell (lib.sh's cid, with its $$; here $$ is 1): the cleanup of
  # run_one.sh finds their cgroups by that name.
  # shellcheck disable=SC2317  # called by lib.sh's helpers and this file's bodies
  cid() { echo "t$FAULT_OUTER_PID-$1"; }
  FAULT_LOG=$TEST_TMP/fault-failures
  FAULT_NOTES=$TEST_TMP/fault-notes
  : >"$FAULT_LOG"
  : >"$FAULT_NOTES"
  FAULT_NFAIL=0
  FAULT_KEEP=""
  FAULT_MOUNTS0=$(fault_mounts)
  local raw
  mapfile -t raw </proc/self/mountinfo
  FAULT_MOUNTINFO0="${raw[*]}"
  "$1"
}

# At the end of the test, in its own shell: cgroups of absolute cgroupsPaths given by this
# file (the namespace's processes are dead by then, or dying).
fault_sweep_outer() {
  local i left
  for i in $(seq 40); do
    left=$(find /sys/fs/cgroup -maxdepth 6 -type d -name "nsbox-fault-$$-*" 2>/dev/null | sort -r)
    [ -n "$left" ] || return 0
    printf '%s\n' "$left" | xargs -r rmdir 2>/dev/null
    sleep 0.05
  done
}

# guarded VERB ARGS...: nsbox with the test's root under the hang guard (SIGTERM after
# FAULT_VERB_TIMEOUT s, SIGKILL 5 s later); exit status 124 means the guard stopped it (timeout
# says 124, or 137 when the SIGKILL was needed; nsbox itself never exits so for the verbs run
# through this: no foreground run or exec).
guarded() {
  local rc=0
  timeout --foreground -k 5 "$FAULT_VERB_TIMEOUT" "$NSBOX" --root "$TEST_ROOT" "$@" </dev/null || rc=$?
  [ "$rc" -ne 137 ] || rc=124
  return "$rc"
}

# --- recording failures ---------------------------------------------------------------------

# fault_fail KIND DETAIL: one failure, reported with the others at the end.
fault_fail() {
  printf '%s\t%s\n' "$1" "$2" >>"$FAULT_LOG"
  FAULT_NFAIL=$((FAULT_NFAIL + 1))
}

# fault_note KIND DETAIL: something worth reporting that is not a failure.
fault_note() { printf '%s\t%s\n' "$1" "$2" >>"$FAULT_NOTES"; }

# fault_summary FILE TITLE: the entries of FILE grouped by kind, with counts and up to three
# examples each.
fault_summary() {
  local file=$1 title=$2
  [ -s "$file" ] || return 0
  echo "$title:"
  awk -F'\t' '
    { n[$1]++; if (n[$1] <= 3) ex[$1] = ex[$1] "      e.g. " $2 "\n" }
    END { for (k in n) printf "%6d  %s\n%s", n[k], k, ex[k] }' "$file"
}

# fault_finish: report failures and notes; fail the test if there is any failure.
fault_finish() {
  fault_summary "$FAULT_NOTES" "notes (not failures)"
  if [ -s "$FAULT_LOG" ]; then
    fault_summary "$FAULT_LOG" "FAILURES ($(wc -l <"$FAULT_LOG"))" >&2
    fail "$(wc -l <"$FAULT_LOG") failure(s), grouped above"
  fi
}

# --- what is left ----------------------------------------------------------------------------

# The namespace's mount table: mount point, type, source (sorted).
fault_mounts() {
  awk '{ for (i = 7; $i != "-"; i++) {}; print $5, $(i + 1), $(i + 2) }' /proc/self/mountinfo | sort
}

# The mount points of the cgroup hierarchies (v1 and v2).
fault_cgroup_mounts() {
  awk '{ for (i = 7; $i != "-"; i++) {}; if ($(i + 1) == "cgroup" || $(i + 1) == "cgroup2") print $5 }' \
    /proc/self/mountinfo
}

# fault_scan_procs: FAULT_PROCS becomes the live (not zombie) processes of the namespace, as
# "pid state name nspid=[...]", other than this shell, pid 1 and the pids in $FAULT_KEEP.
# Builtins only: the scan itself starts no process.
fault_scan_procs() {
  FAULT_PROCS=()
  local p pid k v state name nspid
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    case " 1 $$ $BASHPID $FAULT_KEEP " in *" $pid "*) continue ;; esac
    state="" name="" nspid=""
    {
      while IFS=: read -r k v; do
        case $k in
          Name) name=${v#$'\t'} ;;
          State) state=${v#$'\t'} state=${state%% *} ;;
          NSpid) nspid=${v#$'\t'} nspid=${nspid//$'\t'/ } ;;
        esac
      done
    } 2>/dev/null <"$p/status" || continue
    [ -n "$state" ] || continue
    case $state in Z* | X*) continue ;; esac
    FAULT_PROCS+=("$pid $state $name nspid=[$nspid]")
  done
}

# fault_describe_proc PID: its cgroups (freezer, pids, cgroup2) and command line, for reports.
fault_describe_proc() {
  local cg cmd
  cg=$(grep -E ':(freezer|pids|):' "/proc/$1/cgroup" 2>/dev/null | tr '\n' ' ')
  cmd=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | cut -c1-100)
  echo "cmdline [$cmd] cgroups [$cg]"
}

# fault_cgroups_of ID CGPATH: the cgroup directories of the container that exist: named
# nsbox-ID anywhere (default cgroupsPath), or CGPATH below each hierarchy.
fault_cgroups_of() {
  local id=$1 cgpath=$2 m
  if [ -z "$cgpath" ]; then
    find /sys/fs/cgroup -maxdepth 6 -type d -name "nsbox-$id" 2>/dev/null || true
  else
    for m in $(fault_cgroup_mounts); do
      [ ! -d "$m$cgpath" ] || echo "$m$cgpath"
    done
  fi
}

# fault_check_clean CONTEXT ID CGPATH [INIT_PID...]: nothing of container ID is left: no
# state directory, not listed, no cgroup, no process in the namespace (other than the kept
# ones), no new mount. Each leftover is a failure named with CONTEXT; then it is removed, so
# that the next round starts clean. A process that is gone within 5 s of the check is noted
# (it outlived the delete by a moment), not failed.
fault_check_clean() {
  local ctx=$1 id=$2 cgpath=$3
  shift 3
  local inits=" $* " found=0 i p cgs mounts listed
  if [ -e "$TEST_ROOT/$id" ]; then
    fault_fail "state directory left" "$ctx: $TEST_ROOT/$id holds [$(find "$TEST_ROOT/$id" -mindepth 1 -maxdepth 1 -printf '%f ')]"
    found=1
  fi
  listed=$(timeout 30 "$NSBOX" --root "$TEST_ROOT" list -q 2>/dev/null </dev/null || true)
  if printf '%s\n' "$listed" | grep -qxF "$id"; then
    fault_fail "still listed" "$ctx: nsbox list shows $id"
    found=1
  fi
  cgs=$(fault_cgroups_of "$id" "$cgpath")
  fault_scan_procs
  if [ "${#FAULT_PROCS[@]}" -gt 0 ]; then
    for i in $(seq 100); do
      sleep 0.05
      fault_scan_procs
      [ "${#FAULT_PROCS[@]}" -gt 0 ] || break
    done
    if [ "${#FAULT_PROCS[@]}" -eq 0 ]; then
      fault_note "process outlived delete --force by a moment (gone within 5 s)" "$ctx"
      cgs=$(fault_cgroups_of "$id" "$cgpath")
    fi
  fi
  for p in "${FAULT_PROCS[@]}"; do
    local pid=${p%% *} what="process"
    case "$inits" in *" $pid "*) what="container init (pid from nsbox state)" ;; esac
    case "$p" in *" 1]") what="$what, init of a pid namespace" ;; esac
    fault_fail "process left" "$ctx: $what: $p $(fault_describe_proc "$pid")"
    found=1
  done
  if [ -n "$cgs" ]; then
    local d procs=""
    for d in $cgs; do procs="$procs $(tr '\n' ' ' <"$d/cgroup.procs" 2>/dev/null)"; done
    fault_fail "cgroup left" "$ctx: $(echo "$cgs" | tr '\n' ' ')(processes in them:${procs// / })"
    found=1
  fi
  # The table as it was (read without starting a process), else what is new in it.
  local raw
  mapfile -t raw </proc/self/mountinfo
  mounts=""
  [ "${raw[*]}" = "$FAULT_MOUNTINFO0" ] || mounts=$(comm -13 <(printf '%s\n' "$FAULT_MOUNTS0") <(fault_mounts))
  if [ -n "$mounts" ]; then
    fault_fail "mount left" "$ctx: $(echo "$mounts" | tr '\n' ';')"
    found=1
  fi
  [ "$found" -eq 0 ] || fault_scrub "$id" "$cgpath"
}

# fault_scrub ID CGPATH: remove what fault_check_clean found (processes of the namespace by
# pid, the container's cgroups thawed first, its state directory, new mounts).
fault_scrub() {
  local id=$1 cgpath=$2 d p i cgs
  cgs=$(fault_cgroups_of "$id" "$cgpath" | awk '{ print length, $0 }' | sort -rn | cut -d' ' -f2-)
  for d in $cgs; do
    [ ! -e "$d/freezer.state" ] || echo THAWED >"$d/freezer.state" 2>/dev/null || true
    [ ! -e "$d/cgroup.freeze" ] || echo 0 >"$d/cgroup.freeze" 2>/dev/null || true
  done
  fault_scan_procs
  for p in "${FAULT_PROCS[@]}"; do kill -KILL "${p%% *}" 2>/dev/null || true; done
  for i in $(seq 40); do
    fault_scan_procs
    [ "${#FAULT_PROCS[@]}" -gt 0 ] || break
    sleep 0.05
  done
  for d in $cgs; do
    for i in $(seq 20); do rmdir "$d" 2>/dev/null && break; sleep 0.05; done
  done
  rm -rf "${TEST_ROOT:?}/$id"
  comm -13 <(printf '%s\n' "$FAULT_MOUNTS0") <(fault_mounts) | awk '{ print $1 }' | sort -r |
    xargs -r -n1 umount -l 2>/dev/null || true
}

# us: microseconds since the epoch, without starting a process.
us() { local t=${EPOCHREALTIME/./}; echo "${t#0}"; }

# fault_state_pid ID: the pid `nsbox state` gives, or nothing.
fault_state_pid() {
  guarded state "$1" 2>/dev/null | jq -r '.pid // empty' 2>/dev/null || true
}

# fault_status ID: the status `nsbox state` gives, or nothing.
fault_status() {
  guarded state "$1" 2>/dev/null | jq -r '.status // empty' 2>/dev/null || true
}

# fault_first_line FILE: its first line, at most 300 characters.
fault_first_line() { head -c 300 "$1" 2>/dev/null | tr '\n' ' ' || true; }

# --- 1. SIGKILL at random instants --------------------------------------------------------------

test_sigkill_at_random_instants_then_delete_force_leaves_nothing() {
  fault_ns fault_body_sigkill
}

fault_body_sigkill() {
  local n=${NSBOX_FAULT_KILLS:-20} seed=${NSBOX_FAULT_SEED:-$((RANDOM * 32768 + RANDOM))}
  local verbs=(create run-d run start exec delete pause resume)
  local b verb i delay mode cgpath total=0 landed=0 survived=0 del_max=0 del_sum=0 upper took
  local -A v_total=() v_landed=() v_survived=() v_upper=() v_took=()
  [ "$n" -ge 1 ] || fail "NSBOX_FAULT_KILLS must be at least 1"
  echo "seed $seed (NSBOX_FAULT_SEED), $n kills per verb (NSBOX_FAULT_KILLS)"
  b=$(make_bundle b sleep 1000)
  mkdir -p "$TEST_TMP/bcg"
  RANDOM=$seed
  FAULT_K=0
  declare -gA FAULT_AFTER=()
  local t_start
  t_start=$(us)
  for verb in "${verbs[@]}"; do
    v_total[$verb]=0 v_landed[$verb]=0 v_survived[$verb]=0
    # Three runs left alone say how long the verb works here (the shortest); the kills then
    # land from 0.2 ms up to 1.5 times that (at most 30 ms; 30 ms for `run` and `exec`, which
    # wait for their process), half spread evenly on a log scale (the first steps are short),
    # half evenly on a linear one, one in each stratum, in random order.
    took=0 upper=30000
    case $verb in
      run | exec) ;;
      *)
        for i in 0 1 2; do
          fault_kill_once "$verb" "10000000 10" pid "" "$b" "$i"
          [ "$took" -ne 0 ] && [ "$FAULT_VERB_US" -ge "$took" ] || took=$FAULT_VERB_US
        done
        upper=$((took * 3 / 2))
        ;;
    esac
    [ "$upper" -le 30000 ] || upper=30000
    [ "$upper" -ge 1000 ] || upper=1000
    v_took[$verb]=$took v_upper[$verb]=$upper
    local -a delays
    # "microseconds seconds" per line.
    mapfile -t delays < <(awk -v n="$n" -v seed="$((seed + FAULT_K))" -v hi="$upper" 'BEGIN { srand(seed)
      for (i = 0; i < n; i++) {
        u = (i + rand()) / n
        d = int(i % 2 ? 200 + (hi - 200) * u : 200 * exp(u * log(hi / 200)))
        printf "%d %.6f\n", d, d / 1e6
      } }' | shuf --random-source=<(yes "$seed"))
    for ((i = 0; i < n; i++)); do
      delay=${delays[i]}
      if ((i % 2)); then mode=group; else mode=pid; fi
      if ((i % 3 == 2)); then cgpath=/nsbox-fault-$FAULT_OUTER_PID-$FAULT_K; else cgpath=""; fi
      local before=$FAULT_NFAIL
      fault_kill_once "$verb" "$delay" "$mode" "$cgpath" "$b" "$i"
      total=$((total + 1))
      v_total[$verb]=$((v_total[$verb] + 1))
      if [ "$FAULT_LANDED" = 1 ]; then
        landed=$((landed + 1))
        v_landed[$verb]=$((v_landed[$verb] + 1))
      fi
      if [ "$FAULT_NFAIL" -eq "$before" ]; then
        survived=$((survived + 1))
        v_survived[$verb]=$((v_survived[$verb] + 1))
      fi
      del_sum=$((del_sum + FAULT_DEL_US))
      [ "$FAULT_DEL_US" -le "$del_max" ] || del_max=$FAULT_DEL_US
    done
  done
  for verb in "${verbs[@]}"; do
    printf '  %-7s works %5s ms unkilled; %3d kills from 0.2 to %4.1f ms, %3d landed while nsbox worked, survived %3d/%d\n' \
      "$verb" "$(awk -v t="${v_took[$verb]}" 'BEGIN { if (t) printf "%.1f", t / 1000; else print "(n/a)" }')" "${v_total[$verb]}" \
      "$(awk -v t="${v_upper[$verb]}" 'BEGIN { print t / 1000 }')" "${v_landed[$verb]}" \
      "${v_survived[$verb]}" "${v_total[$verb]}"
  done
  echo "what \`state\` said right after the kill (unkilled calibration runs included):"
  for i in "${!FAULT_AFTER[@]}"; do printf '  %-7s %4d x %s\n' "${i%%|*}" "${FAULT_AFTER[$i]}" "${i#*|}"; done | sort -k1,1 -k2,2rn
  echo "delete --force after a kill: mean $((del_sum / total / 1000)) ms, max $((del_max / 1000)) ms"
  echo "kills survived: $survived/$total, landed while nsbox worked: $landed, failures: $FAULT_NFAIL (unkilled runs included), wall time: $((($(us) - t_start) / 1000000)) s"
  fault_finish
}

# fault_kill_once VERB "DELAY_US DELAY_S" MODE CGPATH BUNDLE I: set up what VERB needs, run
# it under `timeout -s KILL DELAY_S` (MODE pid: only nsbox is killed; group: its whole process
# group, as a shell or an engine killing a job), then `delete --force` and check that nothing
# is left. I picks the variant of `delete` (odd: plain delete of a stopped container).
# Sets FAULT_LANDED (1 if the kill hit nsbox before it was done), FAULT_VERB_US (how long
# the verb ran) and FAULT_DEL_US (how long the delete --force took).
fault_kill_once() {
  local verb=$1 delay=$2 mode=$3 cgpath=$4 b=$5 i=$6 dms
  local id ctx rc=0 pids=() p="" args=() tflags=(-s KILL) t0 what
  id=$(cid "k$FAULT_K")
  FAULT_K=$((FAULT_K + 1))
  FAULT_LANDED=0 FAULT_DEL_US=0
  if [ -n "$cgpath" ]; then
    jq --arg p "$cgpath" '.linux.cgroupsPath = $p' "$b/config.json" >"$TEST_TMP/bcg/config.json"
    b=$TEST_TMP/bcg
  fi
  what=$verb
  [ "$verb" != delete ] || { if ((i % 2)); then what="delete (stopped)"; else what="delete --force (running)"; fi; }
  printf -v dms '%d.%02d' $((${delay%% *} / 1000)) $((${delay%% *} % 1000 / 10))
  ctx="$what, kill after $dms ms ($mode)${cgpath:+, cgroupsPath $cgpath}, id $id"

  # What the verb needs.
  local setup=()
  case $verb in
    start) setup=(create) ;;
    exec | delete | pause) setup=(run-d) ;;
    resume) setup=(run-d pause) ;;
  esac
  local s
  for s in "${setup[@]}"; do
    rc=0
    case $s in
      create) guarded create --bundle "$b" "$id" >/dev/null 2>"$TEST_TMP/setup.err" || rc=$? ;;
      run-d) guarded run -d --bundle "$b" "$id" >/dev/null 2>"$TEST_TMP/setup.err" || rc=$? ;;
      pause) guarded pause "$id" >/dev/null 2>"$TEST_TMP/setup.err" || rc=$? ;;
    esac
    if [ "$rc" -ne 0 ]; then
      fault_fail "setup failed (no kill yet)" "$ctx: $s exited $rc: $(fault_first_line "$TEST_TMP/setup.err")"
      break
    fi
  done
  if [ "${#setup[@]}" -gt 0 ]; then
    p=$(fault_state_pid "$id")
    [ -z "$p" ] || pids+=("$p")
  fi
  if [ "$what" = "delete (stopped)" ] && [ -n "$p" ]; then
    guarded kill "$id" KILL 2>/dev/null || true
    for s in $(seq 100); do [ "$(fault_status "$id")" != stopped ] || break; sleep 0.05; done
  fi

  case $verb in
    create) args=(create --bundle "$b" "$id") ;;
    run-d) args=(run -d --bundle "$b" "$id") ;;
    run) args=(run --bundle "$b" "$id") ;;
    start) args=(start "$id") ;;
    exec) args=(exec "$id" sleep 1000) ;;
    delete) if ((i % 2)); then args=(delete "$id"); else args=(delete --force "$id"); fi ;;
    pause) args=(pause "$id") ;;
    resume) args=(resume "$id") ;;
  esac
  [ "$mode" = group ] || tflags+=(--foreground)
  rc=0
  t0=$(us)
  # In a subshell whose stderr is dropped: bash's "Killed" notice stays out of the output.
  (
    timeout "${tflags[@]}" "${delay#* }" "$NSBOX" --root "$TEST_ROOT" "${args[@]}" \
      </dev/null >"$TEST_TMP/victim.out" 2>"$TEST_TMP/victim.err"
    exit $?
  ) 2>/dev/null || rc=$?
  FAULT_VERB_US=$(($(us) - t0))
  case $rc in
    124 | 137) FAULT_LANDED=1 ;;
    0) ;;
    *) fault_fail "verb failed by itself (before the kill)" "$ctx: ${args[0]} exited $rc: $(fault_first_line "$TEST_TMP/victim.err")" ;;
  esac

  # What the kill left, as `state` sees it; the init pid, if the killed verb got as far as
  # recording one.
  local after
  rc=0
  guarded state "$id" >"$TEST_TMP/after.out" 2>"$TEST_TMP/after.err" || rc=$?
  if [ "$rc" -eq 0 ]; then
    after=$(jq -r '"\(.status) \(.pid // 0)"' "$TEST_TMP/after.out" 2>/dev/null || echo "unreadable output")
    p=${after##* }
    after=${after% *}
    [[ ! "$p" =~ ^[1-9][0-9]*$ ]] || pids+=("$p")
  elif [ "$rc" -eq 124 ]; then
    after="state hung"
    fault_fail "state hung after the kill" "$ctx"
  else
    after=$(fault_first_line "$TEST_TMP/after.err")
    after=${after//"$id"/ID}
    case $after in *"does not exist"*) after="no state" ;; esac
  fi
  [ "$FAULT_LANDED" = 1 ] || after="$after (verb done before the kill)"
  FAULT_AFTER["$verb|$after"]=$((${FAULT_AFTER["$verb|$after"]:-0} + 1))

  rc=0
  t0=$(us)
  guarded delete --force "$id" >/dev/null 2>"$TEST_TMP/delete.err" || rc=$?
  FAULT_DEL_US=$(($(us) - t0))
  if [ "$rc" -eq 124 ]; then
    fault_fail "delete --force hung (stopped by the ${FAULT_VERB_TIMEOUT} s guard)" "$ctx"
  elif [ "$rc" -ne 0 ]; then
    fault_fail "delete --force failed" "$ctx: exit $rc: $(fault_first_line "$TEST_TMP/delete.err")"
  fi
  fault_check_clean "$ctx" "$id" "$cgpath" "${pids[@]}"
}

# --- 2. parallel verbs on one id -----------------------------------------------------------

test_parallel_verbs_on_one_id() {
  fault_ns fault_body_parallel
}

# The refusals a verb may meet when others act on the same container meanwhile (the id
# replaced by ID); anything else is a failure.
FAULT_EXPECTED='^nsbox: (container with id "ID" already exists|container "ID" does not exist|container not running|container "ID" is not running|cannot start a container that has stopped|cannot start a container in the paused state|cannot start an already running container|cannot delete container "ID" that is not stopped: [a-z]+|container "ID" is already paused|cannot pause container "ID": it is [a-z]+|cannot resume container "ID": it is [a-z]+, not paused|cannot exec in a stopped container|cannot exec in a paused container[^|]*)$'

# fault_worker W END BUNDLE ID: random verbs on ID until END (us), one line per verb in
# $TEST_TMP/worker-W.log: verb, exit status, microseconds, stderr (one line).
fault_worker() {
  local w=$1 end=$2 b=$3 id=$4 verb rc t0 t1 msg out
  # create and start weigh more: with every verb as likely, delete --force keeps the
  # container away most of the time and the states where verbs collide are rare.
  local verbs=(create create create start start exec pause resume kill delete delete-force state)
  local log=$TEST_TMP/worker-$w.log err=$TEST_TMP/worker-$w.err
  RANDOM=$((FAULT_SEED + w))
  : >"$log"
  while [ "$(us)" -lt "$end" ]; do
    verb=${verbs[RANDOM % ${#verbs[@]}]}
    local args=()
    case $verb in
      create) args=(create --bundle "$b" "$id") ;;
      start) args=(start "$id") ;;
      exec) args=(exec -d "$id" sleep 2) ;;
      pause) args=(pause "$id") ;;
      resume) args=(resume "$id") ;;
      kill) args=(kill "$id" KILL) ;;
      delete) args=(delete "$id") ;;
      delete-force) args=(delete --force "$id") ;;
      state) args=(state "$id") ;;
    esac
    rc=0
    t0=$(us)
    guarded "${args[@]}" >"$TEST_TMP/worker-$w.out" 2>"$err" || rc=$?
    t1=$(us)
    msg=$(head -c 500 "$err")
    msg=${msg//$'\n'/ | }
    msg=${msg//$'\t'/ }
    msg=${msg//"$id"/ID}
    out=""
    if [ "$verb" = state ] && [ "$rc" -eq 0 ]; then
      out=$(jq -r .status "$TEST_TMP/worker-$w.out" 2>/dev/null || echo "unreadable state output")
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$w" "$verb" "$rc" "$((t1 - t0))" "$msg" "$out" >>"$log"
  done
}

fault_body_parallel() {
  local secs=${NSBOX_STRESS_SECONDS:-20} workers=${NSBOX_STRESS_WORKERS:-4}
  local b id end w pids=() ops hangs unexpected lost=0
  FAULT_SEED=${NSBOX_FAULT_SEED:-$((RANDOM * 32768 + RANDOM))}
  echo "seed $FAULT_SEED (NSBOX_FAULT_SEED), $workers workers (NSBOX_STRESS_WORKERS) for $secs s (NSBOX_STRESS_SECONDS)"
  b=$(make_bundle b sleep 1000)
  id=$(cid par)
  end=$(($(us) + secs * 1000000))
  for ((w = 0; w < workers; w++)); do
    fault_worker "$w" "$end" "$b" "$id" &
    pids+=($!)
  done
  for w in "${pids[@]}"; do wait "$w" || fault_fail "worker died" "worker pid $w exited $?"; done

  # Classify every verb's outcome.
  cat "$TEST_TMP"/worker-*.log >"$TEST_TMP/ops.log"
  awk -F'\t' -v guard="$FAULT_VERB_TIMEOUT" -v expected="$FAULT_EXPECTED" -v fails="$TEST_TMP/par-fail" -v stats="$TEST_TMP/par-stats" '
    {
      verb = $2; rc = $3; us = $4; msg = $5
      ops++; n[verb]++
      if (us > max[verb]) max[verb] = us
      if (us > 10000000) slow[verb]++
      if (rc == 124) {
        hang++
        printf "HANG: %s stopped by the %d s guard\t%s after %.1f s: %s\n", verb, guard, verb, us / 1e6, msg > fails
        next
      }
      if (rc == 0) {
        ok++; okv[verb]++
        if (msg != "") { bad++; printf "%s succeeded but printed on stderr\t%s\n", verb, msg > fails }
        if (verb == "state") st[$6]++
        next
      }
      if (verb == "delete-force") {
        bad++; printf "delete --force failed (exit %s)\t%s\n", rc, msg > fails; next
      }
      if (rc == 1 && msg ~ expected) {
        refused++; k = msg; gsub(/[0-9]+/, "N", k); kinds[k]++
        next
      }
      bad++
      k = msg; gsub(/[0-9]+/, "N", k); gsub(/\/[^ :")]*/, "PATH", k)
      printf "%s: exit %s: %s\t%s\n", verb, rc, substr(k, 1, 200), msg > fails
    }
    END {
      printf "operations: %d, succeeded: %d, refused as expected: %d, unexpected: %d, hangs: %d\n", ops, ok, refused, bad, hang > stats
      for (v in n) printf "  %-12s %5d runs, %5d succeeded, longest %.2f s, over 10 s: %d\n", v, n[v], okv[v], max[v] / 1e6, slow[v] | "sort >&2"
      close("sort >&2")
      for (s in st) printf "  state said %-8s %5d times\n", s ":", st[s] | "sort >&2"
      close("sort >&2")
      for (k in kinds) printf "  %5d x expected refusal: %s\n", kinds[k], k | "sort -rn >&2"
      close("sort -rn >&2")
      printf "%d %d %d\n", ops, hang, bad
    }' "$TEST_TMP/ops.log" >"$TEST_TMP/par-counts" 2>"$TEST_TMP/par-table"
  [ ! -e "$TEST_TMP/par-fail" ] || cat "$TEST_TMP/par-fail" >>"$FAULT_LOG"
  read -r ops hangs unexpected <"$TEST_TMP/par-counts"
  cat "$TEST_TMP/par-stats" "$TEST_TMP/par-table"

  # Quiet now: the state must account for every container process. A container init (a pid
  # namespace's pid 1) that the state does not name is a lost container.
  local status="" spid="" p
  guarded state "$id" >"$TEST_TMP/final.state" 2>"$TEST_TMP/final.err" || true
  status=$(jq -r '.status // empty' "$TEST_TMP/final.state" 2>/dev/null || true)
  spid=$(jq -r '.pid // empty' "$TEST_TMP/final.state" 2>/dev/null || true)
  echo "at the end: status [${status:-none: $(fault_first_line "$TEST_TMP/final.err")}] pid [$spid]"
  fault_scan_procs
  for p in "${FAULT_PROCS[@]}"; do
    case "$p" in
      *" 1]")
        if [ "${p%% *}" = "$spid" ] && [ "$status" != stopped ]; then continue; fi
        lost=$((lost + 1))
        fault_fail "lost container (an init that the state does not name)" \
          "state [${status:-none}] pid [$spid]; left: $p $(fault_describe_proc "${p%% *}")"
        ;;
    esac
  done
  if [ -z "$status" ]; then
    local cgs
    cgs=$(fault_cgroups_of "$id" "")
    [ -z "$cgs" ] || fault_fail "cgroups without a state" "$(echo "$cgs" | tr '\n' ' ')"
  fi

  local rc=0
  guarded delete --force "$id" >/dev/null 2>"$TEST_TMP/delete.err" || rc=$?
  [ "$rc" -eq 0 ] || fault_fail "final delete --force failed" "exit $rc: $(fault_first_line "$TEST_TMP/delete.err")"
  fault_check_clean "after the final delete --force" "$id" "" "$spid"
  echo "operations: $ops, hangs: $hangs, unexpected errors: $unexpected, lost: $lost"
  fault_finish
}

# --- 3. corrupt state ------------------------------------------------------------------------

test_corrupt_state_then_delete_force_kills_the_container() {
  fault_ns fault_body_corrupt
}

fault_body_corrupt() {
  local b round id pid cgs rc out line
  b=$(make_bundle b sleep 1000)
  # empty, garbage: as the issue asks; half: a torn write; object: valid JSON without the
  # fields; both: state.json and footprint.json (what create recorded before making
  # anything) empty, so that only the id says where the cgroups are.
  for round in empty garbage half object both; do
    id=$(cid "corrupt-$round")
    guarded run -d --bundle "$b" "$id" >/dev/null 2>"$TEST_TMP/run.err" ||
      fail "run -d $id: $(cat "$TEST_TMP/run.err")"
    pid=$(fault_state_pid "$id")
    cgs=$(jq -r '.cgroupLeaves[]?' "$TEST_ROOT/$id/state.json")
    [ -n "$pid" ] || fail "no pid for $id"
    case $round in
      empty) : >"$TEST_ROOT/$id/state.json" ;;
      garbage) printf 'not json {{{\x01\x02' >"$TEST_ROOT/$id/state.json" ;;
      half) head -c "$(($(stat -c %s "$TEST_ROOT/$id/state.json") / 2))" "$TEST_ROOT/$id/state.json" >"$TEST_TMP/half" &&
        cat "$TEST_TMP/half" >"$TEST_ROOT/$id/state.json" ;;
      object) echo '{}' >"$TEST_ROOT/$id/state.json" ;;
      both) : >"$TEST_ROOT/$id/state.json" && : >"$TEST_ROOT/$id/footprint.json" ;;
    esac
    local ctx="state.json $round"

    rc=0
    guarded list >"$TEST_TMP/list.out" 2>"$TEST_TMP/list.err" || rc=$?
    line=$(awk -v id="$id" '$1 == id' "$TEST_TMP/list.out")
    if [ "$rc" -ne 0 ]; then
      fault_fail "list failed on a corrupt state" "$ctx: exit $rc: $(fault_first_line "$TEST_TMP/list.err")"
    elif [ -z "$line" ]; then
      fault_fail "list does not show a container with a corrupt state" "$ctx: $(tr '\n' ' ' <"$TEST_TMP/list.out")"
    else
      echo "$ctx: list: [$line] stderr [$(fault_first_line "$TEST_TMP/list.err")]"
    fi
    rc=0
    guarded list --format json >"$TEST_TMP/list.out" 2>"$TEST_TMP/list.err" || rc=$?
    if [ "$rc" -ne 0 ]; then
      fault_fail "list --format json failed on a corrupt state" "$ctx: exit $rc: $(fault_first_line "$TEST_TMP/list.err")"
    elif ! jq -e --arg id "$id" 'map(select(.id == $id)) | length == 1' "$TEST_TMP/list.out" >/dev/null 2>&1; then
      fault_fail "list --format json does not show a container with a corrupt state" "$ctx: $(head -c 300 "$TEST_TMP/list.out")"
    fi
    rc=0
    guarded state "$id" >/dev/null 2>"$TEST_TMP/state.err" || rc=$?
    [ "$rc" -ne 124 ] || fault_fail "state hung on a corrupt state" "$ctx"

    rc=0
    guarded delete "$id" >/dev/null 2>"$TEST_TMP/delete.err" || rc=$?
    if [ "$rc" -eq 124 ]; then
      fault_fail "delete (no force) hung on a corrupt state" "$ctx"
    elif [ "$rc" -eq 0 ]; then
      fault_fail "delete without --force succeeded on a corrupt state" "$ctx"
    fi
    if [ ! -e "$TEST_ROOT/$id" ]; then
      fault_fail "delete without --force removed the record" "$ctx"
    fi
    if pid_alive "$pid"; then :; else
      fault_fail "delete without --force killed the container" "$ctx: init $pid"
    fi

    rc=0
    guarded delete --force "$id" >/dev/null 2>"$TEST_TMP/delete.err" || rc=$?
    [ "$rc" -ne 124 ] || fault_fail "delete --force hung on a corrupt state" "$ctx"
    [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ] ||
      fault_fail "delete --force failed on a corrupt state" "$ctx: exit $rc: $(fault_first_line "$TEST_TMP/delete.err")"
    local d left=""
    for d in $cgs; do [ ! -d "$d" ] || left="$left $d"; done
    [ -z "$left" ] || fault_fail "cgroups recorded by create left after delete --force" "$ctx:$left"
    fault_check_clean "$ctx" "$id" "" "$pid"
  done
  echo "corrupt-state rounds: 5, failures: $FAULT_NFAIL"
  fault_finish
}

# pid_alive PID: the process exists and is not a zombie.
pid_alive() {
  local s
  s=$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null) || return 1
  [ -n "$s" ] && [ "$s" != Z ] && [ "$s" != X ]
}

# --- 4. a stale pid in the state -------------------------------------------------------------

test_stale_pid_in_state_then_delete_force_kills_the_container() {
  fault_ns fault_body_stale_pid
}

fault_body_stale_pid() {
  local b round id pid decoy decoy_start rc filter st
  b=$(make_bundle b sleep 1000)
  # pid: only the pid rewritten (the state then reads as stopped); pid-and-start-time: the
  # decoy's start time too, so that the state names the decoy exactly; pid-then-delete: as
  # pid, then a plain `delete` first, which must refuse or remove the whole container, never
  # drop the record of a container that still runs.
  for round in pid pid-and-start-time pid-then-delete; do
    id=$(cid "stale-$round")
    guarded run -d --bundle "$b" "$id" >/dev/null 2>"$TEST_TMP/run.err" ||
      fail "run -d $id: $(cat "$TEST_TMP/run.err")"
    pid=$(fault_state_pid "$id")
    [ -n "$pid" ] || fail "no pid for $id"
    sleep 1000 &
    decoy=$!
    FAULT_KEEP="$FAULT_KEEP $decoy"
    decoy_start=$(awk '{ sub(/.*\) /, ""); print $20 }' "/proc/$decoy/stat")
    filter='.pid = $p'
    [ "$round" != pid-and-start-time ] || filter='.pid = $p | .startTime = $t'
    jq --argjson p "$decoy" --argjson t "$decoy_start" "$filter" "$TEST_ROOT/$id/state.json" >"$TEST_TMP/state.new"
    cat "$TEST_TMP/state.new" >"$TEST_ROOT/$id/state.json"
    local ctx="state.json rewritten ($round -> the decoy $decoy; real init $pid)"
    st=$(fault_status "$id")
    echo "$ctx: state says [$st]"

    if [ "$round" = pid-then-delete ]; then
      rc=0
      guarded delete "$id" >/dev/null 2>"$TEST_TMP/delete.err" || rc=$?
      echo "$ctx: plain delete exited $rc: $(fault_first_line "$TEST_TMP/delete.err")"
      [ "$rc" -ne 124 ] || fault_fail "plain delete hung on a stale pid" "$ctx"
      if [ "$rc" -eq 0 ] && pid_alive "$pid"; then
        fault_fail "plain delete dropped the record of a container that still runs (lost container)" \
          "$ctx: init $pid alive, state directory $([ -e "$TEST_ROOT/$id" ] && echo kept || echo gone), cgroups [$(fault_cgroups_of "$id" "" | tr '\n' ' ')]"
      fi
      pid_alive "$decoy" || fault_fail "plain delete killed a process that is not the container's" "$ctx"
    fi

    rc=0
    guarded delete --force "$id" >/dev/null 2>"$TEST_TMP/delete.err" || rc=$?
    [ "$rc" -ne 124 ] || fault_fail "delete --force hung on a stale pid" "$ctx"
    [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ] ||
      fault_fail "delete --force failed on a stale pid" "$ctx: exit $rc: $(fault_first_line "$TEST_TMP/delete.err")"
    if ! pid_alive "$decoy"; then
      fault_fail "delete --force killed a process that is not the container's" "$ctx"
    fi
    fault_check_clean "$ctx" "$id" "" "$pid"
    kill -KILL "$decoy" 2>/dev/null || true
    wait "$decoy" 2>/dev/null || true
    FAULT_KEEP=""
  done
  echo "stale-pid rounds: 3, failures: $FAULT_NFAIL"
  fault_finish
}

# --- 5. pause of a created container -------------------------------------------------------

test_pause_of_created_container() {
  fault_ns fault_body_pause_created
}

fault_body_pause_created() {
  local b id rc st round
  b=$(make_bundle b sleep 1000)
  for round in resume-then-start delete-force-while-paused; do
    id=$(cid "pc-$round")
    guarded create --bundle "$b" "$id" >/dev/null 2>"$TEST_TMP/create.err" ||
      fail "create $id: $(cat "$TEST_TMP/create.err")"
    local pid ctx="$round"
    pid=$(fault_state_pid "$id")
    rc=0
    guarded pause "$id" >/dev/null 2>"$TEST_TMP/pause.err" || rc=$?
    if [ "$rc" -eq 124 ]; then
      fault_fail "pause of a created container hung" "$ctx"
    elif [ "$rc" -ne 0 ]; then
      echo "$ctx: pause of a created container refused: $(fault_first_line "$TEST_TMP/pause.err")"
      st=$(fault_status "$id")
      [ "$st" = created ] || fault_fail "a refused pause changed the status" "$ctx: status [$st]"
    else
      st=$(fault_status "$id")
      echo "$ctx: pause of a created container accepted; status [$st]"
      [ "$st" = paused ] || fault_fail "status after pause of a created container is not paused" "$ctx: [$st]"
      rc=0
      guarded start "$id" >/dev/null 2>"$TEST_TMP/start.err" || rc=$?
      if [ "$rc" -eq 124 ]; then
        fault_fail "start of a paused created container hung" "$ctx"
      elif [ "$rc" -eq 0 ]; then
        fault_fail "start of a paused created container succeeded" "$ctx: status then [$(fault_status "$id")]"
      else
        case "$(cat "$TEST_TMP/start.err")" in
          *paused*) ;;
          *) fault_fail "start of a paused container refused without saying it is paused" "$ctx: $(fault_first_line "$TEST_TMP/start.err")" ;;
        esac
      fi
      if [ "$round" = resume-then-start ]; then
        rc=0
        guarded resume "$id" >/dev/null 2>"$TEST_TMP/resume.err" || rc=$?
        [ "$rc" -eq 0 ] || fault_fail "resume of a paused created container failed" "$ctx: exit $rc: $(fault_first_line "$TEST_TMP/resume.err")"
        st=$(fault_status "$id")
        [ "$st" = created ] || fault_fail "status after resume of a paused created container is not created" "$ctx: [$st]"
        rc=0
        guarded start "$id" >/dev/null 2>"$TEST_TMP/start.err" || rc=$?
        [ "$rc" -ne 124 ] || fault_fail "start after resume hung" "$ctx"
        [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ] || fault_fail "start after resume failed" "$ctx: exit $rc: $(fault_first_line "$TEST_TMP/start.err")"
        st=$(fault_status "$id")
        [ "$st" = running ] || fault_fail "status after start is not running" "$ctx: [$st]"
      fi
    fi
    rc=0
    guarded delete --force "$id" >/dev/null 2>"$TEST_TMP/delete.err" || rc=$?
    [ "$rc" -ne 124 ] || fault_fail "delete --force hung" "$ctx"
    [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ] || fault_fail "delete --force failed" "$ctx: exit $rc: $(fault_first_line "$TEST_TMP/delete.err")"
    fault_check_clean "$ctx" "$id" "" "$pid"
  done
  echo "pause-of-created rounds: 2, failures: $FAULT_NFAIL"
  fault_finish
}
