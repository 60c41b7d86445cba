# The systemd driver's benchmark, run in the systemd guest by bench/systemd.sh (not a test:
# it prints figures and always passes). Sequential `run` of /bin/true on one busybox bundle,
# BENCH_N times each: nsbox with the cgroupfs and the systemd driver, and runc and crun with
# theirs, in one run of the same guest, as ratios. Under software emulation every figure is
# several times what a real machine shows; the ratios are what to read.

bench_time_ms() {  # CMD...: mean ms of BENCH_N sequential runs (after 3 untimed)
  local i t0 t1 n=${BENCH_N:-30}
  for i in 1 2 3; do "$@" >/dev/null 2>&1 || true; done
  t0=$(date +%s%N)
  for ((i = 0; i < n; i++)); do "$@" >/dev/null 2>&1 || echo "bench: run $i of [$*] failed" >&2; done
  t1=$(date +%s%N)
  echo $(((t1 - t0) / n / 1000))  # microseconds
}

test_bench_systemd_driver() {
  local b root id=0 figures="" name us base=""
  b=$(make_bundle bench /bin/true)
  root=$TEST_TMP/state
  # Each runtime runs the same bundle under a fresh id each time; runc and crun get
  # cgroupsPath from the driver's defaults (system.slice:<runtime>:<id>), nsbox the same.
  nsbox_cg() { id=$((id + 1)); "$NSBOX" --root "$root" run --bundle "$b" "n$id"; }
  nsbox_sd() { id=$((id + 1)); "$NSBOX" --root "$root" --systemd-cgroup run --bundle "$b" "s$id"; }
  runc_cg() { id=$((id + 1)); runc --root "$root/runc" run --bundle "$b" "r$id"; }
  runc_sd() { id=$((id + 1)); runc --root "$root/runc" --systemd-cgroup run --bundle "$b" "R$id"; }
  crun_cg() { id=$((id + 1)); crun --root "$root/crun" run --bundle "$b" "c$id"; }
  crun_sd() { id=$((id + 1)); crun --root "$root/crun" --systemd-cgroup run --bundle "$b" "C$id"; }
  for name in nsbox_cg nsbox_sd crun_cg crun_sd runc_cg runc_sd; do
    command -v "${name%_*}" >/dev/null || [ "${name%_*}" = nsbox ] || continue
    us=$(bench_time_ms "$name")
    [ -n "$base" ] || base=$us
    figures+=$(awk -v n="$name" -v us="$us" -v b="$base" 'BEGIN { printf "%-9s %8.2f ms  %5.2fx nsbox cgroupfs", n, us / 1000, us / b }')$'\n'
  done
  echo "BENCH systemd driver: sequential run of /bin/true, ${BENCH_N:-30} each, $(systemctl --version | head -1)"
  printf '%s' "$figures" | sed 's/^/BENCH /'
  assert_eq "$("$NSBOX" --root "$root" list -q)" "" "containers left by the benchmark"
}
