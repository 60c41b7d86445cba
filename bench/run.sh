#!/usr/bin/env bash
# nsbox benchmark suite: nsbox vs crun vs runc on one busybox bundle, and the kernel's own floor.
# usage: bench/run.sh            (as root; about 2-3 minutes with the defaults on 2 CPUs)
# Figures (see bench/README.md for how each one is measured):
#   floor    what the kernel charges for one container (bench/floor.cc, no runtime code)
#   run      sequential `run` of /bin/true, BENCH_N per runtime (+ nsbox-ro)
#   phases   the same split into create / start / delete, each timed alone
#   exec     `exec` of /bin/true into one running container, BENCH_EXEC_N times
#   parallel BENCH_PAR_N containers created then deleted by xargs -P4, and by xargs -P1
#   list     `list` and `state ID` with BENCH_LIST_N created containers present
#   memory   peak RSS of the runtime process for `run` and `exec`; binary sizes
#   summary  the performance issue's targets next to the measured values (MET / NOT MET)
# env:   BENCH_N            containers timed per runtime in `run` and in the phases (default 100)
#        BENCH_EXEC_N       execs timed per runtime (default 100)
#        BENCH_PAR_N        containers in the parallel create/delete (default 200)
#        BENCH_PAR_P        containers in flight in the parallel run (default 4)
#        BENCH_LIST_N       containers present for list/state (default 500)
#        BENCH_LIST_CALLS   timed `list` and `state` calls each (default 20)
#        BENCH_FLOOR_N      iterations of each floor measurement (default 100)
#        BENCH_WARMUP       untimed warm-up runs per runtime and figure (default 3)
#        BENCH_TIMEOUT      seconds before one figure of one runtime counts as hung and its
#                           processes are killed (default 120)
#        BENCH_ONLY         space-separated subset of: run phases exec parallel list (default all;
#                           the floor and the memory/size figures are always measured)
#        BENCH_ENGINES=1    also run bench/engines.sh at the end (podman etc., if installed;
#                           BENCH_ENGINES_N runs per engine and runtime, default 20)
#        NSBOX              nsbox binary (default: build/nsbox, built if missing)
#        BENCH_OCI_VERSION  if set, also set config.json's ociVersion to this (all runtimes)
# Timings never make the script fail: a target that is not met is reported, exit status 0.
set -euo pipefail
export LC_ALL=C

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${BENCH_N:-100}
EXEC_N=${BENCH_EXEC_N:-100}
PAR_N=${BENCH_PAR_N:-200}
PAR_P=${BENCH_PAR_P:-4}
LIST_N=${BENCH_LIST_N:-500}
LIST_CALLS=${BENCH_LIST_CALLS:-20}
FLOOR_N=${BENCH_FLOOR_N:-100}
WARMUP=${BENCH_WARMUP:-3}
TIMEOUT=${BENCH_TIMEOUT:-120}
ONLY=${BENCH_ONLY:-run phases exec parallel list}
# nsbox-ro: the same nsbox binary bind-mounted read-only over itself (in a private mount
# namespace), as an install on a read-only mount would have it: it then needs no re-exec to
# protect itself from the container (CVE-2019-5736), so nsbox - nsbox-ro is that guard's cost.
# It has a row in the sequential `run` only.
RUNTIMES=(nsbox nsbox-ro crun runc)
MAIN=(nsbox crun runc)

die() { echo "bench: $*" >&2; exit 1; }
for v in N EXEC_N PAR_N PAR_P LIST_N LIST_CALLS FLOOR_N TIMEOUT; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_$v must be a positive integer (got '${!v}')"
done
[[ $WARMUP =~ ^[0-9]+$ ]] || die "BENCH_WARMUP must be a non-negative integer (got '$WARMUP')"
for s in $ONLY; do
  [[ $s =~ ^(run|phases|exec|parallel|list)$ ]] || die "BENCH_ONLY: unknown figure '$s'"
done
[[ $(id -u) == 0 ]] || die "must run as root"
want() { [[ " $ONLY " == *" $1 "* ]]; }

