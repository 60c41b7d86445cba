#!/usr/bin/env bash
# nsbox benchmark: sequential `run` of /bin/true in a busybox bundle, nsbox vs crun vs runc.
# usage: bench/run.sh            (as root; BENCH_N=100 containers per runtime by default)
# env:   BENCH_N            containers timed per runtime (default 100)
#        BENCH_WARMUP       untimed warm-up runs per runtime (default 3)
#        NSBOX              nsbox binary (default: build/nsbox, built if missing)
#        BENCH_OCI_VERSION  if set, also set config.json's ociVersion to this (all runtimes)
# See bench/README.md.
set -euo pipefail
export LC_ALL=C

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${BENCH_N:-100}
WARMUP=${BENCH_WARMUP:-3}
# nsbox-ro: the same nsbox binary bind-mounted read-only over itself (in a private mount
# namespace), as an install on a read-only mount would have it: it then needs no re-exec to
# protect itself from the container (CVE-2019-5736), so nsbox - nsbox-ro is that guard's cost.
RUNTIMES=(nsbox nsbox-ro crun runc)

die() { echo "bench: $*" >&2; exit 1; }
[[ $N =~ ^[1-9][0-9]*$ ]] || die "BENCH_N must be a positive integer (got '$N')"
[[ $WARMUP =~ ^[0-9]+$ ]] || die "BENCH_WARMUP must be a non-negative integer (got '$WARMUP')"
[[ $(id -u) == 0 ]] || die "must run as root"

# --- tools -------------------------------------------------------------------------------
missing=()
for pkg in crun runc hyperfine jq busybox-static; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "bench: installing missing packages: ${missing[*]}"
  apt-get update
  apt-get install -y crun runc hyperfine jq busybox-static
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
IDP=nsbench$$          # every container id starts with "$IDP-"
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