# --- tools -------------------------------------------------------------------------------
missing=()
for pkg in crun runc hyperfine jq busybox-static; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
command -v g++ >/dev/null || missing+=(g++)
if ((${#missing[@]})); then
  echo "bench: installing missing packages: ${missing[*]}"
  apt-get update
  apt-get install -y "${missing[@]}"
fi
CRUN=$(command -v crun) || die "crun not found"
RUNC=$(command -v runc) || die "runc not found"
# Peak RSS: bench/peakrss.c (ptrace; the runtime process's own VmHWM) if a C compiler is
# here, else GNU time's %M (max over the runtime and the children it reaped).
if ! command -v cc >/dev/null && [[ ! -x /usr/bin/time ]]; then
  apt-get update && apt-get install -y time
fi

if [[ -n ${NSBOX:-} ]]; then
  [[ -x $NSBOX ]] || die "NSBOX=$NSBOX is not an executable"
else
  NSBOX=$REPO/build/nsbox
  if [[ ! -x $NSBOX ]]; then
    echo "bench: building nsbox"
    cmake -S "$REPO" -B "$REPO/build" -G Ninja && ninja -C "$REPO/build" nsbox
  fi
fi
NSBOX=$(readlink -f "$NSBOX")

# --- temp dir and cleanup -------------------------------------------------------------------
TMP=$(mktemp -d /tmp/nsbox-bench.XXXXXX)
IDP=nsbench$$          # every container id (and floor cgroup) starts with "$IDP-"
# What is timed is a stripped copy of NSBOX, as an install has it (Debian's crun and runc are
# stripped too): a build's debug sections make each exec of it slower (0.3 ms per run here).
NSBOX_BUILT=$NSBOX
if strip -o "$TMP/nsbox" "$NSBOX" 2>/dev/null; then NSBOX=$TMP/nsbox; fi
declare -A BIN=([nsbox]=$NSBOX [nsbox-ro]=$NSBOX [crun]=$CRUN [runc]=$RUNC)

# crun 1.8 refuses the hybrid layout (cgroup2 mounted at /sys/fs/cgroup/unified); in a private
# mount namespace with an empty tmpfs over it, crun sees plain cgroup v1.
MASK_CRUN=0
if [[ $(stat -f -c %T /sys/fs/cgroup) == tmpfs && -d /sys/fs/cgroup/unified &&
      $(stat -f -c %T /sys/fs/cgroup/unified) == cgroup2fs ]]; then
  MASK_CRUN=1
fi
MASK_SH='mount -t tmpfs none /sys/fs/cgroup/unified && exec "$@"'

# rt NAME ARGS...: run runtime NAME with its own --root (crun masked if needed), no timing.
rt() {
  local name=$1; shift
  local cmd=("${BIN[$name]}" --root "$TMP/state/$name" "$@")
  if [[ $name == crun && $MASK_CRUN == 1 ]]; then
    unshare -m bash -c "$MASK_SH" mask "${cmd[@]}"
  else
    "${cmd[@]}"
  fi
}

# our_cgroups [PATTERN]: cgroup directories named after our ids (runc/crun: <id>,
# nsbox: nsbox-<id>, floor: $IDP-floor-*), deepest first.
our_cgroups() {
  local p=${1:-$IDP-}
  find /sys/fs/cgroup -mindepth 1 -maxdepth 8 -type d \( -name "$p*" -o -name "nsbox-$p*" \) \
      2>/dev/null | awk -F/ '{print NF, $0}' | sort -rn | cut -d' ' -f2-
}

# sweep NAME: delete -f whatever NAME still lists (a failed figure); prints what it did.
sweep() {
  local name=$1 id
  [[ -d $TMP/state/$name ]] || return 0
  for id in $(rt "$name" list -q 2>/dev/null); do
    echo "bench: cleanup: $name delete -f $id"
    rt "$name" delete -f "$id" >/dev/null 2>&1 || echo "bench: cleanup: $name delete -f $id failed"
  done
}

cleanup() {
  local rc=$? name d i
  set +e
  trap - EXIT INT TERM
  if [[ -n ${LOOP_PID:-} ]]; then   # a benchmark loop still running: stop it after its current step
    kill -TERM "$LOOP_PID" 2>/dev/null
    for ((i = 0; i < 300; i++)); do kill -0 "$LOOP_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- -"$LOOP_PID" 2>/dev/null   # still there after 30 s: hung; kill its session
    wait "$LOOP_PID" 2>/dev/null
  fi
  [[ -z ${WD_PID:-} ]] || { kill "$WD_PID"; wait "$WD_PID"; } 2>/dev/null
  for name in "${RUNTIMES[@]}"; do sweep "$name"; done
  our_cgroups | while read -r d; do echo "bench: cleanup: rmdir $d"; rmdir "$d"; done
  d=$(our_cgroups)
  if [[ -n $d ]]; then echo "bench: cleanup: cgroups still present:"; echo "$d"; fi
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- helper programs ------------------------------------------------------------------------
if command -v cc >/dev/null && cc -O2 -o "$TMP/peakrss" "$REPO/bench/peakrss.c" 2>"$TMP/cc.log"; then
  RSS_TOOL=peakrss
  RSS_NOTE="peak RSS = VmHWM of the runtime process itself (bench/peakrss.c, ptrace: max at execve and exit); 'tree' = wait4 ru_maxrss, max over it and the children it reaped (= GNU time %M)"
else
  [[ -x /usr/bin/time ]] || die "no C compiler and no /usr/bin/time"
  RSS_TOOL=gnutime
  RSS_NOTE="peak RSS = GNU time %M: max over the runtime process and the children it reaped (no C compiler for bench/peakrss.c, so not the process alone)"
fi
g++ -O2 -std=c++20 -o "$TMP/floor" "$REPO/bench/floor.cc" 2>"$TMP/g++.log" ||
  { cat "$TMP/g++.log" >&2; die "cannot build bench/floor.cc"; }

# --- bundles --------------------------------------------------------------------------------
BUNDLE=$TMP/bundle
mkdir -p "$BUNDLE" "$TMP/state" "$TMP/out" "$TMP/bundle-sleep"
"$REPO/scripts/mkrootfs.sh" "$BUNDLE/rootfs"
"$NSBOX" spec --bundle "$BUNDLE"
JQ='.process.terminal=false | .process.args=["/bin/true"]'
CHANGES='process.terminal=false, process.args=["/bin/true"]'
if [[ -n ${BENCH_OCI_VERSION:-} ]]; then
  JQ+=' | .ociVersion=$v'
  CHANGES+=", ociVersion=\"$BENCH_OCI_VERSION\" (BENCH_OCI_VERSION)"
fi
jq --arg v "${BENCH_OCI_VERSION:-}" "$JQ" "$BUNDLE/config.json" >"$BUNDLE/config.json.new"
mv "$BUNDLE/config.json.new" "$BUNDLE/config.json"
# The exec target: the same config running `sleep`, on the same rootfs.
SLEEP_BUNDLE=$TMP/bundle-sleep
jq --arg r "$BUNDLE/rootfs" '.process.args=["sleep","1000000"] | .root.path=$r' \
  "$BUNDLE/config.json" >"$SLEEP_BUNDLE/config.json"

# --- code that runs in each runtime's context -----------------------------------------------
# Every timed loop is a bash function run by in_ctx in a child bash: for crun (hybrid host)
# inside one `unshare -m` with the tmpfs over /sys/fs/cgroup/unified, for nsbox-ro inside one
# with the read-only bind, so neither the unshare nor the mounts are ever timed. The same
# function serves all runtimes. Results go to files in OUT; runtime output to OUT/log.
export TMP BUNDLE SLEEP_BUNDLE IDP WARMUP RSS_TOOL
export B_nsbox=$NSBOX B_nsbox_ro=$NSBOX B_crun=$CRUN B_runc=$RUNC

# ctx_init NAME OUT: sets RBIN, RROOT, OUT; stdio to the log; TERM stops after the current step.
ctx_init() {
  local v=B_${1//-/_}
  RBIN=${!v} RROOT=$TMP/state/$1 OUT=$2 stop=0
  mkdir -p "$RROOT" "$OUT"
  trap 'stop=1' TERM
  exec </dev/null >>"$OUT/log" 2>&1
}
R() { "$RBIN" --root "$RROOT" "$@"; }
fail() { echo "$*" >"$OUT/error"; exit 1; }
# measure_rss FILE CMD...: peak RSS of CMD into FILE ("OWN TREE EXECS").
measure_rss() {
  local f=$1; shift
  if [[ $RSS_TOOL == peakrss ]]; then "$TMP/peakrss" -o "$f" "$@"
  else /usr/bin/time -f '- %M -' -o "$f" "$@"; fi
}
# wait_stopped ID: poll `state` until it says stopped (untimed by the callers).
wait_stopped() {
  local k s
  for ((k = 0; k < 5000; k++)); do
    s=$(R state "$1") || return 1
    [[ $s =~ \"status\"[[:space:]]*:[[:space:]]*\"stopped\" ]] && return 0
  done
  return 1
}
# count_left PREFIX: "CONTAINERS CGROUPS" still there whose id starts with PREFIX.
count_left() {
  local c g
  c=$(R list -q | grep -c "^$1" || true)
  # cgroup file systems only: crun, masked, makes unified/<id> in the masking tmpfs and leaves it
  g=$(find /sys/fs/cgroup -mindepth 1 -maxdepth 8 -type d \( -name "$1*" -o -name "nsbox-$1*" \) \
        \( -fstype cgroup -o -fstype cgroup2 \) 2>/dev/null | grep -c . || true)
  echo "$c $g"
}

# fig_run NAME OUT N: sequential `run`; OUT/{times (µs per run), total, leftover, rss}.
fig_run() {
  ctx_init "$1" "$2"
  local n=$3 pfx=$IDP-$1-run i t0 t1 start end
  local -a times=()
  for ((i = 1; i <= WARMUP && !stop; i++)); do
    R run --bundle "$BUNDLE" "$pfx-w$i" || fail "warm-up run $i exited $?"
  done
  start=${EPOCHREALTIME/./}
  for ((i = 1; i <= n && !stop; i++)); do
    t0=${EPOCHREALTIME/./}
    R run --bundle "$BUNDLE" "$pfx-$i" || fail "run $i exited $?"
    t1=${EPOCHREALTIME/./}
    times+=($((t1 - t0)))
  done
  end=${EPOCHREALTIME/./}
  ((!stop)) || fail interrupted
  printf '%s\n' "${times[@]}" >"$OUT/times"
  echo $((end - start)) >"$OUT/total"
  R list -q >"$OUT/leftover"
  measure_rss "$OUT/rss" "$RBIN" --root "$RROOT" run --bundle "$BUNDLE" "$pfx-rss" ||
    fail "peak-RSS run exited $?"
}

# fig_phases NAME OUT N: create / start / (untimed: wait for stopped) / delete, each timed;
# OUT/phases: "create_us start_us delete_us" per container.
fig_phases() {
  ctx_init "$1" "$2"
  local n=$3 pfx=$IDP-$1-ph i id t0 t1 t2 t3 t4
  for ((i = 1 - WARMUP; i <= n && !stop; i++)); do
    id=$pfx-$i
    ((i > 0)) || id=$pfx-w$((1 - i))
    t0=${EPOCHREALTIME/./}
    R create --bundle "$BUNDLE" "$id" || fail "create $id exited $?"
    t1=${EPOCHREALTIME/./}
    R start "$id" || fail "start $id exited $?"
    t2=${EPOCHREALTIME/./}
    wait_stopped "$id" || fail "$id never reached stopped"
    t3=${EPOCHREALTIME/./}
    R delete "$id" || fail "delete $id exited $?"
    t4=${EPOCHREALTIME/./}
    ((i > 0)) && echo "$((t1 - t0)) $((t2 - t1)) $((t4 - t3))" >>"$OUT/phases"
  done
  ((!stop)) || fail interrupted
}

# fig_exec NAME OUT N: one container running sleep, N x `exec ID /bin/true`; OUT/{times, rss}.
fig_exec() {
  ctx_init "$1" "$2"
  local n=$3 id=$IDP-$1-exec i t0 t1
  local -a times=()
  R create --bundle "$SLEEP_BUNDLE" "$id" || fail "create $id exited $?"
  R start "$id" || fail "start $id exited $?"
  for ((i = 1; i <= WARMUP && !stop; i++)); do
    R exec "$id" /bin/true || fail "warm-up exec $i exited $?"
  done
  for ((i = 1; i <= n && !stop; i++)); do
    t0=${EPOCHREALTIME/./}
    R exec "$id" /bin/true || fail "exec $i exited $?"
    t1=${EPOCHREALTIME/./}
    times+=($((t1 - t0)))
  done
  ((!stop)) || fail interrupted
  printf '%s\n' "${times[@]}" >"$OUT/times"
  measure_rss "$OUT/rss" "$RBIN" --root "$RROOT" exec "$id" /bin/true || fail "peak-RSS exec exited $?"
  R kill "$id" KILL || fail "kill $id exited $?"
  wait_stopped "$id" || fail "$id never reached stopped after SIGKILL"
  R delete "$id" || fail "delete $id exited $?"
}

# fig_par NAME OUT N P: N x create by `xargs -P P`, then N x delete the same way (containers
# created, never started); OUT/par.P: "create_us delete_us containers_left cgroups_left".
fig_par() {
  ctx_init "$1" "$2"
  local n=$3 p=$4 pfx=$IDP-$1-p$4- t0 t1 t2 i
  for ((i = 1; i <= n; i++)); do echo "$pfx$i"; done >"$OUT/ids.$p"
  t0=${EPOCHREALTIME/./}
  xargs -P "$p" -I{} "$RBIN" --root "$RROOT" create --bundle "$BUNDLE" {} <"$OUT/ids.$p" ||
    fail "a create failed (xargs -P$p: $?)"
  t1=${EPOCHREALTIME/./}
  xargs -P "$p" -I{} "$RBIN" --root "$RROOT" delete {} <"$OUT/ids.$p" ||
    fail "a delete failed (xargs -P$p: $?)"
  t2=${EPOCHREALTIME/./}
  echo "$((t1 - t0)) $((t2 - t1)) $(count_left "$pfx")" >"$OUT/par.$p"
}

# fig_list NAME OUT N CALLS: N containers created (xargs -P4, untimed); CALLS x `list` and
# CALLS x `state ID` timed; all deleted (xargs -P4). OUT/{list, state} (µs per call),
# OUT/many: "created_seen create_wall_us delete_wall_us containers_left cgroups_left".
fig_list() {
  ctx_init "$1" "$2"
  local n=$3 calls=$4 pfx=$IDP-$1-l- t0 t1 t2 i seen mid
  for ((i = 1; i <= n; i++)); do echo "$pfx$i"; done >"$OUT/ids"
  local tc=${EPOCHREALTIME/./}
  xargs -P 4 -I{} "$RBIN" --root "$RROOT" create --bundle "$BUNDLE" {} <"$OUT/ids" ||
    { xargs -P 4 -I{} "$RBIN" --root "$RROOT" delete -f {} <"$OUT/ids"; fail "a create failed"; }
  t1=${EPOCHREALTIME/./}
  seen=$(R list -q | grep -c "^$pfx" || true)
  mid=$pfx$(((n + 1) / 2))
  R list >/dev/null && R state "$mid" >/dev/null  # warm-up
  for ((i = 1; i <= calls && !stop; i++)); do
    t0=${EPOCHREALTIME/./}
    R list >/dev/null || break
    t2=${EPOCHREALTIME/./}
    echo $((t2 - t0)) >>"$OUT/list"
  done
  for ((i = 1; i <= calls && !stop; i++)); do
    t0=${EPOCHREALTIME/./}
    R state "$mid" >/dev/null || break
    t2=${EPOCHREALTIME/./}
    echo $((t2 - t0)) >>"$OUT/state"
  done
  t0=${EPOCHREALTIME/./}
  xargs -P 4 -I{} "$RBIN" --root "$RROOT" delete {} <"$OUT/ids" || fail "a delete failed"
  t2=${EPOCHREALTIME/./}
  echo "$seen $((t1 - tc)) $((t2 - t0)) $(count_left "$pfx")" >"$OUT/many"
  ((!stop)) || fail interrupted
  [[ $(wc -l <"$OUT/list") == "$calls" && $(wc -l <"$OUT/state") == "$calls" ]] ||
    fail "a list or state call failed"
}
export -f ctx_init R fail measure_rss wait_stopped count_left fig_run fig_phases fig_exec fig_par fig_list

# in_ctx NAME FIG OUT ARGS...: run FIG NAME OUT ARGS... in NAME's context, in the background
# (so that cleanup can stop it), in a session of its own: if it has not finished after
# BENCH_TIMEOUT seconds (a hung runtime), the processes still in it are listed in OUT/log and
# the whole session (runtimes, xargs, containers' processes) is killed. Status: FIG's.
in_ctx() {
  local name=$1 fig=$2 out=$3 rc=0 which=; shift 2
  local -a cmd=(bash -c '"$@"' ctx)
  if [[ $name == crun && $MASK_CRUN == 1 ]]; then
    cmd=(unshare -m bash -c 'mount -t tmpfs none /sys/fs/cgroup/unified && "$@"' ctx)
  elif [[ $name == nsbox-ro ]]; then
    cmd=(unshare -m bash -c 'mount --bind -o ro "$B_nsbox_ro" "$B_nsbox_ro" && "$@"' ctx)
  fi
  setsid "${cmd[@]}" "$fig" "$name" "$@" &
  LOOP_PID=$!
  sleep "$TIMEOUT" &
  WD_PID=$!
  wait -n -p which "$LOOP_PID" "$WD_PID" || rc=$?
  if [[ $which == "$LOOP_PID" ]]; then
    kill "$WD_PID" 2>/dev/null; wait "$WD_PID" 2>/dev/null || true
  else
    rc=124
    { echo "timed out after $TIMEOUT s; still running (killed):"
      ps -o pid,stat,wchan:24,etime,args -g "$LOOP_PID" 2>/dev/null | cut -c1-200; } >>"$out/log"
    echo "timed out after $TIMEOUT s (a hung process? see below), killed" >"$out/error"
    kill -KILL -- -"$LOOP_PID" 2>/dev/null
    wait "$LOOP_PID" 2>/dev/null || true
  fi
  LOOP_PID= WD_PID=
  return "$rc"
}

# run_fig FIG OUTNAME ARGS... : FIG for each runtime in RUNS (nsbox, crun, runc by default);
# sets OK[FIG.NAME]; prints failures with the log's tail.
declare -A OK
run_fig() {
  local fig=$1 tag=$2 name out; shift 2
  for name in "${RUNS[@]}"; do
    out=$TMP/out/$tag/$name
    mkdir -p "$out"
    printf '  %-8s ...' "$name"
    if in_ctx "$name" "$fig" "$out" "$@"; then
      OK[$tag.$name]=1
      echo " ok"
    else
      OK[$tag.$name]=0
      echo " FAILED: $(cat "$out/error" 2>/dev/null || echo "exit status $?")"
      sed 's/^/    | /' "$out/log" 2>/dev/null | tail -n 5
      if [[ $name == crun ]] && grep -q 'unknown version specified' "$out/log" 2>/dev/null; then
        echo "    (crun rejects this config.json's ociVersion $(jq -r .ociVersion "$BUNDLE/config.json");" \
             "crun 1.8.1 takes 1.0.x and 1.1.x only; BENCH_OCI_VERSION=1.1.0 sets it for all three runtimes)"
      fi
    fi
    [[ $(rt "$name" list -q 2>/dev/null) == "" ]] || { echo "    note: $name left containers:"; sweep "$name"; }
  done
}

# --- number formatting ----------------------------------------------------------------------
# stats FILE [COL]: "mean median min sum" of column COL (µs) in ms, ms, ms, s.
stats() {
  sort -n -k"${2:-1},${2:-1}" "$1" | awk -v c="${2:-1}" '
    { v[NR] = $c; s += $c }
    END { if (!NR) { print "- - - -"; exit }
          m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
          printf "%.2f %.2f %.2f %.3f\n", s / NR / 1000, m / 1000, v[1] / 1000, s / 1e6 }'
}
# ratio A B: A/B with 2 decimals, or "-" if either is not a number (or B is 0).
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || b + 0 == 0) print "-"; else printf "%.2f\n", a / b }'
}
# ratios_line LABEL A_nsbox A_crun A_runc [FLOOR]: "  LABEL: nsbox/crun x  nsbox/runc y  nsbox/floor z"
ratios_line() {
  local s
  s=$(printf '  %-30s nsbox/crun %5s   nsbox/runc %5s' "$1" "$(ratio "$2" "$3")" "$(ratio "$2" "$4")")
  [[ -n ${5:-} ]] && s+=$(printf '   nsbox/floor %5s' "$(ratio "$2" "$5")")
  echo "$s"
}
# val FIG NAME VAR: a value or "-" when the figure failed for that runtime
declare -A V
val() { local k=$1; [[ -n ${V[$k]:-} ]] && echo "${V[$k]}" || echo -; }

# --- header ---------------------------------------------------------------------------------
echo "== nsbox benchmark suite: nsbox vs crun vs runc, and the kernel's floor =="
echo "machine:  $(nproc) CPUs, kernel $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "cgroups:  $(stat -f -c %T /sys/fs/cgroup) at /sys/fs/cgroup$([[ -d /sys/fs/cgroup/unified ]] && echo ", $(stat -f -c %T /sys/fs/cgroup/unified) at /sys/fs/cgroup/unified")"
echo "nsbox:    $("$NSBOX" --version | head -1) ($([[ $NSBOX == "$NSBOX_BUILT" ]] && echo "$NSBOX" || echo "a stripped copy of $NSBOX_BUILT"))"
echo "crun:     $("$CRUN" --version | head -1) ($CRUN)"
echo "runc:     $("$RUNC" --version | head -1) ($RUNC)"
echo "bundle:   busybox rootfs (scripts/mkrootfs.sh), config.json = \`nsbox spec\` default changed only in: $CHANGES; one bundle for all three, each runtime with its own --root"
echo "sizes:    run/phases N=$N, exec N=$EXEC_N, parallel N=$PAR_N, list/state with $LIST_N containers x $LIST_CALLS calls, floor N=$FLOOR_N, warm-up $WARMUP"
echo "timing:   bash loops, clock \$EPOCHREALTIME around each runtime command, the same loop for every runtime"
((MASK_CRUN)) && echo "crun:     run with /sys/fs/cgroup/unified masked by an empty tmpfs (each loop inside one unshare -m namespace, so unshare/mount is not timed; crun sees cgroup v1 only)"
echo "rss:      $RSS_NOTE"
echo

# --- floor ----------------------------------------------------------------------------------
echo "## floor: the kernel's own cost on this machine (bench/floor.cc, no runtime code)"
FLOOR=$TMP/floor
floor_ok=1
{
  "$FLOOR" ns "$BUNDLE/rootfs" "$FLOOR_N"
  "$FLOOR" exec "$FLOOR_N" "$NSBOX" --version | sed 's/^exec /exec:nsbox /'
  "$FLOOR" exec "$FLOOR_N" "$CRUN" --version | sed 's/^exec /exec:crun /'
  "$FLOOR" exec "$FLOOR_N" "$RUNC" --version | sed 's/^exec /exec:runc /'
  "$FLOOR" exec "$FLOOR_N" /bin/true | sed 's/^exec /exec:true /'
  "$FLOOR" cgroup "$FLOOR_N" "$IDP"
  "$FLOOR" procs 20 "$IDP" 50
  "$FLOOR" selfjoin 20 "$IDP" 50
} >"$TMP/floor.out" 2>"$TMP/floor.err" || floor_ok=0
declare -A FL   # mean ms per figure
if ((floor_ok)); then
  while read -r k mean _; do
    FL[$k]=$(awk -v m="$mean" 'BEGIN{printf "%.3f", m / 1000}')
  done < <(grep -v '^#' "$TMP/floor.out")
  awk '
    BEGIN { L["ns"] = "ns: clone+pivot_root+exec true"; L["exec:nsbox"] = "exec: nsbox --version"
            L["exec:crun"] = "exec: crun --version"; L["exec:runc"] = "exec: runc --version"
            L["exec:true"] = "exec: /bin/true"; L["cgroup"] = "cgroup mkdir+rmdir, all hier."
            L["procs_first"] = "cgroup.procs: 1st write, 50ms idle"; L["procs_rest"] = "cgroup.procs: other hier., sum"
            L["selfjoin"] = "v1 tasks <- 0 by the task, all v1" }
    /^# hierarchies/ { sub(/^# hierarchies [0-9]+: /, ""); h = $0; next }
    /^#/ { next }
    { name = ($1 in L) ? L[$1] : "  " $1
      printf "  %-36s mean %8.3f ms  median %8.3f  min %8.3f  max %8.3f  (n=%d)\n", name, $2/1000, $3/1000, $4/1000, $5/1000, $6 }
    END { print "  (cgroup = mkdir+rmdir under our own cgroup in each of: " h ")" }' "$TMP/floor.out"
  FLOOR_MS=$(awk -v a="${FL[ns]}" -v b="${FL[exec:nsbox]}" -v c="${FL[cgroup]}" 'BEGIN{printf "%.3f", a + b + c}')
  FLOOR_PROCS_MS=$(awk -v a="$FLOOR_MS" -v b="${FL[procs_first]}" -v c="${FL[procs_rest]}" 'BEGIN{printf "%.3f", a + b + c}')
  echo "  floor per container = ns ${FL[ns]} + one nsbox exec ${FL[exec:nsbox]} + cgroup mkdir/rmdir ${FL[cgroup]} = $FLOOR_MS ms"
  echo "  (with one pid written to cgroup.procs of every hierarchy after ~50 ms idle, as crun and runc move the container on v1: $FLOOR_PROCS_MS ms; not in the floor)"
  [[ -n ${FL[selfjoin]:-} ]] &&
    echo "  (nsbox's container process moves itself instead, \"0\" to each v1 tasks file, no global lock: ${FL[selfjoin]} ms for all v1 hierarchies)"
else
  echo "  floor FAILED:"; sed 's/^/    | /' "$TMP/floor.err" | tail -n 5
  FLOOR_MS=- FLOOR_PROCS_MS=-
fi
echo

# --- 1. sequential run ----------------------------------------------------------------------
declare -A MEAN MED MIN TOTAL OWN TREE
if want run; then
  echo "## run: sequential \`run --bundle B ID\` of /bin/true, N=$N per runtime (+$WARMUP warm-up); new id each, no delete (run removes it; checked with list -q)"
  echo "   nsbox-ro: the nsbox binary bind-mounted read-only over itself (no CVE-2019-5736 re-exec needed); nsbox - nsbox-ro = the guard's cost"
  RUNS=("${RUNTIMES[@]}")
  run_fig fig_run run "$N"
  for name in "${RUNTIMES[@]}"; do
    ((${OK[run.$name]:-0})) || continue
    out=$TMP/out/run/$name
    read -r MEAN[$name] MED[$name] MIN[$name] _ < <(stats "$out/times")
    TOTAL[$name]=$(awk '{printf "%.3f", $1 / 1e6}' "$out/total")
    read -r OWN[$name] TREE[$name] _ <"$out/rss"
    [[ ${OWN[$name]} == -1 ]] && OWN[$name]=-
    [[ -s $out/leftover ]] && echo "  note: $name left $(wc -l <"$out/leftover") container(s) after run"
    V[run.$name]=${MEAN[$name]}
    V[rss_run.$name]=${OWN[$name]}
    [[ $RSS_TOOL == peakrss ]] || V[rss_run.$name]=${TREE[$name]}
  done
  printf '  %-8s %12s %10s %8s %10s %14s %10s\n' runtime "mean ms/ctr" "median ms" "min ms" "total s" "peak RSS KiB" "tree KiB"
  for name in "${RUNTIMES[@]}"; do
    if ((${OK[run.$name]:-0})); then
      printf '  %-8s %12s %10s %8s %10s %14s %10s\n' "$name" "${MEAN[$name]}" "${MED[$name]}" "${MIN[$name]}" \
        "${TOTAL[$name]}" "${OWN[$name]}" "${TREE[$name]}"
    else
      printf '  %-8s %12s %10s %8s %10s %14s %10s\n' "$name" failed - - - - -
    fi
  done
  printf '  %-8s %12s\n' floor "$FLOOR_MS"
  if ((${OK[run.nsbox]:-0} && ${OK[run.nsbox-ro]:-0})); then
    printf '  CVE-2019-5736 guard (re-exec through a read-only view when the binary is writable): %s ms/ctr (nsbox - nsbox-ro)\n' \
      "$(awk -v a="${MEAN[nsbox]}" -v b="${MEAN[nsbox-ro]}" 'BEGIN{printf "%.2f", a - b}')"
  fi
  ratios_line "run, mean" "$(val run.nsbox)" "$(val run.crun)" "$(val run.runc)" "$FLOOR_MS"
  ratios_line "run, median" "${MED[nsbox]:-}" "${MED[crun]:-}" "${MED[runc]:-}" "$FLOOR_MS"
  ratios_line "nsbox-ro run, mean" "$(val run.nsbox-ro)" "$(val run.crun)" "$(val run.runc)" "$FLOOR_MS"
  echo
fi

RUNS=("${MAIN[@]}")

# --- 2. create / start / delete -------------------------------------------------------------
if want phases; then
  echo "## phases: create, start, delete timed separately, N=$N per runtime (+$WARMUP warm-up)"
  echo "   per container: create; start (/bin/true); untimed: state until stopped; delete"
  run_fig fig_phases phases "$N"
  printf '  %-8s %22s %22s %22s %22s\n' runtime "create ms mean/med" "start ms mean/med" "delete ms mean/med" "sum ms/ctr (total s)"
  for name in "${MAIN[@]}"; do
    if ((${OK[phases.$name]:-0})); then
      f=$TMP/out/phases/$name/phases
      read -r cm cmed _ cs < <(stats "$f" 1)
      read -r sm smed _ ss < <(stats "$f" 2)
      read -r dm dmed _ ds < <(stats "$f" 3)
      V[create.$name]=$cm V[start.$name]=$sm V[delete.$name]=$dm
      V[csd.$name]=$(awk -v a="$cm" -v b="$sm" -v c="$dm" 'BEGIN{printf "%.2f", a + b + c}')
      printf '  %-8s %22s %22s %22s %22s\n' "$name" "$cm / $cmed" "$sm / $smed" "$dm / $dmed" \
        "${V[csd.$name]} ($(awk -v a="$cs" -v b="$ss" -v c="$ds" 'BEGIN{printf "%.3f", a + b + c}'))"
    else
      printf '  %-8s %22s\n' "$name" failed
    fi
  done
  for ph in create start delete csd; do
    label=$ph; [[ $ph == csd ]] && label="create+start+delete"
    ratios_line "$label, mean" "$(val $ph.nsbox)" "$(val $ph.crun)" "$(val $ph.runc)"
  done
  echo
fi

# --- 3. exec --------------------------------------------------------------------------------
if want exec; then
  echo "## exec: \`exec ID /bin/true\` into one running container (sleep), N=$EXEC_N per runtime (+$WARMUP warm-up)"
  run_fig fig_exec exec "$EXEC_N"
  printf '  %-8s %12s %10s %8s %10s %14s %10s\n' runtime "mean ms" "median ms" "min ms" "total s" "peak RSS KiB" "tree KiB"
  for name in "${MAIN[@]}"; do
    if ((${OK[exec.$name]:-0})); then
      read -r m med mn tot < <(stats "$TMP/out/exec/$name/times")
      read -r own tree _ <"$TMP/out/exec/$name/rss"
      [[ $own == -1 ]] && own=-
      V[exec.$name]=$m
      V[rss_exec.$name]=$own; [[ $RSS_TOOL == peakrss ]] || V[rss_exec.$name]=$tree
      printf '  %-8s %12s %10s %8s %10s %14s %10s\n' "$name" "$m" "$med" "$mn" "$tot" "$own" "$tree"
    else
      printf '  %-8s %12s\n' "$name" failed
    fi
  done
  ratios_line "exec, mean" "$(val exec.nsbox)" "$(val exec.crun)" "$(val exec.runc)"
  echo
fi

# --- 4. parallel create/delete --------------------------------------------------------------
if want parallel; then
  echo "## parallel: $PAR_N containers created (xargs -P$PAR_P create), then deleted (xargs -P$PAR_P delete); and the same with -P1"
  for p in 1 "$PAR_P"; do
    echo "  $p in flight:"
    run_fig fig_par "par$p" "$PAR_N" "$p"
  done
  printf '  %-8s %4s %12s %12s %12s %10s %14s\n' runtime P "create s" "delete s" "total s" "ctr/s" "left ctr/cg"
  for name in "${MAIN[@]}"; do
    for p in 1 "$PAR_P"; do
      if ((${OK[par$p.$name]:-0})); then
        read -r c d lc lg <"$TMP/out/par$p/$name/par.$p"
        tot=$(awk -v c="$c" -v d="$d" 'BEGIN{printf "%.3f", (c + d) / 1e6}')
        V[par$p.$name]=$tot
        printf '  %-8s %4s %12s %12s %12s %10s %14s\n' "$name" "$p" "$(awk -v x="$c" 'BEGIN{printf "%.3f", x / 1e6}')" \
          "$(awk -v x="$d" 'BEGIN{printf "%.3f", x / 1e6}')" "$tot" "$(awk -v n="$PAR_N" -v t="$tot" 'BEGIN{printf "%.1f", n / t}')" \
          "$lc/$lg$([[ $lc$lg == 00 ]] && echo ' clean' || echo ' LEFT')"
      else
        printf '  %-8s %4s %12s\n' "$name" "$p" failed
      fi
    done
    # throughput(P in flight) / throughput(1 in flight) = T1 / TP
    V[scale.$name]=$(ratio "$(val par1.$name)" "$(val par$PAR_P.$name)")
  done
  printf '  throughput(%s in flight)/throughput(1 in flight): nsbox %s  crun %s  runc %s\n' "$PAR_P" \
    "${V[scale.nsbox]}" "${V[scale.crun]}" "${V[scale.runc]}"
  ratios_line "total s, $PAR_P in flight" "$(val par$PAR_P.nsbox)" "$(val par$PAR_P.crun)" "$(val par$PAR_P.runc)"
  ratios_line "total s, 1 in flight" "$(val par1.nsbox)" "$(val par1.crun)" "$(val par1.runc)"
  ratios_line "scaling $PAR_P-vs-1 (higher=better)" "$(val scale.nsbox)" "$(val scale.crun)" "$(val scale.runc)"
  echo
fi

# --- 5. list / state with many containers ---------------------------------------------------
if want list; then
  echo "## list/state: $LIST_N containers created (not started; xargs -P4, untimed), then $LIST_CALLS x \`list\` and $LIST_CALLS x \`state ID\` timed, then all deleted"
  run_fig fig_list list "$LIST_N" "$LIST_CALLS"
  printf '  %-8s %10s %18s %18s %12s %14s\n' runtime present "list ms mean/med" "state ms mean/med" "delete all s" "left ctr/cg"
  for name in "${MAIN[@]}"; do
    if ((${OK[list.$name]:-0})); then
      d=$TMP/out/list/$name
      read -r lm lmed _ < <(stats "$d/list")
      read -r sm smed _ < <(stats "$d/state")
      read -r seen _ dw lc lg <"$d/many"
      V[list.$name]=$lm V[state.$name]=$sm
      printf '  %-8s %10s %18s %18s %12s %14s\n' "$name" "$seen" "$lm / $lmed" "$sm / $smed" \
        "$(awk -v x="$dw" 'BEGIN{printf "%.3f", x / 1e6}')" "$lc/$lg$([[ $lc$lg == 00 ]] && echo ' clean' || echo ' LEFT')"
    else
      printf '  %-8s %10s\n' "$name" failed
    fi
  done
  ratios_line "list, mean" "$(val list.nsbox)" "$(val list.crun)" "$(val list.runc)"
  ratios_line "state, mean" "$(val state.nsbox)" "$(val state.crun)" "$(val state.runc)"
  echo
fi

# --- 6. memory and size ---------------------------------------------------------------------
echo "## memory and size"
printf '  %-8s %16s %16s %14s %16s  %s\n' runtime "run peak KiB" "exec peak KiB" "binary bytes" "stripped bytes" binary
for name in "${MAIN[@]}"; do
  b=${BIN[$name]}
  V[size.$name]=$(stat -L -c %s "$b")
  V[ssize.$name]=$( (strip -o "$TMP/stripped.$name" "$b" 2>/dev/null && stat -c %s "$TMP/stripped.$name") || echo -)
  printf '  %-8s %16s %16s %14s %16s  %s\n' "$name" "$(val rss_run.$name)" "$(val rss_exec.$name)" \
    "${V[size.$name]}" "${V[ssize.$name]}" "$(ls -lL "$b" | awk '{print $1, $5, $9}')"
done
echo "  (peak KiB: $([[ $RSS_TOOL == peakrss ]] && echo 'the runtime process alone, bench/peakrss.c' || echo 'GNU time %M, incl. reaped children'), one run/exec each; stripped: strip -o of a copy)"
ratios_line "peak RSS, run" "$(val rss_run.nsbox)" "$(val rss_run.crun)" "$(val rss_run.runc)"
ratios_line "peak RSS, exec" "$(val rss_exec.nsbox)" "$(val rss_exec.crun)" "$(val rss_exec.runc)"
ratios_line "binary size (ls -l)" "$(val size.nsbox)" "$(val size.crun)" "$(val size.runc)"
ratios_line "binary size, stripped" "$(val ssize.nsbox)" "$(val ssize.crun)" "$(val ssize.runc)"
echo

# --- 7. leftovers ---------------------------------------------------------------------------
left=""
for name in "${RUNTIMES[@]}"; do
  [[ -d $TMP/state/$name ]] && [[ -n $(rt "$name" list -q 2>/dev/null) ]] && left+=" $name:containers"
done
[[ -n $(our_cgroups) ]] && left+=" cgroups"
echo "leftovers after all figures: ${left:-none}"
echo

# --- 8. summary -----------------------------------------------------------------------------
# target LABEL VALUE OP LIMIT
target() {
  local label=$1 v=$2 op=$3 lim=$4 verdict
  if [[ $v =~ ^[0-9.]+$ ]]; then
    verdict=$(awk -v v="$v" -v l="$lim" -v op="$op" 'BEGIN {
      ok = (op == "<=") ? v <= l : (op == "<") ? v < l : (op == ">=") ? v >= l : 0
      print ok ? "MET" : "NOT MET" }')
  else
    verdict="n/a (not measured)"
  fi
  printf '  %-44s %-9s %-6s %s\n' "$label" "$v" "$op $lim" "$verdict"
}
echo "## summary: the performance issue's targets (ratios of means; below 1 = nsbox faster/smaller)"
printf '  %-44s %-9s %-6s %s\n' figure measured target verdict
target "sequential run, nsbox/crun" "$(ratio "$(val run.nsbox)" "$(val run.crun)")" "<=" 0.5
target "sequential run, nsbox/floor" "$(ratio "$(val run.nsbox)" "$FLOOR_MS")" "<=" 1.5
target "create+start+delete, nsbox/crun" "$(ratio "$(val csd.nsbox)" "$(val csd.crun)")" "<" 1
target "  create, nsbox/crun" "$(ratio "$(val create.nsbox)" "$(val create.crun)")" "<" 1
target "  start, nsbox/crun" "$(ratio "$(val start.nsbox)" "$(val start.crun)")" "<" 1
target "  delete, nsbox/crun" "$(ratio "$(val delete.nsbox)" "$(val delete.crun)")" "<" 1
target "exec, nsbox/crun" "$(ratio "$(val exec.nsbox)" "$(val exec.crun)")" "<" 1
target "peak RSS run, nsbox/crun" "$(ratio "$(val rss_run.nsbox)" "$(val rss_run.crun)")" "<" 1
target "peak RSS exec, nsbox/crun" "$(ratio "$(val rss_exec.nsbox)" "$(val rss_exec.crun)")" "<" 1
target "parallel: throughput $PAR_P vs 1 in flight, nsbox" "$(val scale.nsbox)" ">=" 1.5
echo "  (create/start/delete rows are the parts of the create+start+delete target)"

# --- engines --------------------------------------------------------------------------------
if [[ ${BENCH_ENGINES:-0} == 1 ]]; then
  echo
  if command -v podman >/dev/null || command -v dockerd >/dev/null || command -v containerd >/dev/null; then
    BENCH_N=${BENCH_ENGINES_N:-20} NSBOX=$NSBOX "$REPO/bench/engines.sh" ||
      echo "bench: engines.sh exited $? (ignored)"
  else
    echo "engines: none installed (podman, docker, containerd), skipped"
  fi
fi
exit 0