cleanup() {
  local rc=$? name id left=0 d
  set +e
  trap - EXIT INT TERM
  if [[ -n ${LOOP_PID:-} ]]; then   # a benchmark loop still running: stop it after its current run
    kill -TERM "$LOOP_PID" 2>/dev/null
    wait "$LOOP_PID" 2>/dev/null
  fi
  for name in "${RUNTIMES[@]}"; do
    [[ -d $TMP/state/$name ]] || continue
    for id in $(rt "$name" list -q 2>/dev/null); do
      echo "bench: cleanup: $name delete -f $id"
      rt "$name" delete -f "$id" >/dev/null 2>&1 || echo "bench: cleanup: $name delete -f $id failed"
      left=1
    done
  done
  # cgroups named after our ids (runc/crun: <id>, nsbox: nsbox-<id>), deepest first
  find /sys/fs/cgroup -mindepth 1 -maxdepth 8 -type d \( -name "$IDP-*" -o -name "nsbox-$IDP-*" \) \
      2>/dev/null | awk -F/ '{print NF, $0}' | sort -rn | cut -d' ' -f2- |
    while read -r d; do echo "bench: cleanup: rmdir $d"; rmdir "$d"; done
  d=$(find /sys/fs/cgroup -mindepth 1 -maxdepth 8 -type d \( -name "$IDP-*" -o -name "nsbox-$IDP-*" \) 2>/dev/null)
  if [[ -n $d ]]; then echo "bench: cleanup: cgroups still present:"; echo "$d"; fi
  ((left)) && echo "bench: cleanup: containers were left behind (deleted above)"
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- peak-RSS tool --------------------------------------------------------------------------
if command -v cc >/dev/null && cc -O2 -o "$TMP/peakrss" "$REPO/bench/peakrss.c" 2>"$TMP/cc.log"; then
  RSS_TOOL=peakrss
  RSS_NOTE="peak RSS = VmHWM of the runtime process itself (bench/peakrss.c, ptrace: max at execve and exit); 'tree' = wait4 ru_maxrss, max over it and the children it reaped (= GNU time %M)"
else
  [[ -x /usr/bin/time ]] || die "no C compiler and no /usr/bin/time"
  RSS_TOOL=gnutime
  RSS_NOTE="peak RSS = GNU time %M: max over the runtime process and the children it reaped (no C compiler for bench/peakrss.c, so not the process alone)"
fi

# --- bundle ---------------------------------------------------------------------------------
BUNDLE=$TMP/bundle
mkdir -p "$BUNDLE" "$TMP/state" "$TMP/out"
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

# --- the timed loop (same code for every runtime; crun's runs inside the masked namespace) ---
# bench_loop NAME BIN ROOT BUNDLE IDPREFIX N WARMUP OUTDIR RSS_TOOL PEAKRSS
# Writes OUTDIR/{times (µs per run), total (µs for the loop), leftover, rss, error}.
bench_loop() {
  local name=$1 bin=$2 root=$3 bundle=$4 pfx=$5 n=$6 warm=$7 out=$8 rsstool=$9 peakrss=${10}
  local i rc t0 t1 start end stop=0
  local -a times=()
  trap 'stop=1' TERM                  # from cleanup: finish the current run, then stop
  exec </dev/null >>"$out/log" 2>&1   # runtime output goes to the log, set up once
  for ((i = 1; i <= warm && !stop; i++)); do
    "$bin" --root "$root" run --bundle "$bundle" "$pfx-w$i" ||
      { rc=$?; echo "warm-up run $i exited $rc" >"$out/error"; return 1; }
  done
  start=${EPOCHREALTIME/./}
  for ((i = 1; i <= n && !stop; i++)); do
    t0=${EPOCHREALTIME/./}
    "$bin" --root "$root" run --bundle "$bundle" "$pfx-$i" ||
      { rc=$?; echo "run $i exited $rc" >"$out/error"; return 1; }
    t1=${EPOCHREALTIME/./}
    times+=($((t1 - t0)))
  done
  end=${EPOCHREALTIME/./}
  ((!stop)) || { echo "interrupted" >"$out/error"; return 1; }
  printf '%s\n' "${times[@]}" >"$out/times"
  echo $((end - start)) >"$out/total"
  "$bin" --root "$root" list -q >"$out/leftover"
  if [[ $rsstool == peakrss ]]; then
    "$peakrss" -o "$out/rss" "$bin" --root "$root" run --bundle "$bundle" "$pfx-rss" ||
      { rc=$?; echo "peak-RSS run exited $rc" >"$out/error"; return 1; }
  else
    /usr/bin/time -f '- %M -' -o "$out/rss" "$bin" --root "$root" run --bundle "$bundle" "$pfx-rss" ||
      { rc=$?; echo "peak-RSS run exited $rc" >"$out/error"; return 1; }
  fi
}
export -f bench_loop

# --- header ---------------------------------------------------------------------------------
echo "== nsbox benchmark: sequential run of /bin/true, N=$N per runtime (+$WARMUP untimed warm-up) =="
echo "machine:  $(nproc) CPUs, kernel $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "cgroups:  $(stat -f -c %T /sys/fs/cgroup) at /sys/fs/cgroup$([[ -d /sys/fs/cgroup/unified ]] && echo ", $(stat -f -c %T /sys/fs/cgroup/unified) at /sys/fs/cgroup/unified")"
echo "nsbox:    $("$NSBOX" --version | head -1) ($NSBOX)"
echo "crun:     $("$CRUN" --version | head -1) ($CRUN)"
echo "runc:     $("$RUNC" --version | head -1) ($RUNC)"
echo "bundle:   busybox rootfs (scripts/mkrootfs.sh), config.json = \`nsbox spec\` default changed only in: $CHANGES; one bundle for all three, each runtime with its own --root"
echo "timing:   bash loop, \`RUNTIME --root R run --bundle B ID\` with a new ID per run, clock \$EPOCHREALTIME around each run; no delete (run removes the container at exit; checked with list -q)"
((MASK_CRUN)) && echo "crun:     ran with /sys/fs/cgroup/unified masked by an empty tmpfs (whole loop inside one unshare -m namespace, so unshare/mount is not timed; crun sees cgroup v1 only)"
echo "nsbox-ro: the nsbox binary bind-mounted read-only over itself in a private mount namespace (whole loop inside it): no re-exec through a read-only view of itself (the CVE-2019-5736 guard); nsbox - nsbox-ro = the guard's cost"
echo "rss:      $RSS_NOTE"
echo

# --- run ------------------------------------------------------------------------------------
declare -A OK
for name in "${RUNTIMES[@]}"; do
  out=$TMP/out/$name
  mkdir -p "$out" "$TMP/state/$name"
  args=("$name" "${BIN[$name]}" "$TMP/state/$name" "$BUNDLE" "$IDP-$name" "$N" "$WARMUP" "$out" \
        "$RSS_TOOL" "$TMP/peakrss")
  echo "running $name ..."
  if [[ $name == crun && $MASK_CRUN == 1 ]]; then
    cmd=(unshare -m bash -c 'mount -t tmpfs none /sys/fs/cgroup/unified && bench_loop "$@"' bench_loop "${args[@]}")
  elif [[ $name == nsbox-ro ]]; then
    cmd=(unshare -m bash -c 'mount --bind -o ro "$2" "$2" && bench_loop "$@"' bench_loop "${args[@]}")
  else
    cmd=(bash -c 'bench_loop "$@"' bench_loop "${args[@]}")
  fi
  "${cmd[@]}" &
  LOOP_PID=$!
  if wait "$LOOP_PID"; then
    LOOP_PID=
    OK[$name]=1
    if [[ -s $out/leftover ]]; then
      echo "  note: $name left $(wc -l <"$out/leftover") container(s) after run; deleted at exit"
    fi
  else
    LOOP_PID=
    OK[$name]=0
    echo "  $name FAILED: $(cat "$out/error" 2>/dev/null || echo "exit status $?")"
    sed 's/^/    | /' "$out/log" 2>/dev/null | tail -n 5
    if [[ $name == crun ]] && grep -q 'unknown version specified' "$out/log" 2>/dev/null; then
      echo "    (crun rejects this config.json's ociVersion $(jq -r .ociVersion "$BUNDLE/config.json");" \
           "crun 1.8.1 takes 1.0.x and 1.1.x only; BENCH_OCI_VERSION=1.1.0 sets it for all three runtimes)"
    fi
  fi
done
echo

# --- report ---------------------------------------------------------------------------------
declare -A MEAN MED MIN TOTAL OWN TREE
for name in "${RUNTIMES[@]}"; do
  ((OK[$name])) || continue
  out=$TMP/out/$name
  read -r MEAN[$name] MED[$name] MIN[$name] < <(sort -n "$out/times" | awk '
    { v[NR] = $1; s += $1 }
    END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
          printf "%.2f %.2f %.2f\n", s / NR / 1000, m / 1000, v[1] / 1000 }')
  TOTAL[$name]=$(awk '{printf "%.3f", $1 / 1e6}' "$out/total")
  read -r OWN[$name] TREE[$name] _ <"$out/rss"
  [[ ${OWN[$name]} == -1 ]] && OWN[$name]=-
done

printf '%-8s %14s %10s %8s %12s %14s %10s\n' runtime "mean ms/ctr" "median ms" "min ms" "total s" "peak RSS KiB" "tree KiB"
for name in "${RUNTIMES[@]}"; do
  if ((OK[$name])); then
    printf '%-8s %14s %10s %8s %12s %14s %10s\n' "$name" "${MEAN[$name]}" "${MED[$name]}" "${MIN[$name]}" \
      "${TOTAL[$name]}" "${OWN[$name]}" "${TREE[$name]}"
  else
    printf '%-8s %14s %10s %8s %12s %14s %10s\n' "$name" failed - - - - -
  fi
done
echo "(total s = wall time of the $N timed runs; peak RSS KiB = $([[ $RSS_TOOL == peakrss ]] && echo 'runtime process alone' || echo 'GNU time %M, incl. reaped children'), one run)"
if ((OK[nsbox])) && ((OK[nsbox-ro])); then
  printf 'CVE-2019-5736 guard (re-exec through a read-only view when the binary is writable): %s ms/ctr (nsbox - nsbox-ro)\n' \
    "$(awk -v a="${MEAN[nsbox]}" -v b="${MEAN[nsbox-ro]}" 'BEGIN{printf "%.2f", a - b}')"
fi
for other in crun runc; do
  if ((OK[nsbox])) && ((OK[$other])); then
    if [[ $RSS_TOOL == peakrss ]]; then a=${OWN[nsbox]} b=${OWN[$other]}; else a=${TREE[nsbox]} b=${TREE[$other]}; fi
    rss=n/a
    [[ $a =~ ^[0-9]+$ && $b =~ ^[1-9][0-9]*$ ]] && rss=$(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.2f", a / b}')
    printf 'nsbox/%-5s time %s  peak RSS %s\n' "$other" \
      "$(awk -v a="${MEAN[nsbox]}" -v b="${MEAN[$other]}" 'BEGIN{printf "%.2f", a / b}')" "$rss"
  else
    printf 'nsbox/%-5s n/a (a runtime failed)\n' "$other"
  fi
done
